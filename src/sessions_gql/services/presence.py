"""Use cases around the waiting room: who may enter it, who is in it, and telling the provider a member waits."""

from __future__ import annotations

import uuid
from datetime import datetime

from sessions_gql.auth.viewer import Viewer
from sessions_gql.db import models as m
from sessions_gql.domain.enums import NotificationKind, Party
from sessions_gql.domain.errors import NotFound
from sessions_gql.realtime.presence import announce
from sessions_gql.services import notify, outbox
from sessions_gql.services.deps import Deps


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
