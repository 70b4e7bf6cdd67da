"""The test clock across real OS processes: two `sessions-gql serve` instances and a `sessions-gql worker` on one
throwaway PostgreSQL database. A move made through instance A is seen by instance B and by the worker, which runs
jobs due only in the moved world (a member reminder, a request's expiry) at the moved time; a token minted by
`sessions-gql token` after the move works (tokens live in real time)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from sessions_gql.app import build_deps
from tests.api.lifecycle_helpers import CONFIRM, REQUEST, world
from tests.harness.app import TEST_SECRET, Api, Person, settings_for
from tests.harness.fixtures import database_name, make_database
from tests.harness.servers import PostgresServer, free_port

ADVANCE = "mutation($minutes: Int!) { advanceTestClock(minutes: $minutes) }"
SLOTS = """query($p: ID!, $s: ID!, $from: DateTime!, $to: DateTime!) {
  availableSlots(providerId: $p, serviceId: $s, from: $from, to: $to) { startsAt } }"""
TIMELINE = """query($id: ID!) { session(id: $id) { timeline(first: 50) { edges { node { type at } } } } }"""
VIEWER = "{ viewer { user { id role } } }"
EVERY_DAY = [{"weekday": day, "start": "00:00", "end": "23:30"}
             for day in ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY")]
SET_AVAILABILITY = "mutation($input: SetAvailabilityInput!) { setAvailability(input: $input) { __typename } }"
T = TypeVar("T")


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "sessions_gql.cli", *args]


def environment(url: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items()
           if not key.startswith("SESSIONS_GQL_") and key not in ("DATABASE_URL", "REDIS_URL")}
    env.update({"DATABASE_URL": url, "SESSIONS_GQL_JWT_SECRET": TEST_SECRET, "SESSIONS_GQL_TEST_CLOCK": "1",
                "SESSIONS_GQL_LOG_FORMAT": "text", "SESSIONS_GQL_TEST_CLOCK_REFRESH_SECONDS": "0.5"})
    return env


@contextlib.contextmanager
def processes(logs: Path, *commands: tuple[dict[str, str], list[str]]) -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    try:
        for number, (env, argv) in enumerate(commands):
            log = open(logs / f"process-{number}.log", "wb")  # noqa: SIM115 - closed with the process below
            started.append(subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, start_new_session=True))
            log.close()
        yield started
    finally:
        for proc in started:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
        for proc in started:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


async def eventually(check: Callable[[], Awaitable[T | None]], *, what: str, within: float = 60.0) -> T:
    """Poll `check` until it returns something, or fail after `within` seconds."""
    deadline = time.monotonic() + within
    while True:
        found = await check()
        if found is not None:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within:.0f}s waiting for {what}")
        await asyncio.sleep(0.1)


@pytest.fixture
def pg_database(pg_server: PostgresServer, migrated_pg_template: str) -> Iterator[str]:
    url = make_database(pg_server, template=migrated_pg_template)
    yield url
    if pg_server.running:
        pg_server.drop_database(database_name(url))


@contextlib.asynccontextmanager
async def client(port: int) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
        yield http


async def server_time(api: Api) -> datetime:
    return datetime.fromisoformat((await api.gql("{ serverTime }"))["serverTime"])


async def test_two_api_processes_and_a_worker_share_the_test_clock(pg_database: str, tmp_path: Path) -> None:
    env = environment(pg_database)
    port_a, port_b = free_port(), free_port()
    serve = [(env, command("serve", "--port", str(port_a))),
             ({**env, "SESSIONS_GQL_REQUEST_TTL_MINUTES": "0"}, command("serve", "--port", str(port_b))),
             (env, command("worker", "--interval", "0.2"))]
    with processes(tmp_path, *serve) as procs:
        async with client(port_a) as http_a, client(port_b) as http_b:
            for http in (http_a, http_b):
                async def ready(http: httpx.AsyncClient = http) -> bool | None:
                    assert all(p.poll() is None for p in procs), "a process exited; see its log in " + str(tmp_path)
                    with contextlib.suppress(httpx.TransportError):
                        return (await http.get("/healthz")).status_code == 200 or None
                    return None

                await eventually(ready, what="the API processes to answer /healthz")
            deps = build_deps(settings_for(pg_database))  # the test's own access to the database (people)
            try:
                await scenario(Api(http_a, deps), Api(http_b, deps), env, procs)
            finally:
                await deps.dispose()


async def scenario(a: Api, b: Api, env: dict[str, str], procs: list[subprocess.Popen[bytes]]) -> None:
    admin = await a.admin()
    w = await world(a, credits=200)
    await a.gql(SET_AVAILABILITY, {"input": {"timeZone": "UTC", "weeklyRules": EVERY_DAY}}, as_=w.provider)
    before = await server_time(b)
    assert abs(before - a.deps.clock.wall()) < timedelta(minutes=1)  # B starts in real time

    moved = datetime.fromisoformat((await a.gql(ADVANCE, {"minutes": 30 * 24 * 60}, as_=admin))["advanceTestClock"])
    assert moved - before >= timedelta(days=30)
    seen = await server_time(b)  # B's next request reads the shared offset
    assert moved <= seen < moved + timedelta(minutes=1)

    # a token minted a second ago by `sessions-gql token` works on B, 30 days into the test clock
    run = subprocess.run
    minted = (await asyncio.to_thread(run, command("token", "--email", "root@admin.test"), env=env,
                                      capture_output=True, text=True, timeout=120, check=True)).stdout.strip()
    cli_admin = Person(viewer=admin.viewer, token=minted)
    assert await b.gql(VIEWER, as_=cli_admin) == {"viewer": {"user": {"id": admin.gid, "role": "ADMIN"}}}

    # two sessions booked in the moved world, where their jobs are due at once (and 30 days ahead in real time):
    # one confirmed, whose member reminder is due since it starts within 24 h, and one requested on B, which
    # answers requests with a TTL of 0, so that its expiry is due as soon as it is made
    slots = await free_slots(b, w.provider.gid, w.service_id, w.member, after=seen)
    reminded_id = await request(a, w.provider.gid, w.service_id, w.member, slots[0])
    confirmed = await w.run(CONFIRM, {"sessionId": reminded_id}, w.provider)
    assert confirmed["session"]["status"] == "CONFIRMED", confirmed
    later = next(slot for slot in slots if slot >= slots[0] + timedelta(hours=2))
    expiring_id = await request(b, w.provider.gid, w.service_id, w.member, later)

    def first_event(session_id: str, kind: str) -> Callable[[], Awaitable[datetime | None]]:
        async def check() -> datetime | None:
            assert all(p.poll() is None for p in procs), "a process exited"
            edges = (await b.gql(TIMELINE, {"id": session_id}, as_=w.member))["session"]["timeline"]["edges"]
            found = [datetime.fromisoformat(e["node"]["at"]) for e in edges if e["node"]["type"] == kind]
            return found[0] if found else None

        return check

    reminder_at = await eventually(first_event(reminded_id, "REMINDER_SENT"), what="the worker's reminder")
    expired_at = await eventually(first_event(expiring_id, "EXPIRED"), what="the worker's expiry of the request")
    for at in (reminder_at, expired_at):  # run at the moved time, 30 days ahead of real time
        assert seen <= at < seen + timedelta(minutes=5)
        assert at - a.deps.clock.wall() > timedelta(days=29)
    state = await b.gql("query($id: ID!) { session(id: $id) { status } }", {"id": expiring_id}, as_=w.member)
    assert state == {"session": {"status": "EXPIRED"}}


async def free_slots(api: Api, provider_id: str, service_id: str, member: Person, *, after: datetime
                     ) -> list[datetime]:
    window = {"p": provider_id, "s": service_id, "from": (after + timedelta(hours=3)).isoformat(),
              "to": (after + timedelta(hours=20)).isoformat()}
    slots: list[dict[str, Any]] = (await api.gql(SLOTS, window, as_=member))["availableSlots"]
    assert slots, window
    return [datetime.fromisoformat(slot["startsAt"]) for slot in slots]


async def request(api: Api, provider_id: str, service_id: str, member: Person, starts_at: datetime) -> str:
    data = await api.gql(REQUEST, {"input": {"providerId": provider_id, "serviceId": service_id, "modality": "VIDEO",
                                             "startsAt": starts_at.isoformat()}}, as_=member)
    result = data["requestSession"]
    assert result["__typename"] == "SessionSuccess", result
    return str(result["session"]["id"])
