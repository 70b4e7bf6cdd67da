"""The test clock is the deployment's, not one process's: its offset lives in the database (migration 0005).

Two app instances on one database, each with the clock `build_deps` makes (no injected clock). The separate OS
processes (two `sessions-gql serve` and a `sessions-gql worker`) are in tests/integration/test_shared_clock.py.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import httpx

from sessions_gql.app import create_app
from sessions_gql.clock import Clock, SharedClock
from sessions_gql.config import Settings
from sessions_gql.services import test_clock
from sessions_gql.services.deps import Deps
from tests.harness.app import Api, settings_for

ADVANCE = "mutation($minutes: Int!) { advanceTestClock(minutes: $minutes) }"
SERVER_TIME = "{ serverTime }"


@contextlib.asynccontextmanager
async def instance(settings: Settings) -> AsyncIterator[Api]:
    """One API instance as `sessions-gql serve` builds it (its own engines and clock)."""
    app = create_app(settings, migrate_on_start=False)
    deps: Deps = app.state.deps
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            yield Api(client, deps)
    finally:
        await deps.dispose()


async def server_time(api: Api) -> datetime:
    data: dict[str, Any] = await api.gql(SERVER_TIME)
    return datetime.fromisoformat(data["serverTime"])


async def test_a_move_on_one_instance_is_seen_by_another_at_its_next_request(database_url: str) -> None:
    settings = settings_for(database_url)
    async with instance(settings) as a, instance(settings) as b:
        assert isinstance(a.deps.clock, SharedClock) and a.deps.clock is not b.deps.clock
        admin = await a.admin()
        before = await server_time(b)
        moved = datetime.fromisoformat((await a.gql(ADVANCE, {"minutes": 30 * 24 * 60}, as_=admin))
                                       ["advanceTestClock"])
        assert moved - before >= timedelta(days=30)
        seen = await server_time(b)
        assert moved <= seen < moved + timedelta(minutes=1)
        # two admins moving at once, on different instances: both moves count (the row is added to atomically)
        await asyncio.gather(a.gql(ADVANCE, {"minutes": 60}, as_=admin), b.gql(ADVANCE, {"minutes": 60}, as_=admin))
        after = await server_time(a)
        assert moved + timedelta(hours=2) <= after < moved + timedelta(hours=2, minutes=1)
        assert await server_time(b) - after < timedelta(minutes=1)


async def test_processes_without_the_test_clock_never_read_the_offset(database_url: str) -> None:
    """Production (and any process with SESSIONS_GQL_TEST_CLOCK off) keeps real time and asks no database."""
    shifted = settings_for(database_url)
    async with instance(shifted) as a:
        await a.gql(ADVANCE, {"minutes": 24 * 60}, as_=await a.admin())
    async with instance(shifted.model_copy(update={"test_clock": False})) as plain:
        assert type(plain.deps.clock) is Clock
        assert abs(await server_time(plain) - plain.deps.clock.wall()) < timedelta(minutes=1)
        refused = await plain.post(ADVANCE, {"minutes": 5}, token=(await plain.admin()).token)
        assert refused["data"] is None
        assert [e["extensions"]["code"] for e in refused["errors"]] == ["FORBIDDEN"]
    clock = test_clock.clock_for(Settings(env="production", jwt_secret="s" * 40), writer=None)  # type: ignore[arg-type]
    assert type(clock) is Clock


async def test_a_read_that_began_before_the_processes_own_move_does_not_undo_it() -> None:
    class SlowStore:
        def __init__(self) -> None:
            self.offset = timedelta(0)
            self.reading = asyncio.Event()
            self.release = asyncio.Event()

        async def load(self) -> timedelta:
            seen = self.offset
            self.reading.set()
            await self.release.wait()
            return seen

        async def add(self, delta: timedelta) -> timedelta:
            self.offset += delta
            return self.offset

    store = SlowStore()
    clock = SharedClock(store)
    stale = asyncio.create_task(clock.refresh())
    await store.reading.wait()
    moved = await clock.move(timedelta(days=1))
    store.release.set()
    await stale
    assert clock.now() - moved < timedelta(seconds=5)
    assert clock.now() - clock.wall() > timedelta(hours=23)


class MemoryStore:
    def __init__(self) -> None:
        self.offset = timedelta(0)
        self.failing = False
        self.loads = 0

    async def load(self) -> timedelta:
        self.loads += 1
        if self.failing:
            raise ConnectionError("database away")
        return self.offset

    async def add(self, delta: timedelta) -> timedelta:
        self.offset += delta
        return self.offset


async def test_the_timer_picks_up_a_move_between_requests_and_a_failed_read_keeps_the_last_offset() -> None:
    """What runs outside requests (subscriptions, the relay) sees another process's move within refresh_seconds."""
    store = MemoryStore()
    clock = SharedClock(store, refresh_seconds=0.05)
    stop = asyncio.Event()
    timer = asyncio.create_task(clock.keep_fresh(stop))
    try:
        store.offset = timedelta(days=2)  # another process moved the clock
        deadline = asyncio.get_running_loop().time() + 10
        while clock.now() - clock.wall() < timedelta(days=1, hours=23):
            assert asyncio.get_running_loop().time() < deadline, "the timer never refreshed the clock"
            await asyncio.sleep(0.01)
        store.failing = True
        failed_before = store.loads
        while store.loads < failed_before + 2:  # two failed reads at least
            assert asyncio.get_running_loop().time() < deadline, "the timer stopped reading"
            await asyncio.sleep(0.01)
        assert clock.now() - clock.wall() > timedelta(days=1, hours=23)
    finally:
        stop.set()
        await asyncio.wait_for(timer, timeout=5)
    assert timer.done() and timer.exception() is None
