"""A subscription's wait for its next wake-up ends when its operation is cancelled (issue 11, flaky room test).

Python 3.11's `asyncio.wait_for` returns the inner result, swallowing the cancellation, when the awaited item
arrives in the same loop tick as the cancel. A waiting room whose socket closed just as a wake-up arrived then
went on heartbeating its presence for as long as the process lived.
"""

from __future__ import annotations

import asyncio

import pytest
from broadcaster import Event

from sessions_gql.realtime.hub import wait
from tests.harness.live import LiveServer


async def started(queue: asyncio.Queue[Event | None]) -> None:
    """Until someone is blocked on `queue.get()`."""
    while not getattr(queue, "_getters"):  # noqa: B009, ASYNC110  # no public way to see a waiter; yields only
        await asyncio.sleep(0)


async def test_a_cancel_in_the_tick_a_wake_up_arrives_still_cancels_the_wait() -> None:
    queue: asyncio.Queue[Event | None] = asyncio.Queue()
    waiting = asyncio.create_task(wait(queue, timeout=30))
    await started(queue)
    queue.put_nowait(Event(channel="c", message="{}"))
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert waiting.cancelled()


async def test_the_wait_returns_the_wake_up_or_none_after_the_timeout() -> None:
    queue: asyncio.Queue[Event | None] = asyncio.Queue()
    woke = Event(channel="c", message="{}")
    queue.put_nowait(woke)
    assert await wait(queue, timeout=30) is woke
    assert await wait(queue, timeout=0.01) is None
    assert queue.empty()


async def test_a_relay_stopped_in_the_tick_it_is_kicked_stops(live: LiveServer) -> None:
    """The same race in the outbox relay's wait for a commit: stopping it then hung the app's shutdown."""
    relay = live.app.state.realtime.relay
    while not getattr(relay._kick, "_waiters"):  # noqa: B009, ASYNC110  # until it waits for its next kick
        await asyncio.sleep(0)
    relay.kick()
    async with asyncio.timeout(10):  # in this task, so the stop lands in the tick of the kick
        await relay.stop()
