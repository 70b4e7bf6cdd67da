"""Rate limits: per viewer, per anonymous address, on subscription starts; in memory and shared through Redis."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from sessions_gql.app import create_app
from sessions_gql.clock import FrozenClock
from sessions_gql.config import Settings
from sessions_gql.ratelimit import MemoryStore, Rate, RateLimiter
from sessions_gql.services.deps import Deps
from tests.harness.app import START, Api, Person, settings_for
from tests.harness.live import start_server, stop_server
from tests.harness.servers import RedisServer, free_port

PING = "{ serverTime }"
LIMITS = {"rate_limit_per_minute": 5, "rate_limit_anonymous_per_minute": 3, "rate_limit_subscriptions_per_minute": 2}


class FakeTime:
    """The limiter's clock: seconds, moved by the test."""

    def __init__(self, at: float = 1_800_000_000.0) -> None:
        self.at = at

    def __call__(self) -> float:
        return self.at

    def advance(self, seconds: float) -> None:
        self.at += seconds


class Instance:
    """One app instance; `client(address)` talks to it from that peer address."""

    def __init__(self, settings: Settings, time: FakeTime) -> None:
        self.app = create_app(settings, clock=FrozenClock(START), migrate_on_start=False, rate_time=time)
        self.deps: Deps = self.app.state.deps
        self._clients: dict[str, httpx.AsyncClient] = {}

    def client(self, address: str = "127.0.0.1") -> httpx.AsyncClient:
        if address not in self._clients:
            transport = httpx.ASGITransport(app=self.app, client=(address, 40000))
            self._clients[address] = httpx.AsyncClient(transport=transport, base_url="http://test")
        return self._clients[address]

    async def ping(self, token: str | None = None, address: str = "127.0.0.1",
                   headers: dict[str, str] | None = None) -> httpx.Response:
        sent = {**(headers or {}), **({"Authorization": f"Bearer {token}"} if token else {})}
        return await self.client(address).post("/graphql", json={"query": PING}, headers=sent)

    async def close(self) -> None:
        for client in self._clients.values():
            await client.aclose()
        await self.app.state.limiter.close()
        await self.deps.dispose()


@contextlib.asynccontextmanager
async def instances(tmp_path: Path, template: Path, count: int = 1, **overrides: Any
                    ) -> AsyncIterator[tuple[list[Instance], FakeTime]]:
    await asyncio.to_thread(tmp_path.mkdir, parents=True, exist_ok=True)
    shutil.copyfile(template, tmp_path / "db.sqlite3")
    settings = settings_for(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}", **{**LIMITS, **overrides})
    time = FakeTime()
    made = [Instance(settings, time) for _ in range(count)]
    try:
        yield made, time
    finally:
        for instance in made:
            await instance.close()


@pytest.fixture
async def one(tmp_path: Path, migrated_sqlite_template: Path) -> AsyncIterator[tuple[Instance, FakeTime]]:
    async with instances(tmp_path, migrated_sqlite_template) as (made, time):
        yield made[0], time


async def member(instance: Instance, name: str) -> Person:
    return await Api(instance.client("10.9.9.9"), instance.deps).member(name)


def refused(response: httpx.Response, retry_after: int) -> None:
    assert response.status_code == 429
    assert response.headers["retry-after"] == str(retry_after)
    (error,) = response.json()["errors"]
    assert error["extensions"] == {"code": "RATE_LIMITED", "retryAfter": retry_after}


async def test_a_viewer_gets_exactly_the_limit_then_429_until_the_window_refills(
        one: tuple[Instance, FakeTime]) -> None:
    app, time = one
    mia = await member(app, "Mia")
    assert [(await app.ping(mia.token)).status_code for _ in range(5)] == [200] * 5
    sixth = await app.ping(mia.token)
    refused(sixth, 12)  # 5 a minute: one comes back every 12 s
    assert sixth.json()["errors"][0]["message"] == "rate limit: at most 5 requests per minute per user; retry in 12 s"
    time.advance(11)
    refused(await app.ping(mia.token), 1)
    time.advance(1)
    assert (await app.ping(mia.token)).status_code == 200
    refused(await app.ping(mia.token), 12)
    time.advance(60)  # a whole window later the bucket is full again
    assert [(await app.ping(mia.token)).status_code for _ in range(6)] == [200] * 5 + [429]


async def test_one_viewers_limit_does_not_touch_another_or_the_address(one: tuple[Instance, FakeTime]) -> None:
    app, _time = one
    mia, noah = await member(app, "Mia"), await member(app, "Noah")
    for _ in range(5):
        assert (await app.ping(mia.token)).status_code == 200
    refused(await app.ping(mia.token), 12)
    assert [(await app.ping(noah.token)).status_code for _ in range(5)] == [200] * 5
    assert [(await app.ping()).status_code for _ in range(3)] == [200] * 3  # same address, no token


async def test_anonymous_requests_are_limited_per_address(one: tuple[Instance, FakeTime]) -> None:
    app, time = one
    assert [(await app.ping(address="192.0.2.1")).status_code for _ in range(3)] == [200] * 3
    fourth = await app.ping(address="192.0.2.1")
    refused(fourth, 20)
    assert fourth.json()["errors"][0]["message"] == (
        "rate limit: at most 3 requests per minute per address without a token; retry in 20 s")
    bad_token = await app.ping("not-a-token", address="192.0.2.1")  # a bad token counts as anonymous
    refused(bad_token, 20)
    assert [(await app.ping(address="192.0.2.2")).status_code for _ in range(3)] == [200] * 3
    mia = await member(app, "Mia")
    assert (await app.ping(mia.token, address="192.0.2.1")).status_code == 200
    time.advance(20)
    assert (await app.ping(address="192.0.2.1")).status_code == 200


async def test_a_refused_request_runs_nothing(one: tuple[Instance, FakeTime]) -> None:
    app, _time = one
    admin = await Api(app.client("10.9.9.9"), app.deps).admin()
    clock_before = app.deps.clock.now()
    advance = {"query": "mutation { advanceTestClock(minutes: 5) }"}
    headers = {"Authorization": f"Bearer {admin.token}"}
    for _ in range(5):
        assert (await app.ping(admin.token)).status_code == 200
    response = await app.client().post("/graphql", json=advance, headers=headers)
    refused(response, 12)
    assert app.deps.clock.now() == clock_before


async def test_x_forwarded_for_is_believed_only_from_a_trusted_proxy(tmp_path: Path,
                                                                     migrated_sqlite_template: Path) -> None:
    async with instances(tmp_path / "a", migrated_sqlite_template) as ((app,), _time):
        for index in range(3):  # untrusted peer: its X-Forwarded-For is ignored, so all share its limit
            assert (await app.ping(headers={"X-Forwarded-For": f"198.51.100.{index}"})).status_code == 200
        refused(await app.ping(headers={"X-Forwarded-For": "198.51.100.9"}), 20)
    async with instances(tmp_path / "b", migrated_sqlite_template, trusted_proxies="127.0.0.1, 10.0.0.0/8"
                         ) as ((app,), _time):
        for _ in range(3):  # behind two trusted proxies; the client's own spoofed entries on the left don't count
            forwarded = {"X-Forwarded-For": f"6.6.6.{_}, 198.51.100.7, 10.1.2.3"}
            assert (await app.ping(headers=forwarded)).status_code == 200
        refused(await app.ping(headers={"X-Forwarded-For": "198.51.100.7"}), 20)
        assert (await app.ping(headers={"X-Forwarded-For": "198.51.100.8"})).status_code == 200


def test_the_client_address_from_the_scope() -> None:
    limiter = RateLimiter(Settings(trusted_proxies="10.0.0.1"))
    scope = {"client": ("2001:db8:1:2:3:4:5:6", 1), "headers": []}
    assert limiter.client_address(scope) == "2001:db8:1:2::/64"
    assert limiter.client_address({"client": ("::ffff:192.0.2.5", 1), "headers": []}) == "192.0.2.5"
    assert limiter.client_address({"client": None, "headers": []}) == "unknown"
    forwarded = {"client": ("10.0.0.1", 1), "headers": [(b"x-forwarded-for", b"garbage, 192.0.2.8")]}
    assert limiter.client_address(forwarded) == "192.0.2.8"
    all_garbage = {"client": ("10.0.0.1", 1), "headers": [(b"x-forwarded-for", b"garbage")]}
    assert limiter.client_address(all_garbage) == "10.0.0.1"
    with pytest.raises(ValueError, match=r"'10\.0\.0\.300' is not an address or network"):
        Settings(trusted_proxies="10.0.0.1,10.0.0.300")


async def test_the_in_memory_limiter_keeps_a_bounded_number_of_keys() -> None:
    store = MemoryStore(max_keys=100)
    rate = Rate(10)  # one per 6 s
    for index in range(1000):
        assert await store.hit(f"k{index}", rate, now=index * 1_000) == 0  # 1 ms apart: all still active
        assert len(store) <= 100
    assert len(store) == 100
    # keys whose bucket is full again go first: 60 s later every one of them is, so they all go
    assert await store.hit("late", rate, now=61_000_000) == 0
    assert len(store) == 1
    for index in range(99):
        await store.hit(f"again{index}", rate, now=61_000_000)
    # all 100 active: the least recently hit tenth makes room
    assert await store.hit("one-more", rate, now=61_000_000) == 0
    assert len(store) == 91
    assert "late" not in store._tat and "again8" not in store._tat and "again9" in store._tat


async def test_disabled_limits_allow_everything(tmp_path: Path, migrated_sqlite_template: Path) -> None:
    async with instances(tmp_path, migrated_sqlite_template, rate_limit=False) as ((app,), _time):
        assert [(await app.ping()).status_code for _ in range(10)] == [200] * 10


@pytest.mark.redis
async def test_two_instances_share_the_limit_through_redis(tmp_path: Path, migrated_sqlite_template: Path,
                                                           redis_server: RedisServer) -> None:
    async with instances(tmp_path, migrated_sqlite_template, count=2, redis_url=redis_server.url
                         ) as ((first, second), time):
        mia = await member(first, "Mia")
        assert [(await first.ping(mia.token)).status_code for _ in range(3)] == [200] * 3
        assert [(await second.ping(mia.token)).status_code for _ in range(2)] == [200] * 2
        refused(await first.ping(mia.token), 12)
        refused(await second.ping(mia.token), 12)
        noah = await member(second, "Noah")
        assert (await first.ping(noah.token)).status_code == 200
        address = f"203.0.113.{free_port() % 250}"  # the redis-server outlives this test: a fresh address
        assert [(await (first, second)[i % 2].ping(address=address)).status_code for i in range(4)] == [
            200, 200, 200, 429]
        time.advance(12)
        assert (await second.ping(mia.token)).status_code == 200
        refused(await first.ping(mia.token), 12)
        time.advance(60)
        assert [(await (first, second)[i % 2].ping(mia.token)).status_code for i in range(6)] == [200] * 5 + [429]
        samples = (await first.client().get("/metrics")).text
        assert 'rate_limited_total{kind="request"} 2.0' in samples  # the refusals this instance answered


@pytest.mark.redis
async def test_concurrent_hits_on_two_instances_take_exactly_the_limit(tmp_path: Path, migrated_sqlite_template: Path,
                                                                      redis_server: RedisServer) -> None:
    async with instances(tmp_path, migrated_sqlite_template, count=2, redis_url=redis_server.url
                         ) as ((first, second), _time):
        mia = await member(first, "Mia")
        answers = await asyncio.gather(*((first, second)[i % 2].ping(mia.token) for i in range(20)))
        assert sorted(response.status_code for response in answers) == [200] * 5 + [429] * 15


async def test_an_unreachable_redis_allows_requests_logged_and_counted(
        tmp_path: Path, migrated_sqlite_template: Path, caplog: pytest.LogCaptureFixture) -> None:
    dead = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    async with instances(tmp_path, migrated_sqlite_template, redis_url=dead) as ((app,), time):
        with caplog.at_level(logging.WARNING, logger="sessions_gql.ratelimit"):
            statuses = []
            for _ in range(5):
                statuses.append((await app.ping()).status_code)
                time.advance(0.5)  # past the 1 s back-off every other request, so Redis is tried again
        assert statuses == [200] * 5  # over the anonymous limit of 3, but nothing to count with
        warnings = [r.getMessage() for r in caplog.records if r.name == "sessions_gql.ratelimit"]
        assert warnings == ["rate limit: Redis unreachable (ConnectionError); allowing requests unlimited meanwhile"]
        samples = (await app.client().get("/metrics")).text
        assert "rate_limit_backend_errors_total 5.0" in samples


SUBSCRIBE = "subscription { notificationAdded { id } }"


@pytest.mark.parametrize("protocol", ["graphql-transport-ws", "graphql-ws"])
async def test_subscription_starts_are_limited_with_an_error_frame(
        tmp_path: Path, migrated_sqlite_template: Path, protocol: str) -> None:
    shutil.copyfile(migrated_sqlite_template, tmp_path / "db.sqlite3")
    settings = settings_for(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}", run_scheduler=False, **LIMITS)
    server, task, app, port = await start_server(settings, FrozenClock(START))
    time = FakeTime()
    app.state.limiter.now = time
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            mia = await Api(client, app.state.deps).member("Mia")
        async with websockets.connect(f"ws://127.0.0.1:{port}/graphql", subprotocols=[protocol]) as ws:
            await ws.send(json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {mia.token}"}}))
            assert json.loads(await ws.recv())["type"] == "connection_ack"
            start = "subscribe" if protocol == "graphql-transport-ws" else "start"
            for ident in ("1", "2", "3"):
                await ws.send(json.dumps({"id": ident, "type": start, "payload": {"query": SUBSCRIBE}}))
            frame = await next_frame(ws)
            message = "rate limit: at most 2 subscription starts per minute; retry in 30 s"
            error = {"message": message, "extensions": {"code": "RATE_LIMITED", "retryAfter": 30}}
            assert frame == {"id": "3", "type": "error", "payload": [error] if start == "subscribe" else error}
            await wait_for(lambda: app.state.deps.hub.subscriber_count == 2)  # the first two do run
            time.advance(30)
            await ws.send(json.dumps({"id": "4", "type": start, "payload": {"query": SUBSCRIBE}}))
            await wait_for(lambda: app.state.deps.hub.subscriber_count == 3)
    finally:
        await stop_server(server, task)


async def next_frame(ws: Any) -> dict[str, Any]:
    """The next frame that is not a keep-alive."""
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), timeout=20))
        if frame.get("type") not in ("ka", "ping", "pong"):
            return frame  # type: ignore[no-any-return]


async def wait_for(condition: Any) -> None:
    """Poll a condition (the hub's subscriber count has no event to wait on), for at most 20 s."""
    for _ in range(1000):
        if condition():
            return
        await asyncio.sleep(0.02)
    assert condition()


async def test_the_default_limits() -> None:
    """600 requests a minute per user (the 1,500 in 8 s once all served are refused after the 600th), 300 per
    anonymous address, 60 subscription starts."""
    limiter = RateLimiter(Settings(), now=FakeTime())
    scope = {"client": ("192.0.2.1", 1), "headers": []}
    assert [await limiter.request("u1", scope) for _ in range(600)] == [None] * 600
    assert await limiter.request("u1", scope) is not None
    assert [await limiter.request(None, scope) for _ in range(300)] == [None] * 300
    assert (await limiter.request(None, scope)) is not None
    assert [await limiter.subscription("u1", scope) for _ in range(60)] == [None] * 60
    refusal = await limiter.subscription("u1", scope)
    assert refusal is not None and refusal.retry_after == 1
