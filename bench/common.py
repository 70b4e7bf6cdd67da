"""Shared pieces of the benchmarks: throwaway servers, API processes, a seeded world, and statistics.

Run from the repository root, e.g. `.venv/bin/python -m bench.w1_bookings`. Everything runs on loopback.
"""

from __future__ import annotations

import asyncio
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import time as wall
from typing import Any

import httpx
from sqlalchemy import text
from tests.harness.servers import PostgresServer, RedisServer, free_port

from sessions_gql.api import ids
from sessions_gql.app import build_deps
from sessions_gql.auth.context import load_viewer
from sessions_gql.auth.tokens import issue_token
from sessions_gql.auth.viewer import Viewer
from sessions_gql.config import Settings
from sessions_gql.db.migrate import migrate
from sessions_gql.domain.enums import Modality, Role, Weekday
from sessions_gql.services.deps import Deps
from sessions_gql.services.people import availability, catalog, people, wallet

SECRET = "bench-secret-not-for-production-use-only"
PIDS: dict[str, int] = {}
"""The process id behind each API base URL that `api_processes` started."""


@dataclass
class Stack:
    pg: PostgresServer
    redis: RedisServer
    database_url: str

    def settings(self) -> Settings:
        return Settings(database_url=self.database_url, redis_url=self.redis.url, jwt_secret=SECRET,
                        token_ttl_minutes=60 * 24, run_scheduler=False, db_pool_size=20,
                        rate_limit=False)  # a benchmark client sends far more than a person


@contextmanager
def stack(**pg_settings: str) -> Iterator[Stack]:
    """A throwaway PostgreSQL and Redis; `pg_settings` are more PostgreSQL settings, e.g.
    track_commit_timestamp="on"."""
    pg, redis = PostgresServer(settings=pg_settings).start(), RedisServer().start()
    try:
        yield Stack(pg=pg, redis=redis, database_url=pg.create_database("bench"))
    finally:
        redis.stop()
        pg.stop()


def pgbench_tps(stack: Stack, *, clients: int = 8, seconds: float = 10) -> dict[str, Any]:
    """pgbench's TPC-B (its default script) on the stack's PostgreSQL, in a database of its own scaled to the
    clients (pgbench's advice: at scale 1 every transaction updates the one branch row, and they queue on it):
    transactions per second at `clients`, the yardstick W1 is divided by."""
    pg = stack.pg
    pg.drop_database("pgbench")  # a run before this one (pgbench -i would also start its tables afresh)
    pg.create_database("pgbench")
    tool = str(pg.bin_dir / "pgbench")  # type: ignore[operator]
    where = ["-h", pg.host, "-p", str(pg.port), "-U", pg.superuser]
    subprocess.run([tool, "-i", "-s", str(clients), "-q", *where, "pgbench"], check=True, capture_output=True)
    run = subprocess.run([tool, "-n", "-c", str(clients), "-j", str(min(clients, os.cpu_count() or 1)), "-T",
                          str(round(seconds)), *where, "pgbench"], check=True, capture_output=True, text=True)
    tps = next(float(line.split("=")[1].split()[0]) for line in run.stdout.splitlines()
               if line.startswith("tps = "))
    return {"clients": clients, "scale": clients, "seconds": round(seconds), "tps": tps}


@contextmanager
def api_processes(stack: Stack, count: int, log: str | None = None, **settings: str) -> Iterator[list[str]]:
    """`count` uvicorn processes of the API on one database and Redis; yields their base URLs. `settings` are
    more SESSIONS_GQL_ variables, e.g. read_path="off"; `log`, a file their output is appended to (else it is
    dropped)."""
    env = {**os.environ, "DATABASE_URL": stack.database_url, "REDIS_URL": stack.redis.url,
           "SESSIONS_GQL_JWT_SECRET": SECRET, "SESSIONS_GQL_RUN_SCHEDULER": "0", "SESSIONS_GQL_DB_POOL_SIZE": "20",
           "SESSIONS_GQL_MESSAGES_PER_MINUTE": "100000", "SESSIONS_GQL_RATE_LIMIT": "0",
           **{f"SESSIONS_GQL_{name.upper()}": value for name, value in settings.items()}}
    ports = [free_port() for _ in range(count)]
    with open(log, "ab") if log else nullcontext(subprocess.DEVNULL) as output:  # the children keep their copy
        procs = [subprocess.Popen([sys.executable, "-m", "sessions_gql.cli", "serve", "--port", str(port)],
                                  env=env, stdout=output, stderr=output) for port in ports]
    try:
        for port in ports:
            _wait_ready(port)
        bases = [f"http://127.0.0.1:{port}" for port in ports]
        PIDS.update({base: proc.pid for base, proc in zip(bases, procs, strict=True)})
        yield bases
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                print(f"API process {proc.pid} ignored SIGTERM for 20 s; killed", file=sys.stderr)
                proc.kill()
                proc.wait()


def _wait_ready(port: int) -> None:
    for _ in range(300):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"API on port {port} never became ready")


@dataclass
class Pair:
    admin_token: str
    member_token: str
    provider_token: str
    member_id: str
    provider_id: str
    service_id: str


async def seed_pairs(settings: Settings, count: int, *, credits: int = 100_000, concurrency: int = 1) -> list[Pair]:
    """`count` providers free around the clock, each with a 60-minute service, and a member with credits;
    `concurrency` pairs are written at a time (thousands of pairs one by one take minutes)."""
    deps = build_deps(settings)
    await migrate(deps.engine)
    admin_id = await people.ensure_admin(deps, email="bench-admin@bench.test")
    admin = Viewer(user_id=admin_id, role=Role.ADMIN, time_zone="UTC")
    token = issue_token(deps.settings, user_id=admin_id, role="ADMIN", now=deps.clock.now())
    gate = asyncio.Semaphore(concurrency)

    async def one(index: int) -> Pair:
        async with gate:
            return await _pair(deps, admin, token, index, credits)

    pairs = list(await asyncio.gather(*(one(index) for index in range(count))))
    await deps.dispose()
    return pairs


async def _pair(deps: Deps, admin: Viewer, admin_token: str, index: int, credits: int) -> Pair:
    provider_id = await people.create_provider(deps, viewer=admin, command=people.NewProvider(
        email=f"provider{index}@bench.test", display_name=f"Provider {index}", time_zone="UTC"))
    service_id = await catalog.save_service(deps, viewer=admin, draft=catalog.ServiceDraft(
        name="Session", skills=["General"], duration_minutes=60, price_credits=10, fee="40.00", currency="USD",
        modalities=[Modality.PHONE], free_initial_consultation=False, provider_id=provider_id))
    await availability.set_availability(deps, viewer=admin, draft=availability.AvailabilityDraft(
        time_zone="UTC", weekly_rules=[(day, wall(0), wall(0)) for day in Weekday], minimum_notice_minutes=0,
        horizon_days=365, provider_id=provider_id))
    member_id = await people.create_member(deps, viewer=admin, command=people.NewMember(
        email=f"member{index}@bench.test", display_name=f"Member {index}", time_zone="UTC"))
    await wallet.grant_credits(deps, viewer=admin, command=wallet.GrantCredits(member_id=member_id, credits=credits))
    now = deps.clock.now()
    member = await load_viewer(deps, await _user(deps, "members", member_id))
    provider = await load_viewer(deps, await _user(deps, "providers", provider_id))
    assert member is not None and provider is not None
    member_token = issue_token(deps.settings, user_id=member.user_id, role="MEMBER", now=now)
    return Pair(admin_token=admin_token, member_token=member_token,
                provider_token=issue_token(deps.settings, user_id=provider.user_id, role="PROVIDER", now=now),
                member_id=ids.encode("Member", member_id), provider_id=ids.encode("Provider", provider_id),
                service_id=ids.encode("Service", service_id))


async def _user(deps: Deps, table: str, row_id: Any) -> Any:
    async with deps.sessions() as db:
        return (await db.execute(text(f"SELECT user_id FROM {table} WHERE id = :id"), {"id": row_id})).scalar_one()


@dataclass
class Latencies:
    samples: dict[str, list[float]] = field(default_factory=dict)

    def add(self, name: str, seconds: float) -> None:
        self.samples.setdefault(name, []).append(seconds)

    def summary(self) -> dict[str, dict[str, float]]:
        return {name: percentiles(values) for name, values in sorted(self.samples.items())}


def percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    if not ordered:
        return {"n": 0}
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000  # noqa: E731
    return {"n": len(ordered), "p50_ms": round(statistics.median(ordered) * 1000, 2), "p99_ms": round(pick(0.99), 2),
            "max_ms": round(ordered[-1] * 1000, 2)}


def future_slot(index: int, cycle: int) -> str:
    """A distinct hour per pair and cycle, well ahead of now."""
    base = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=3)
    return (base + timedelta(hours=cycle)).isoformat()


def raise_fd_limit() -> None:
    """As many open files as the hard limit allows, up to 65,536 (one per websocket; children inherit it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 65536)), hard))


def rss_and_cpu(pid: int) -> tuple[int, float]:
    """A process's resident memory in bytes and its CPU seconds (user + system) so far, from /proc."""
    with open(f"/proc/{pid}/status") as handle:
        status = handle.read()
    rss_kb = int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS")))
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])
    return rss_kb * 1024, ticks / os.sysconf("SC_CLK_TCK")


def tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) of a process and its living children so far, from /proc: PostgreSQL's
    postmaster and its backends (a backend that exited takes its figure with it)."""
    total = 0.0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        if int(entry) == pid or int(fields[1]) == pid:
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def run(coro: Any) -> Any:
    return asyncio.run(coro)
