"""A provider's availability as the contract names them: weekly rules, overrides, and what mutations return."""

from __future__ import annotations

import uuid
from datetime import datetime, time
from typing import Annotated

import strawberry
from strawberry import Private

from sessions_gql.api import ids
from sessions_gql.api.common import Node
from sessions_gql.api.context import Info
from sessions_gql.api.enums import OverrideKind, Weekday
from sessions_gql.api.errors import BasicError
from sessions_gql.db import models as m
from sessions_gql.domain.enums import Weekday as WeekdayEnum
from sessions_gql.services.people import availability as service


@strawberry.type
class WeeklyRule:
    weekday: Weekday
    start: time
    end: time


@strawberry.type
class AvailabilityOverride(Node):
    kind: OverrideKind
    starts_at: datetime
    ends_at: datetime
    note: str | None

    @classmethod
    def of(cls, row: m.AvailabilityOverride) -> AvailabilityOverride:
        return cls(id=strawberry.ID(ids.encode("AvailabilityOverride", row.id)), kind=row.kind,
                   starts_at=row.starts_at, ends_at=row.ends_at, note=row.note)


@strawberry.type
class Availability:
    provider_row: Private[m.Provider]
    rules: Private[list[m.AvailabilityRule]]
    time_zone: str
    buffer_minutes: int
    minimum_notice_minutes: int
    horizon_days: int

    @strawberry.field
    def weekly_rules(self) -> list[WeeklyRule]:
        order = list(WeekdayEnum)
        rows = sorted(self.rules, key=lambda r: (order.index(r.weekday), r.start_time))
        return [WeeklyRule(weekday=r.weekday, start=r.start_time, end=r.end_time) for r in rows]

    @strawberry.field
    async def overrides(self, info: Info, from_: Annotated[datetime | None, strawberry.argument(name="from")] = None,
                        to: datetime | None = None) -> list[AvailabilityOverride]:
        return await overrides_of(info, self.provider_row.id, start=from_, end=to)


async def availability_of(info: Info, provider: m.Provider) -> Availability:
    rules = await info.context.loaders.rules_by_provider_id.load(provider.id)
    return Availability(provider_row=provider, rules=rules, time_zone=provider.time_zone,
                        buffer_minutes=provider.buffer_minutes,
                        minimum_notice_minutes=provider.minimum_notice_minutes, horizon_days=provider.horizon_days)


async def overrides_of(info: Info, provider_id: uuid.UUID, *, start: datetime | None, end: datetime | None
                       ) -> list[AvailabilityOverride]:
    rows = await service.overrides_between(await info.context.db(), provider_id=provider_id, start=start, end=end)
    return [AvailabilityOverride.of(row) for row in rows]


@strawberry.type
class AvailabilitySuccess:
    availability: Availability


AvailabilityResult = Annotated[AvailabilitySuccess | BasicError, strawberry.union("AvailabilityResult")]
