"""`Hub.fresh_once`: streams starting together share one reading of the stream's end, and none is given a
reading that began before it asked (it could then be handed a row that committed before it subscribed)."""

from __future__ import annotations

import asyncio

import pytest

from sessions_gql.config import Settings
from sessions_gql.realtime.hub import Hub


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
