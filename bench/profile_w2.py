"""Profile the provider dashboard (W2's query) in-process with pyinstrument, on PostgreSQL, and count its SQL.

    .venv/bin/python -m bench.profile_w2 [--requests 500] [--sessions 10000] [--no-profile] [--gc default|tuned]
        [--read-path sql|off]

`--gc tuned` applies what `sessions-gql serve` does (cli.tune_gc); the default leaves Python's collector as is.
"""

from __future__ import annotations

import argparse
import asyncio
import time

import httpx
from pyinstrument import Profiler
from sqlalchemy import event

from bench import history
from bench.common import percentiles, seed_pairs, stack
from bench.w2_dashboard import OURS, PROVIDERS
from sessions_gql.app import create_app
from sessions_gql.cli import tune_gc
from sessions_gql.config import Settings


async def dashboards(settings: Settings, database_url: str, count: int, sessions: int, *, profile: bool = True,
                     gc_tuned: bool = False) -> None:
    pairs = await seed_pairs(settings, PROVIDERS)
    await history.grow(database_url, sessions)
    app = create_app(settings, migrate_on_start=False)
    if gc_tuned:
        tune_gc(settings)
    statements = 0
    durations: list[float] = []

    def counted(*_args: object) -> None:
        nonlocal statements
        statements += 1

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as client:
        async def dashboard(index: int) -> None:
            token = pairs[index % len(pairs)].provider_token
            body = (await client.post("/graphql", json={"query": OURS},
                                      headers={"Authorization": f"Bearer {token}"})).json()
            assert "errors" not in body, body

        for index in range(len(pairs)):  # warm: viewers cached, statements prepared
            await dashboard(index)
        engine = app.state.deps.engine.sync_engine
        event.listen(engine, "before_cursor_execute", counted)
        profiler = Profiler(async_mode="enabled")
        started = time.perf_counter()
        if profile:
            profiler.start()
        for index in range(count):
            began = time.perf_counter()
            await dashboard(index)
            durations.append(time.perf_counter() - began)
        if profile:
            profiler.stop()
        elapsed = time.perf_counter() - started
        event.remove(engine, "before_cursor_execute", counted)
    await app.state.deps.dispose()
    if profile:
        print(profiler.output_text(unicode=False, color=False, show_all=False))
    print(f"{count} dashboards in {elapsed:.2f} s: {elapsed / count * 1000:.2f} ms each, "
          f"{statements / count:.1f} SQL statements each; per request {percentiles(durations)}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--sessions", type=int, default=10_000)
    parser.add_argument("--no-profile", action="store_true", help="only time the requests and count their SQL")
    parser.add_argument("--gc", choices=["default", "tuned"], default="default")
    parser.add_argument("--read-path", choices=["sql", "off"], default="sql")
    args = parser.parse_args()
    with stack() as s:
        settings = s.settings().model_copy(update={"read_path": args.read_path})
        asyncio.run(dashboards(settings, s.database_url, args.requests, args.sessions,
                               profile=not args.no_profile, gc_tuned=args.gc == "tuned"))


if __name__ == "__main__":
    main()
