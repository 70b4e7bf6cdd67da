"""Calendar sync: a provider's held sessions as an iCalendar feed, and busy times imported from ICS."""

from __future__ import annotations

import secrets
import uuid
from datetime import timedelta
from typing import cast

import icalendar
from sqlalchemy import delete, or_, select

from sessions_gql.auth.viewer import Viewer
from sessions_gql.db import models as m
from sessions_gql.db.types import uuid7
from sessions_gql.domain.enums import OPEN_STATUSES, OverrideKind, SessionStatus
from sessions_gql.domain.errors import NotFound
from sessions_gql.services.access import acting_provider
from sessions_gql.services.deps import Deps
from sessions_gql.services.sessions.ics_expand import expand_in_process

PRODID = "-//sessions_gql//calendar feed//EN"
CANCELLED_KEPT = timedelta(days=30)
MAX_IMPORTED = 2000
STATUS = {SessionStatus.AWAITING_APPROVAL: "TENTATIVE", SessionStatus.RESCHEDULING: "CONFIRMED",
          SessionStatus.CONFIRMED: "CONFIRMED", SessionStatus.IN_PROGRESS: "CONFIRMED"}


def new_token() -> str:
    return secrets.token_urlsafe(32)


async def rotate_feed(deps: Deps, *, viewer: Viewer) -> uuid.UUID:
    """A new secret feed URL; the old one stops working at once."""
    provider_id = acting_provider(viewer, None)
    async with deps.uow() as uow:
        provider = await uow.session.get(m.Provider, provider_id, with_for_update=True)
        if provider is None:
            raise NotFound("no such provider")
        provider.calendar_token = new_token()
        await uow.commit()
        return provider.id


async def feed(deps: Deps, *, token: str) -> bytes | None:
    """The feed behind a secret token, or None for an unknown (or revoked) one."""
    now = deps.clock.now()
    async with deps.sessions() as db:
        provider = await db.scalar(select(m.Provider).where(m.Provider.calendar_token == token))
        if provider is None or not token:
            return None
        S = m.Session
        held = S.status.in_(OPEN_STATUSES)
        recently_cancelled = (S.status == SessionStatus.CANCELLED) & (S.updated_at > now - CANCELLED_KEPT)
        rows = (await db.scalars(select(S).where(S.provider_id == provider.id, or_(held, recently_cancelled))
                                 .order_by(S.starts_at))).all()
        services = {s.id: s.name for s in (await db.scalars(
            select(m.Service).where(m.Service.provider_id == provider.id))).all()}
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", f"{provider.display_name}: sessions")
    for row in rows:
        calendar.add_component(_event(row, services.get(row.service_id, "Session")))
    return cast(bytes, calendar.to_ical())


def _event(row: m.Session, service: str) -> icalendar.Event:
    """Stable UID per session; SEQUENCE is the session's version, so calendars update it in place."""
    event = icalendar.Event()
    event.add("uid", f"{row.id}@sessions-gql")
    event.add("sequence", row.version)
    event.add("dtstamp", row.updated_at)
    event.add("last-modified", row.updated_at)
    event.add("dtstart", row.starts_at)
    event.add("dtend", row.ends_at)
    event.add("summary", f"{service} ({row.modality.value.replace('_', ' ').lower()})")
    event.add("status", STATUS.get(row.status, "CANCELLED"))
    if row.location:
        event.add("location", row.location)
    return event


async def import_busy_times(deps: Deps, *, viewer: Viewer, ics: str) -> uuid.UUID:
    """BLOCKED overrides for every busy time over the horizon, replacing the previous import.

    The file is expanded in a child process within bounds (services/sessions/ics_expand.py); over one, nothing changes.
    """
    provider_id = acting_provider(viewer, None)
    now = deps.clock.now()
    async with deps.sessions() as db:
        horizon_days = await db.scalar(select(m.Provider.horizon_days).where(m.Provider.id == provider_id))
    if horizon_days is None:
        raise NotFound("no such provider")
    # parsed before the transaction, so no lock (SQLite's write lock, the provider row) is held meanwhile
    spans = await expand_in_process(ics, start=now, end=now + timedelta(days=horizon_days), max_spans=MAX_IMPORTED,
                                    seconds=deps.settings.ics_import_seconds)
    async with deps.uow() as uow:
        provider = await uow.session.get(m.Provider, provider_id, with_for_update=True)
        if provider is None:
            raise NotFound("no such provider")
        Override = m.AvailabilityOverride
        await uow.session.execute(delete(Override).where(Override.provider_id == provider_id,
                                                         Override.source == "import"))
        uow.session.add_all(Override(id=uuid7(), provider_id=provider_id, kind=OverrideKind.BLOCKED, starts_at=begins,
                              ends_at=ends, note="imported busy time", source="import", created_at=now)
                            for begins, ends in spans)
        await uow.commit()
        return provider_id

