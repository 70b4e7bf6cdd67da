"""Resolvers for availability: the provider's rules and overrides, and bookable slots."""

from __future__ import annotations

import uuid
from datetime import datetime, time
from typing import Annotated

import strawberry

from sessions_gql.domain.errors import Interval, NotFound
from sessions_gql.resolvers import ids
from sessions_gql.resolvers.errors import result_or_error
from sessions_gql.schema import availability as t
from sessions_gql.schema.common import BasicError, Slot
from sessions_gql.schema.context import Info
from sessions_gql.schema.enums import OverrideKind, Weekday
from sessions_gql.services import availability as service
from sessions_gql.services import calendar


@strawberry.type
class AvailabilitySuccess:
    availability: t.Availability


AvailabilityResult = Annotated[AvailabilitySuccess | BasicError, strawberry.union("AvailabilityResult")]


@strawberry.input
class WeeklyRuleInput:
    weekday: Weekday
    start: time
    end: time


@strawberry.input
class SetAvailabilityInput:
    time_zone: str
    weekly_rules: list[WeeklyRuleInput]
    provider_id: strawberry.ID | None = None
    buffer_minutes: int | None = None
    minimum_notice_minutes: int | None = None
    horizon_days: int | None = None


@strawberry.input
class AddAvailabilityOverrideInput:
    kind: OverrideKind
    starts_at: datetime
    ends_at: datetime
    note: str | None = None
    provider_id: strawberry.ID | None = None


async def _success(info: Info, provider_id: uuid.UUID) -> AvailabilitySuccess:
    info.context.reset_loaders()
    provider = await info.context.loaders.provider_by_id.load(provider_id)
    if provider is None:
        raise NotFound("no such provider", field="providerId")
    return AvailabilitySuccess(availability=await t.availability_of(info, provider))


async def overrides_of(info: Info, provider_id: uuid.UUID, *, start: datetime | None, end: datetime | None
                       ) -> list[t.AvailabilityOverride]:
    rows = await service.overrides_between(await info.context.db(), provider_id=provider_id, start=start, end=end)
    return [t.AvailabilityOverride.of(row) for row in rows]


async def available_slots(info: Info, provider_id: strawberry.ID, service_id: strawberry.ID,
                          from_: Annotated[datetime, strawberry.argument(name="from")], to: datetime,
                          duration_minutes: int | None = None) -> list[Slot]:
    slots = await service.bookable_slots(
        await info.context.db(), viewer=info.context.viewer,
        provider_id=ids.decode_uuid(provider_id, "Provider", field="providerId"),
        service_id=ids.decode_uuid(service_id, "Service", field="serviceId"),
        window=Interval(starts_at=from_, ends_at=to), duration_minutes=duration_minutes,
        now=info.context.deps.clock.now(),
    )
    return [Slot(starts_at=s.starts_at, ends_at=s.ends_at) for s in slots]


async def set_availability(info: Info, input: SetAvailabilityInput) -> AvailabilityResult:
    async def run() -> AvailabilitySuccess:
        draft = service.AvailabilityDraft(
            time_zone=input.time_zone,
            weekly_rules=[(r.weekday, r.start, r.end) for r in input.weekly_rules],
            buffer_minutes=input.buffer_minutes, minimum_notice_minutes=input.minimum_notice_minutes,
            horizon_days=input.horizon_days,
            provider_id=ids.maybe_uuid(input.provider_id, "Provider", field="providerId"),
        )
        provider_id = await service.set_availability(info.context.deps, viewer=info.context.viewer, draft=draft)
        return await _success(info, provider_id)

    return await result_or_error(run)  # type: ignore[return-value]


async def add_availability_override(info: Info, input: AddAvailabilityOverrideInput) -> AvailabilityResult:
    async def run() -> AvailabilitySuccess:
        provider_id = await service.add_override(
            info.context.deps, viewer=info.context.viewer, kind=input.kind, starts_at=input.starts_at,
            ends_at=input.ends_at, note=input.note,
            provider_id=ids.maybe_uuid(input.provider_id, "Provider", field="providerId"),
        )
        return await _success(info, provider_id)

    return await result_or_error(run)  # type: ignore[return-value]


async def remove_availability_override(info: Info, id: strawberry.ID) -> AvailabilityResult:
    async def run() -> AvailabilitySuccess:
        override_id = ids.decode_uuid(id, "AvailabilityOverride")
        provider_id = await service.remove_override(info.context.deps, viewer=info.context.viewer,
                                                    override_id=override_id)
        return await _success(info, provider_id)

    return await result_or_error(run)  # type: ignore[return-value]


async def import_busy_times(info: Info, ics: str) -> AvailabilityResult:
    async def run() -> AvailabilitySuccess:
        provider_id = await calendar.import_busy_times(info.context.deps, viewer=info.context.viewer, ics=ics)
        return await _success(info, provider_id)

    return await result_or_error(run)  # type: ignore[return-value]
