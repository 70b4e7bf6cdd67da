"""Availability queries: the slots a provider's availability leaves for a service."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from sessions_gql.api import ids
from sessions_gql.api.common import Slot
from sessions_gql.api.context import Info
from sessions_gql.domain.errors import Interval
from sessions_gql.services.people import availability as service


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
