"""Waiting-room presence: join, admitted when the provider starts, gone within the TTL after a drop."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import pytest
from gql import Client, gql
from gql.transport.websockets import WebsocketsTransport

from sessions_gql.domain.enums import Party
from sessions_gql.realtime import presence
from tests.api.lifecycle_helpers import REQUEST, World, action, world
from tests.harness.app import START
from tests.harness.live import LiveServer

ROOM = gql("""subscription($id: ID!) { waitingRoom(sessionId: $id) {
  waitingRoom { member provider memberWaitingSince } session { status } } }""")
NOTIFICATIONS = """{ viewer { unreadNotifications } }"""
STARTS = START + timedelta(days=1, hours=2)


def ws(live: LiveServer, token: str) -> WebsocketsTransport:
    return WebsocketsTransport(url=live.ws_url, init_payload={"authorization": f"Bearer {token}"},
                               subprotocols=["graphql-transport-ws"], connect_timeout=10, close_timeout=1)


async def confirmed(live: LiveServer, clock: Any) -> tuple[World, str]:
    w = await world(live.api)
    made = await w.run(REQUEST, {"providerId": w.provider.gid, "serviceId": w.service_id,
                                 "startsAt": STARTS.isoformat(), "modality": "VIDEO"}, w.member)
    session_id = made["session"]["id"]
    assert (await w.run(action("confirmSession"), {"sessionId": session_id}, w.provider))["__typename"] == (
        "SessionSuccess")
    clock.set(STARTS - timedelta(minutes=5))
    return w, session_id


async def watch(live: LiveServer, token: str, session_id: str, updates: asyncio.Queue[dict[str, Any]],
                stop: asyncio.Event) -> None:
    async with Client(transport=ws(live, token)) as session:
        async for update in session.subscribe(ROOM, variable_values={"id": session_id}):
            await updates.put(update["waitingRoom"])
            if stop.is_set():
                break


async def next_state(updates: asyncio.Queue[dict[str, Any]]) -> tuple[str, str, str]:
    update = await asyncio.wait_for(updates.get(), timeout=15)
    room = update["waitingRoom"]
    return room["member"], room["provider"], update["session"]["status"]



async def unread_after_reaching(live: LiveServer, person: Any, expected: int) -> int:
    """The unread count once it reaches `expected` (or after 10 s), read again a moment later so that a duplicate
    would show. Presence is ephemeral and not ordered with the notification a member's arrival writes: over
    Redis the provider can be woken and see the member waiting just before that notification commits."""
    deadline = asyncio.get_running_loop().time() + 10
    while (await live.api.gql(NOTIFICATIONS, as_=person))["viewer"]["unreadNotifications"] < expected:
        if asyncio.get_running_loop().time() > deadline:
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.2)
    return int((await live.api.gql(NOTIFICATIONS, as_=person))["viewer"]["unreadNotifications"])

async def test_member_waits_is_admitted_on_start_and_the_provider_sees_it(live: LiveServer, clock: Any) -> None:
    w, session_id = await confirmed(live, clock)
    provider_updates: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    member_updates: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    stop = asyncio.Event()
    provider_task = asyncio.create_task(watch(live, w.provider.token, session_id, provider_updates, stop))
    assert await next_state(provider_updates) == ("ABSENT", "WAITING", "CONFIRMED")
    member_task = asyncio.create_task(watch(live, w.member.token, session_id, member_updates, stop))
    assert await next_state(member_updates) == ("WAITING", "WAITING", "CONFIRMED")
    assert await next_state(provider_updates) == ("WAITING", "WAITING", "CONFIRMED")
    # SESSION_REQUESTED when the member booked, then MEMBER_WAITING now
    assert await unread_after_reaching(live, w.provider, 2) == 2

    started = await w.run(action("startSession"), {"sessionId": session_id}, w.provider)
    assert started["session"]["status"] == "IN_PROGRESS"
    assert await next_state(member_updates) == ("IN_SESSION", "IN_SESSION", "IN_PROGRESS")
    stop.set()
    member_task.cancel()
    provider_task.cancel()
    await asyncio.gather(member_task, provider_task, return_exceptions=True)


async def test_a_closed_member_socket_leaves_the_room_at_once(live: LiveServer, clock: Any) -> None:
    w, session_id = await confirmed(live, clock)
    member_updates: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    provider_updates: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    stop = asyncio.Event()
    provider_task = asyncio.create_task(watch(live, w.provider.token, session_id, provider_updates, stop))
    assert await next_state(provider_updates) == ("ABSENT", "WAITING", "CONFIRMED")
    member_task = asyncio.create_task(watch(live, w.member.token, session_id, member_updates, stop))
    assert await next_state(provider_updates) == ("WAITING", "WAITING", "CONFIRMED")
    member_task.cancel()  # the member's socket drops
    await asyncio.gather(member_task, return_exceptions=True)
    assert await next_state(provider_updates) == ("ABSENT", "WAITING", "CONFIRMED")
    stop.set()
    provider_task.cancel()
    await asyncio.gather(provider_task, return_exceptions=True)


@pytest.mark.parametrize("kind", ["memory", "redis"])
async def test_presence_nobody_refreshes_expires_after_the_ttl(kind: str, request: pytest.FixtureRequest) -> None:
    """A crashed process never says goodbye: its heartbeats stop and the entry expires by itself."""
    store: presence.PresenceStore
    if kind == "memory":
        store = presence.MemoryPresence(ttl=1)
    else:
        store = presence.RedisPresence(request.getfixturevalue("redis_server").url, ttl=1)
    session_id = uuid.uuid4()
    assert await store.mark(session_id, Party.MEMBER, START) is True
    assert await store.mark(session_id, Party.MEMBER, START + timedelta(seconds=1)) is False
    assert await store.present(session_id) == {Party.MEMBER: START}
    await asyncio.sleep(2.1)
    assert await store.present(session_id) == {}
    if isinstance(store, presence.RedisPresence):
        await store.close()
