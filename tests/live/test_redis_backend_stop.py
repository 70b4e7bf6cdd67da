"""The Redis pub/sub listener stops on shutdown even when a cancellation is swallowed below it.

Under load the whole suite once hung in teardown: uvicorn's lifespan waited on the `redis-pubsub` task, which
was "cancelling" yet still awaiting inside its listen loop. A cancellation had been delivered and eaten somewhere
in redis-py's reconnect and read paths. The backend must not depend on every library below it passing a
cancellation on: it cancels again until the task ends.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import pytest
from redis import asyncio as redis

from sessions_gql.config import Settings
from sessions_gql.realtime.hub import Hub
from sessions_gql.realtime.redis_backend import RESYNC, ResilientRedisBackend
from tests.harness.bounds import PROMPT_SECONDS
from tests.harness.servers import RedisServer

pytestmark = pytest.mark.redis


async def test_disconnect_ends_a_listener_that_swallowed_one_cancellation(redis_server: RedisServer) -> None:
    backend = ResilientRedisBackend(redis_server.url)
    swallowed = asyncio.Event()
    listening = asyncio.Event()

    async def listen_that_eats_a_cancel(_client: Any, _pubsub: Any) -> None:
        listening.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            swallowed.set()  # what a library below did under load: the cancellation goes no further
        await asyncio.Event().wait()

    backend._listen = listen_that_eats_a_cancel  # type: ignore[method-assign]
    await backend.connect()
    async with asyncio.timeout(PROMPT_SECONDS * 4):
        await listening.wait()
        await backend.disconnect()
    assert swallowed.is_set()
    assert backend._runner is not None and backend._runner.cancelled()
    assert not backend.connected.is_set()


async def test_a_subscribe_returns_once_redis_has_confirmed_it(redis_server: RedisServer) -> None:
    """A stream subscribes, then reads its start position: a wake-up published after that read must reach it,
    so the subscription has to be in force at Redis when `subscribe` returns, not merely sent."""
    backend = ResilientRedisBackend(redis_server.url)
    await backend.connect()
    admin = redis.Redis.from_url(redis_server.url)
    try:
        async with asyncio.timeout(PROMPT_SECONDS * 4):
            await backend.connected.wait()
        await admin.execute_command("CLIENT", "PAUSE", "600", "ALL")  # Redis holds every client's commands
        loop = asyncio.get_running_loop()
        began = loop.time()
        await backend.subscribe("sessions-gql-test:confirm")
        waited = loop.time() - began
        counts = await admin.pubsub_numsub("sessions-gql-test:confirm")
        assert counts == [(b"sessions-gql-test:confirm", 1)]
        assert waited >= 0.5, waited  # it waited out the pause: the confirmation came after it
    finally:
        await admin.execute_command("CLIENT", "UNPAUSE")
        await admin.aclose()
        await backend.disconnect()


async def test_a_channel_subscribed_while_redis_was_away_gets_resync_once_confirmed(
    redis_server: RedisServer
) -> None:
    """Subscribed before the connection is up, the channel is subscribed by the (re)connect, and RESYNC on it
    follows Redis's confirmation: whatever was published meanwhile is read from the database."""
    backend = ResilientRedisBackend(redis_server.url)
    await backend.subscribe("sessions-gql-test:early")  # before connect: nothing to send it on yet
    await backend.connect()
    try:
        async with asyncio.timeout(PROMPT_SECONDS * 4):
            event = await backend.next_published()
        assert (event.channel, event.message) == ("sessions-gql-test:early", RESYNC)
    finally:
        await backend.disconnect()


async def test_a_second_stream_of_a_channel_waits_for_the_first_ones_subscription(redis_server: RedisServer) -> None:
    """Two streams of one channel start together: only the first sends SUBSCRIBE, and the second must not read
    its start position before Redis has confirmed it either."""
    hub = Hub(Settings(redis_url=redis_server.url))
    await hub.connect()
    admin = redis.Redis.from_url(redis_server.url)
    try:
        assert hub.backend is not None
        async with asyncio.timeout(PROMPT_SECONDS * 4):
            await hub.backend.connected.wait()
            while await admin.pubsub_numsub("resync") != [(b"resync", 1)]:  # noqa: ASYNC110  # a condition in Redis
                await asyncio.sleep(0.01)
        await admin.execute_command("CLIENT", "PAUSE", "600", "ALL")
        loop = asyncio.get_running_loop()
        began = loop.time()
        async with contextlib.AsyncExitStack() as streams:
            first = asyncio.create_task(streams.enter_async_context(hub.listen("sessions-gql-test:shared")))
            await asyncio.sleep(0)  # the first stream has sent its SUBSCRIBE and waits for the confirmation
            await streams.enter_async_context(hub.listen("sessions-gql-test:shared"))
            second_waited = loop.time() - began
            await first
            assert await admin.pubsub_numsub("sessions-gql-test:shared") == [(b"sessions-gql-test:shared", 1)]
        assert second_waited >= 0.5, second_waited
    finally:
        await admin.execute_command("CLIENT", "UNPAUSE")
        await admin.aclose()
        await hub.disconnect()
