"""The waiting room's loop: keep the viewer present while they watch, and report the room on every wake-up.

`api/sessions/subscriptions.py` turns each report into a `PresenceUpdate` when the room changed. Close the
iterator (`contextlib.aclosing`) when the subscription ends: that is what takes the viewer out of the room.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator
from datetime import datetime

from sessions_gql.context import Context
from sessions_gql.db import models as m
from sessions_gql.domain.enums import Party, SessionStatus
from sessions_gql.realtime import streams
from sessions_gql.realtime.channels import presence_channel, session_channel
from sessions_gql.realtime.hub import still_wanted, wait
from sessions_gql.realtime.presence import HEARTBEAT_SECONDS, PresenceStore, announce
from sessions_gql.services.deps import Deps
from sessions_gql.services.sessions import presence as presence_service


async def watch(context: Context, target: uuid.UUID, row: m.Session, party: Party | None
                ) -> AsyncGenerator[tuple[m.Session, dict[Party, datetime]], None]:
    """The session and who is present, now and after every presence or session change (or heartbeat); a
    party to the session is marked present on every turn and cleared when the iterator is closed."""
    deps = context.deps
    hub = deps.hub
    store = hub.presence
    async with streams.slot(context), hub.listen(presence_channel(target), session_channel(target)) as queue:
        try:
            while True:
                still_wanted()
                if party is not None:
                    await _announce(deps, row, party, store)
                async with deps.sessions() as db:
                    row = await db.get(m.Session, target) or row
                present = await store.present(target)
                still_wanted()
                yield row, present
                await wait(queue, timeout=HEARTBEAT_SECONDS)
        finally:
            if party is not None:
                await store.clear(target, party)
                await announce(hub, target)


async def _announce(deps: Deps, row: m.Session, party: Party, store: PresenceStore) -> None:
    """Refresh the viewer's presence; on arrival tell the room (and the provider, for a waiting member)."""
    arrived = await store.mark(row.id, party, deps.clock.now())
    if not arrived:
        return
    if party is Party.MEMBER and row.status is SessionStatus.CONFIRMED:
        # committed before the room is told (a provider woken for another reason may still see the member first)
        await presence_service.member_waiting(deps, session_id=row.id, now=deps.clock.now())
    await announce(deps.hub, row.id)
