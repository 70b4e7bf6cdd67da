"""The Redis pub/sub listener stops on shutdown even when a cancellation is swallowed below it.

Under load the whole suite once hung in teardown: uvicorn's lifespan waited on the `redis-pubsub` task, which
was "cancelling" yet still awaiting inside its listen loop. A cancellation had been delivered and eaten somewhere
in redis-py's reconnect and read paths. The backend must not depend on every library below it passing a
cancellation on: it cancels again until the task ends.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from sessions_gql.realtime.redis_backend import ResilientRedisBackend
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
