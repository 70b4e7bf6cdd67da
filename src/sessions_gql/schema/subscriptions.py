"""Live subscriptions: session timelines and the waiting room (more areas add theirs)."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime

import strawberry

from sessions_gql.db import models as m
from sessions_gql.domain.enums import Party, SessionStatus
from sessions_gql.realtime import streams
from sessions_gql.realtime.channels import presence_channel, session_channel
from sessions_gql.realtime.hub import still_wanted, wait
from sessions_gql.realtime.presence import HEARTBEAT_SECONDS, PresenceStore, announce
from sessions_gql.resolvers import ids
from sessions_gql.schema import live_messaging
from sessions_gql.schema.context import Info
from sessions_gql.schema.sessions import Session, TimelineEvent, WaitingRoom
from sessions_gql.services import presence as presence_service
from sessions_gql.services.deps import Deps


@strawberry.type
class PresenceUpdate:
    session: Session
    waiting_room: WaitingRoom
    at: datetime


async def session_events(info: Info, session_id: strawberry.ID | None = None, after: str | None = None
                         ) -> AsyncGenerator[TimelineEvent, None]:
    context = info.context
    viewer = context.viewer
    target = ids.maybe_uuid(session_id, "Session", field="sessionId")
    if target is not None:
        await presence_service.party_of(context.deps, viewer, target)
    channel = streams.channel_for(viewer, target, session_channel, what="session", field="sessionId")
    fetch = streams.timeline_fetch(viewer, target)
    async for event in streams.follow(context, channels=[channel], after=after, model=m.TimelineEvent, fetch=fetch,
                                      payload=TimelineEvent.of):
        yield event


async def waiting_room(info: Info, session_id: strawberry.ID) -> AsyncGenerator[PresenceUpdate, None]:
    context = info.context
    deps = context.deps
    target = ids.decode_uuid(session_id, "Session", field="sessionId")
    row, party = await presence_service.party_of(deps, context.viewer, target)
    store = deps.hub.presence
    channels = [presence_channel(target), session_channel(target)]
    async with streams.slot(context), deps.hub.listen(*channels) as queue:
        try:
            last = None
            while True:
                still_wanted()
                if party is not None:
                    await _announce(deps, row, party, store)
                async with deps.sessions() as db:
                    row = await db.get(m.Session, target) or row
                present = await store.present(target)
                still_wanted()
                room = WaitingRoom.of(row, present)
                if room != last:
                    last = room
                    yield PresenceUpdate(session=Session.of(row), waiting_room=room, at=deps.clock.now())
                    await context.close()
                await wait(queue, timeout=HEARTBEAT_SECONDS)
        finally:
            if party is not None:
                await store.clear(target, party)
                await announce(deps.hub, target)


async def _announce(deps: Deps, row: m.Session, party: Party, store: PresenceStore) -> None:
    """Refresh the viewer's presence; on arrival tell the room (and the provider, for a waiting member)."""
    arrived = await store.mark(row.id, party, deps.clock.now())
    if not arrived:
        return
    if party is Party.MEMBER and row.status is SessionStatus.CONFIRMED:
        # committed before the room is told (a provider woken for another reason may still see the member first)
        await presence_service.member_waiting(deps, session_id=row.id, now=deps.clock.now())
    await announce(deps.hub, row.id)


@strawberry.type
class Subscription:
    session_events = strawberry.subscription(resolver=session_events)
    waiting_room = strawberry.subscription(resolver=waiting_room)
    conversation_events = strawberry.subscription(resolver=live_messaging.conversation_events)
    notification_added = strawberry.subscription(resolver=live_messaging.notification_added)

