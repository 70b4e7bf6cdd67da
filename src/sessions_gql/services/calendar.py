"""Calendar sync: a provider's held sessions as an iCalendar feed, and busy times imported from ICS."""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import cast

import icalendar
import recurring_ical_events
from sqlalchemy import delete, or_, select

from sessions_gql.auth.viewer import Viewer
from sessions_gql.db import models as m
from sessions_gql.db.types import uuid7
from sessions_gql.domain.enums import OPEN_STATUSES, OverrideKind, SessionStatus
from sessions_gql.domain.errors import NotFound, ValidationError
from sessions_gql.services.access import acting_provider
from sessions_gql.services.deps import Deps

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


def busy_times(ics: str, *, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """Opaque events of an ICS file between start and end, recurring ones expanded, in UTC."""
    try:
        calendar = icalendar.Calendar.from_ical(ics)
        events = recurring_ical_events.of(calendar).between(start, end)
    except (ValueError, KeyError, TypeError) as exc:
        raise ValidationError(f"not an iCalendar file: {exc}", field="ics") from None
    found: list[tuple[datetime, datetime]] = []
    for event in events:
        if str(event.get("transp", "OPAQUE")).upper() == "TRANSPARENT":
            continue
        begins, ends = _instant(event.decoded("dtstart")), _instant(event.decoded("dtend", None) or
                                                                    event.decoded("dtstart"))
        if ends <= begins:
            ends = begins + timedelta(days=1) if isinstance(event.decoded("dtstart"), date) else begins
        if ends > begins:
            found.append((max(begins, start), min(ends, end)))
        if len(found) > MAX_IMPORTED:
            raise ValidationError(f"at most {MAX_IMPORTED} busy times per import", field="ics")
    return sorted(found)


def _instant(value: date | datetime) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return datetime(value.year, value.month, value.day, tzinfo=UTC)


async def import_busy_times(deps: Deps, *, viewer: Viewer, ics: str) -> uuid.UUID:
    """BLOCKED overrides for every busy time over the horizon, replacing the previous import."""
    provider_id = acting_provider(viewer, None)
    now = deps.clock.now()
    async with deps.uow() as uow:
        provider = await uow.session.get(m.Provider, provider_id, with_for_update=True)
        if provider is None:
            raise NotFound("no such provider")
        spans = busy_times(ics, start=now, end=now + timedelta(days=provider.horizon_days))
        Override = m.AvailabilityOverride
        await uow.session.execute(delete(Override).where(Override.provider_id == provider_id,
                                                         Override.source == "import"))
        uow.session.add_all(Override(id=uuid7(), provider_id=provider_id, kind=OverrideKind.BLOCKED, starts_at=begins,
                              ends_at=ends, note="imported busy time", source="import", created_at=now)
                            for begins, ends in spans)
        await uow.commit()
        return provider_id

