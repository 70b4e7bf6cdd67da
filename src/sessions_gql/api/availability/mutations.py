"""Availability mutations: the provider's rules and overrides, and calendar imports."""

from __future__ import annotations

import uuid

import strawberry

from sessions_gql.api import ids
from sessions_gql.api.availability.inputs import AddAvailabilityOverrideInput, SetAvailabilityInput
from sessions_gql.api.availability.types import AvailabilityResult, AvailabilitySuccess, availability_of
from sessions_gql.api.context import Info
from sessions_gql.api.errors import result_or_error
from sessions_gql.domain.errors import NotFound
from sessions_gql.services.people import availability as service
from sessions_gql.services.sessions import calendar


async def _success(info: Info, provider_id: uuid.UUID) -> AvailabilitySuccess:
    info.context.reset_loaders()
    provider = await info.context.loaders.provider_by_id.load(provider_id)
    if provider is None:
        raise NotFound("no such provider", field="providerId")
    return AvailabilitySuccess(availability=await availability_of(info, provider))


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
