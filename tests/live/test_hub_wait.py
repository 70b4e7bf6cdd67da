"""A subscription's wait for its next wake-up ends when its operation is cancelled (issue 11, flaky room test).

Python 3.11's `asyncio.wait_for` returns the inner result, swallowing the cancellation, when the awaited item
arrives in the same loop tick as the cancel. A waiting room whose socket closed just as a wake-up arrived then
went on heartbeating its presence for as long as the process lived.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import pytest
from broadcaster import Event

from sessions_gql.api import ids
from sessions_gql.api.schema import build_schema
from sessions_gql.context import Context
from sessions_gql.realtime.channels import presence_channel
from sessions_gql.realtime.hub import wait
from tests.harness.live import LiveServer
from tests.live.test_waiting_room import confirmed


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


class SwallowingStore:
    """Presence whose `present()`, once `blocking`, waits until cancelled and then loses the cancellation, as a
    Redis call did under load (the room's loop went on and kept a member who had closed the socket present)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.blocking = False
        self.entered = asyncio.Event()

    async def mark(self, *args: Any) -> bool:
        return bool(await self.inner.mark(*args))

    async def clear(self, *args: Any) -> None:
        await self.inner.clear(*args)

    async def present(self, session_id: Any) -> dict[Any, Any]:
        if not self.blocking:
            return dict(await self.inner.present(session_id))
        self.entered.set()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.Event().wait()
        return {}


ROOM = """subscription($id: ID!) { waitingRoom(sessionId: $id) { waitingRoom { member provider } } }"""


async def test_a_waiting_room_ends_when_cancelled_even_if_a_call_lost_the_cancellation(
    live: LiveServer, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    w, session_id = await confirmed(live, clock)
    target = ids.decode_uuid(session_id, "Session", field="sessionId")
    store = SwallowingStore(live.deps.hub.presence)
    monkeypatch.setattr(live.deps.hub, "presence", store)
    context = Context(deps=live.deps, request=None, viewer_or_none=w.member.viewer)
    results = await build_schema(live.deps.settings).subscribe(ROOM, variable_values={"id": session_id},
                                                               context_value=context)
    first = await asyncio.wait_for(anext(results), timeout=20)
    assert (first.errors, first.data) == (None, {"waitingRoom": {"waitingRoom": {"member": "WAITING",
                                                                                 "provider": "ABSENT"}}})
    store.blocking = True
    turn = asyncio.create_task(anext(results))
    await live.deps.hub.publish(presence_channel(target), "{}")  # its next turn now, not at the heartbeat
    await asyncio.wait_for(store.entered.wait(), timeout=20)
    turn.cancel()  # the socket closes while the room reads presence
    await asyncio.wait([turn], timeout=20)
    assert turn.cancelled()
    assert await store.inner.present(target) == {}  # and the member left the room at once
