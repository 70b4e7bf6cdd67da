"""Use cases around the waiting room: who may enter it, who is in it, and telling the provider a member waits."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from sessions_gql.auth.viewer import Viewer
from sessions_gql.db import models as m
from sessions_gql.domain.enums import NotificationKind, Party
from sessions_gql.domain.errors import MarkedNoShow, NotFound
from sessions_gql.realtime.presence import announce
from sessions_gql.services import outbox
from sessions_gql.services.deps import Deps
from sessions_gql.services.messaging import notify
from sessions_gql.services.sessions import transitions
from sessions_gql.services.sessions.commands import JoinSession

TURNED_AWAY_TITLE = "Your client tried to join"


async def party_of(deps: Deps, viewer: Viewer, session_id: uuid.UUID) -> tuple[m.Session, Party | None]:
    """The session and the viewer's side of it (None for admins); NOT_FOUND for anyone else."""
    async with deps.sessions() as db:
        row = await db.get(m.Session, session_id)
    if row is None:
        raise NotFound("no such session", field="sessionId")
    if row.member_id == viewer.member_id:
        return row, Party.MEMBER
    if row.provider_id == viewer.provider_id:
        return row, Party.PROVIDER
    if viewer.is_admin:
        return row, None
    raise NotFound("no such session", field="sessionId")


async def member_waiting(deps: Deps, *, session_id: uuid.UUID, now: datetime) -> None:
    """A MEMBER_WAITING notification for the provider, streamed like every other."""
    async with deps.uow() as uow:
        row = await uow.session.get(m.Session, session_id)
        provider = await uow.session.get(m.Provider, row.provider_id) if row else None
        if row is None or provider is None:
            return
        note = await notify.notify(uow, user_id=provider.user_id, kind=NotificationKind.MEMBER_WAITING,
                                   session=row, now=now)
        await uow.session.flush()
        outbox.emit(uow, channels=[outbox.user_channel(provider.user_id)], now=now, notifications=[note.id])
        await uow.commit()


async def join(deps: Deps, *, viewer: Viewer, command: JoinSession) -> uuid.UUID:
    """joinSession. A member turned away by a no-show mark gets the refusal (which changes nothing) and, in a
    transaction of its own, the provider is told they tried to join, so that they can undo the no-show."""
    try:
        return await transitions.join_session(deps, viewer=viewer, command=command)
    except MarkedNoShow as refused:
        await turned_away(deps, session_id=command.session_id, marked_at=refused.marked_at, now=deps.clock.now())
        raise


async def turned_away(deps: Deps, *, session_id: uuid.UUID, marked_at: datetime, now: datetime) -> bool:
    """An in-app MEMBER_WAITING notice for the provider that the member tried to join after the no-show mark;
    retries within `turned_away_notice_seconds` of the last notice add none. Whether one was written."""
    async with deps.uow() as uow:
        row = await uow.session.get(m.Session, session_id, with_for_update=True)  # one notice per burst
        provider = await uow.session.get(m.Provider, row.provider_id) if row else None
        member = await uow.session.get(m.Member, row.member_id) if row else None
        if row is None or provider is None or member is None:
            return False
        N = m.Notification
        quiet_since = now - timedelta(seconds=deps.settings.turned_away_notice_seconds)
        recent = await uow.session.scalar(select(N.id).where(
            N.user_id == provider.user_id, N.session_id == row.id, N.kind == NotificationKind.MEMBER_WAITING,
            N.created_at > quiet_since).limit(1))
        if recent is not None:
            return False
        recipient = await uow.session.get(m.User, provider.user_id)
        name = await uow.session.get(m.User, member.user_id)
        zone = ZoneInfo(recipient.time_zone if recipient is not None else "UTC")
        starts, marked = row.starts_at.astimezone(zone), marked_at.astimezone(zone)
        body = (f"{name.display_name if name else 'Your client'} tried to join the session of {starts:%a} "
                f"{starts.day} {starts:%b} {starts:%H:%M} ({zone.key}), which you marked as a no-show at "
                f"{marked:%H:%M}. Undo the no-show to let them in.")
        note = await notify.notify(uow, user_id=provider.user_id, kind=NotificationKind.MEMBER_WAITING,
                                   session=row, now=now, body=body, title=TURNED_AWAY_TITLE, email=False)
        await uow.session.flush()
        outbox.emit(uow, channels=[outbox.user_channel(provider.user_id)], now=now, notifications=[note.id])
        await uow.commit()
        return True


def side_of(viewer: Viewer, row: m.Session) -> Party | None:
    if row.member_id is not None and row.member_id == viewer.member_id:
        return Party.MEMBER
    if row.provider_id is not None and row.provider_id == viewer.provider_id:
        return Party.PROVIDER
    return None


async def entered(deps: Deps, *, viewer: Viewer, row: m.Session) -> None:
    """After joinSession: in the waiting room for the presence TTL, until the `waitingRoom` heartbeat keeps it."""
    party = side_of(viewer, row)
    if party is None or deps.hub is None:
        return
    await deps.hub.presence.mark(row.id, party, deps.clock.now())
    await announce(deps.hub, row.id)


async def departed(deps: Deps, *, viewer: Viewer, row: m.Session) -> None:
    """After leaveSession: out of the waiting room at once."""
    party = side_of(viewer, row)
    if party is None or deps.hub is None:
        return
    await deps.hub.presence.clear(row.id, party)
    await announce(deps.hub, row.id)
