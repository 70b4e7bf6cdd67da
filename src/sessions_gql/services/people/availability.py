"""Use cases for a provider's free time: weekly rules, overrides, and the bookable slots they leave."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from sessions_gql.auth.viewer import Viewer
from sessions_gql.db import models as m
from sessions_gql.db.types import uuid7
from sessions_gql.domain import availability as av
from sessions_gql.domain import validation as v
from sessions_gql.domain.enums import OverrideKind, Weekday
from sessions_gql.domain.errors import Interval, NotFound, ValidationError
from sessions_gql.services.access import acting_provider
from sessions_gql.services.deps import Deps
from sessions_gql.services.visibility import can_see_provider

MAX_SLOT_WINDOW = timedelta(days=62)
MAX_OVERRIDE = timedelta(days=366)


@dataclass(frozen=True)
class AvailabilityDraft:
    time_zone: str
    weekly_rules: list[tuple[Weekday, time, time]]
    buffer_minutes: int | None = None
    minimum_notice_minutes: int | None = None
    horizon_days: int | None = None
    provider_id: uuid.UUID | None = None


async def policy_of(db: AsyncSession, provider: m.Provider, *, window: Interval | None = None
                    ) -> av.AvailabilityPolicy:
    rules = (await db.scalars(select(m.AvailabilityRule).where(m.AvailabilityRule.provider_id == provider.id))).all()
    query = select(m.AvailabilityOverride).where(m.AvailabilityOverride.provider_id == provider.id)
    if window is not None:
        query = query.where(m.AvailabilityOverride.ends_at > window.starts_at - timedelta(days=1),
                            m.AvailabilityOverride.starts_at < window.ends_at + timedelta(days=1))
    overrides = (await db.scalars(query)).all()
    return policy_from(provider, rules, overrides)


def policy_from(provider: m.Provider, rules: Sequence[m.AvailabilityRule],
                overrides: Sequence[m.AvailabilityOverride]) -> av.AvailabilityPolicy:
    return av.AvailabilityPolicy(
        time_zone=provider.time_zone,
        weekly_rules=tuple(av.WeeklyRule(weekday=r.weekday, start=r.start_time, end=r.end_time) for r in rules),
        overrides=tuple(av.Override(kind=o.kind, starts_at=o.starts_at, ends_at=o.ends_at) for o in overrides),
        buffer_minutes=provider.buffer_minutes,
        minimum_notice_minutes=provider.minimum_notice_minutes,
        horizon_days=provider.horizon_days,
    )


async def held_intervals(db: AsyncSession, *, window: Interval, provider_id: uuid.UUID | None = None,
                         member_id: uuid.UUID | None = None, except_session: uuid.UUID | None = None
                         ) -> list[Interval]:
    """Slots held by open sessions of the provider and/or the member that touch the window."""
    H = m.SlotHold
    parties = []
    if provider_id is not None:
        parties.append(H.provider_id == provider_id)
    if member_id is not None:
        parties.append(H.member_id == member_id)
    if not parties:
        return []
    query = select(H.starts_at, H.ends_at).where(or_(*parties), H.ends_at > window.starts_at,
                                                 H.starts_at < window.ends_at)
    if except_session is not None:
        query = query.where(H.session_id != except_session)
    rows = (await db.execute(query.order_by(H.starts_at))).all()
    return [Interval(starts_at=row.starts_at, ends_at=row.ends_at) for row in rows]


async def overrides_between(db: AsyncSession, *, provider_id: uuid.UUID, start: datetime | None,
                            end: datetime | None) -> list[m.AvailabilityOverride]:
    query = select(m.AvailabilityOverride).where(m.AvailabilityOverride.provider_id == provider_id)
    if start is not None:
        query = query.where(m.AvailabilityOverride.ends_at > start)
    if end is not None:
        query = query.where(m.AvailabilityOverride.starts_at < end)
    return list((await db.scalars(query.order_by(m.AvailabilityOverride.starts_at))).all())


async def _provider_for_update(deps_session: AsyncSession, provider_id: uuid.UUID) -> m.Provider:
    provider = await deps_session.get(m.Provider, provider_id, with_for_update=True)
    if provider is None:
        raise NotFound("no such provider", field="providerId")
    return provider


async def set_availability(deps: Deps, *, viewer: Viewer, draft: AvailabilityDraft) -> uuid.UUID:
    """Replace the weekly rules and the booking windows in one go."""
    provider_id = acting_provider(viewer, draft.provider_id)
    av.validate_time_zone(draft.time_zone)
    rules = av.validate_weekly_rules([av.WeeklyRule(weekday=d, start=s, end=e) for d, s, e in draft.weekly_rules])
    async with deps.uow() as uow:
        provider = await _provider_for_update(uow.session, provider_id)
        buffer = provider.buffer_minutes if draft.buffer_minutes is None else draft.buffer_minutes
        notice = draft.minimum_notice_minutes
        notice = provider.minimum_notice_minutes if notice is None else notice
        horizon = provider.horizon_days if draft.horizon_days is None else draft.horizon_days
        av.validate_policy_numbers(buffer_minutes=buffer, minimum_notice_minutes=notice, horizon_days=horizon)
        provider.time_zone, provider.buffer_minutes = draft.time_zone, buffer
        provider.minimum_notice_minutes, provider.horizon_days = notice, horizon
        await uow.session.execute(delete(m.AvailabilityRule).where(m.AvailabilityRule.provider_id == provider_id))
        uow.session.add_all(
            m.AvailabilityRule(id=uuid7(), provider_id=provider_id, weekday=r.weekday, start_time=r.start,
                               end_time=r.end)
            for r in rules
        )
        await uow.commit()
        return provider_id


async def add_override(deps: Deps, *, viewer: Viewer, kind: OverrideKind, starts_at: datetime, ends_at: datetime,
                       note: str | None, provider_id: uuid.UUID | None = None) -> uuid.UUID:
    target = acting_provider(viewer, provider_id)
    if ends_at <= starts_at:
        raise ValidationError("endsAt must be after startsAt", field="endsAt")
    if ends_at - starts_at > MAX_OVERRIDE:
        raise ValidationError("an override spans at most 366 days", field="endsAt")
    cleaned = v.text(note, field="note", max_length=500, required=False)
    async with deps.uow() as uow:
        await _provider_for_update(uow.session, target)
        uow.session.add(m.AvailabilityOverride(id=uuid7(), provider_id=target, kind=kind, starts_at=starts_at,
                                               ends_at=ends_at, note=cleaned, source="manual",
                                               created_at=deps.clock.now()))
        await uow.commit()
        return target


async def remove_override(deps: Deps, *, viewer: Viewer, override_id: uuid.UUID) -> uuid.UUID:
    async with deps.uow() as uow:
        found = await uow.session.get(m.AvailabilityOverride, override_id, with_for_update=True)
        if found is None or not (viewer.is_admin or found.provider_id == viewer.provider_id):
            raise NotFound("no such override", field="id")
        await uow.session.delete(found)
        await uow.commit()
        return found.provider_id


async def bookable_slots(db: AsyncSession, *, viewer: Viewer, provider_id: uuid.UUID, service_id: uuid.UUID,
                         window: Interval, duration_minutes: int | None, now: datetime) -> list[Interval]:
    """Starts a member could request now, excluding slots held by the provider (and the viewing member)."""
    if window.ends_at <= window.starts_at:
        raise ValidationError("`to` must be after `from`", field="to")
    if window.ends_at - window.starts_at > MAX_SLOT_WINDOW:
        raise ValidationError("ask for at most 62 days of slots at a time", field="to")
    provider = await db.get(m.Provider, provider_id)
    service = await db.get(m.Service, service_id)
    if provider is None or not can_see_provider(viewer, provider):
        raise NotFound("no such provider", field="providerId")
    if service is None or service.provider_id != provider_id:
        raise NotFound("no such service for this provider", field="serviceId")
    duration = v.duration(duration_minutes if duration_minutes is not None else service.duration_minutes)
    if not provider.visibility.takes_new_sessions or service.archived_at is not None:
        return []  # paused, deactivated, or a retired service: nothing can be requested
    reach = Interval(starts_at=window.starts_at - timedelta(hours=12), ends_at=window.ends_at + timedelta(hours=12))
    policy = await policy_of(db, provider, window=reach)
    busy = await held_intervals(db, window=reach, provider_id=provider_id, member_id=viewer.member_id)
    return av.available_slots(policy, duration_minutes=duration, window=window, now=now, busy=busy)
