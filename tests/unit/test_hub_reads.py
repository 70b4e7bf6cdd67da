"""The hub's sharing of reads: streams starting together share one reading of the stream's end, and none is
given a reading that began before it asked (it could then be handed a row that committed before it subscribed);
a wake-up is read with those queued behind it, and only streams it may concern read the database."""

from __future__ import annotations

import asyncio

import pytest
from broadcaster import Event

from sessions_gql.config import Settings
from sessions_gql.realtime.hub import Hub, WakeUps, concerns, woken


async def test_callers_during_a_run_share_the_next_run_never_the_one_begun_before_them() -> None:
    hub = Hub(Settings())
    runs: list[asyncio.Event] = []
    began = [asyncio.Event() for _ in range(3)]

    async def reading() -> int:
        gate = asyncio.Event()
        runs.append(gate)
        number = len(runs)
        began[number - 1].set()
        await gate.wait()
        return number

    first = [asyncio.create_task(hub.fresh_once("end", reading)) for _ in range(3)]
    await began[0].wait()
    later = [asyncio.create_task(hub.fresh_once("end", reading)) for _ in range(4)]  # asked during run 1
    await asyncio.sleep(0)
    assert len(runs) == 1  # run 2 waits for run 1 to end
    runs[0].set()
    assert await asyncio.gather(*first) == [1, 1, 1]
    await began[1].wait()
    runs[1].set()
    assert await asyncio.gather(*later) == [2, 2, 2, 2]
    assert len(runs) == 2
    third = asyncio.create_task(hub.fresh_once("end", reading))  # idle again: a fresh run
    await began[2].wait()
    runs[2].set()
    assert await third == 3


async def test_a_failed_run_fails_its_callers_and_the_next_caller_runs_again() -> None:
    hub = Hub(Settings())
    calls = 0

    async def flaky() -> int:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise TimeoutError("pool timeout")
        return calls

    with pytest.raises(TimeoutError):
        await hub.fresh_once("end", flaky)
    assert await hub.fresh_once("end", flaky) == 2


async def test_a_cancelled_caller_leaves_the_others_their_answer() -> None:
    hub = Hub(Settings())
    gate = asyncio.Event()

    async def reading() -> str:
        await gate.wait()
        return "end"

    leaving, staying = (asyncio.create_task(hub.fresh_once("end", reading)) for _ in range(2))
    await asyncio.sleep(0)
    leaving.cancel()
    gate.set()
    assert await staying == "end"
    assert leaving.cancelled()


def _wake_ups(*messages: str) -> WakeUps:
    queue = WakeUps(maxsize=4)
    for message in messages:
        queue.put_nowait(Event(channel="user:1", message=message))
    return queue


def test_a_wake_up_is_read_with_all_those_queued_behind_it_and_names_its_streams() -> None:
    queue = _wake_ups('{"from":8,"to":8,"streams":["messages"]}', '{"from":9,"to":9,"streams":[]}')
    first = Event(channel="user:1", message='{"from":7,"to":7,"streams":["timeline_events","notifications"]}')
    messages = woken(queue, first)
    assert queue.empty() and messages is not None and [m["from"] for m in messages] == [7, 8, 9]
    assert [concerns(messages, s) for s in ("timeline_events", "notifications", "messages")] == [True] * 3
    assert concerns(messages[1:], "timeline_events") is False  # a message and a typing event: not the timeline's
    assert concerns(messages[2:], "messages") is False


def test_what_cannot_be_told_apart_is_read() -> None:
    resync = woken(_wake_ups(), Event(channel="user:1", message='{"resync":true}'))
    older_relay = woken(_wake_ups(), Event(channel="user:1", message='{"from":3,"to":4}'))
    garbled = woken(_wake_ups(), Event(channel="user:1", message="not json"))
    assert all(concerns(each, "messages") for each in (resync, older_relay, garbled))
    assert woken(_wake_ups(), None) is None  # the safety poll
    dropped = _wake_ups('{"from":1,"to":1,"streams":["messages"]}')
    dropped.overflowed = True  # a wake-up was dropped: it may have named any stream
    assert woken(dropped, Event(channel="user:1", message='{"from":2,"to":2,"streams":[]}')) is None
    assert dropped.empty() and not dropped.overflowed
    assert concerns(None, "timeline_events")
