"""Session subscriptions: a session's (or all the viewer's sessions') timeline, and the waiting room."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator

import strawberry

from sessions_gql.api import ids
from sessions_gql.api.context import Info
from sessions_gql.api.sessions.types import PresenceUpdate, Session, TimelineEvent, WaitingRoom
from sessions_gql.db import models as m
from sessions_gql.realtime import streams, waiting_room
from sessions_gql.realtime.channels import session_channel
from sessions_gql.services.sessions import presence as presence_service


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


async def waiting_room_updates(info: Info, session_id: strawberry.ID) -> AsyncGenerator[PresenceUpdate, None]:
    """The room now, then whenever who is present changes; a party watching it is present while subscribed."""
    context = info.context
    target = ids.decode_uuid(session_id, "Session", field="sessionId")
    row, party = await presence_service.party_of(context.deps, context.viewer, target)
    last = None
    async with contextlib.aclosing(waiting_room.watch(context, target, row, party)) as reports:
        async for current, present in reports:
            room = WaitingRoom.of(current, present)
            if room != last:
                last = room
                yield PresenceUpdate(session=Session.of(current), waiting_room=room, at=context.deps.clock.now())
                await context.close()
