"""A real uvicorn server in the test's event loop, for websocket subscriptions over the network."""

from __future__ import annotations

import asyncio
import contextlib
import io
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from sessions_gql.app import create_app
from sessions_gql.cli import server_options
from sessions_gql.clock import FrozenClock
from sessions_gql.services.deps import Deps
from tests.harness.app import Api, settings_for
from tests.harness.fixtures import database_name, make_database
from tests.harness.servers import PostgresServer, RedisServer, free_port


@dataclass
class LiveServer:
    api: Api
    http_url: str
    ws_url: str
    deps: Deps
    app: Any

    async def settle(self) -> None:
        """Let the relay sequence and publish everything committed so far."""
        await self.app.state.realtime.relay.drain()


async def start_server(settings: Any, clock: FrozenClock, **options: Any
                       ) -> tuple[uvicorn.Server, asyncio.Task[None], Any, int]:
    """uvicorn with `sessions-gql serve`'s options, `options` overriding them."""
    app = create_app(settings, clock=clock, migrate_on_start=True)
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on",
                            ws_ping_interval=None, **{**server_options(settings), **options})
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    for _ in range(200):
        if server.started:
            break
        await asyncio.sleep(0.02)
    assert server.started, "uvicorn did not start"
    return server, task, app, port


STOP_SECONDS = 60.0
CLIENT_TIMEOUT_SECONDS = 60.0
KEEPALIVE = httpx.Limits(keepalive_expiry=2.0)
"""The client drops an idle connection well before uvicorn closes it (timeout_keep_alive, 5 s): with both at 5 s,
a request sent on a connection the server was just closing failed with httpx.ReadError (once, in a loaded CI run)."""
"""The live server's HTTP client gives up after this. Two full runs beside other suites on the two cores (load 4
to 5) each had one plain mutation wait past the earlier 20 s, in different tests (a chat read mark on SQLite, a
booking on PostgreSQL); a hung request still fails, later. Doubtful, noted for the next session."""
"""uvicorn cancels what is still running 10 s after it is told to exit; past this, something ignored its cancel."""


async def stop_server(server: uvicorn.Server, serving: asyncio.Task[None]) -> None:
    """Stop uvicorn, and fail with the stacks of the tasks still running if it does not stop: a task that
    swallowed its cancellation must show up as a failure naming it, never as a suite that hangs."""
    server.should_exit = True
    done, _ = await asyncio.wait({serving}, timeout=STOP_SECONDS)
    if done:
        return
    stuck = io.StringIO()
    for running in asyncio.all_tasks():
        if running is not asyncio.current_task():
            running.print_stack(limit=12, file=stuck)
    raise AssertionError(f"uvicorn did not stop within {STOP_SECONDS:.0f} s; tasks still running:\n"
                         + stuck.getvalue())


@pytest.fixture(params=["sqlite+memory", "postgresql+redis"])
async def live(request: pytest.FixtureRequest, tmp_path: Path, clock: FrozenClock) -> AsyncIterator[LiveServer]:
    """The app behind uvicorn: the embedded default (SQLite, in-memory pub/sub) and PostgreSQL with Redis."""
    if request.param == "sqlite+memory":
        template: Path = request.getfixturevalue("migrated_sqlite_template")
        shutil.copyfile(template, tmp_path / "db.sqlite3")
        settings = settings_for(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}", run_scheduler=False)
        drop = None
    else:
        pg: PostgresServer = request.getfixturevalue("pg_server")
        url = make_database(pg, template=request.getfixturevalue("migrated_pg_template"))
        settings = settings_for(url, redis_url=request.getfixturevalue("redis_server").url)
        drop = (pg, database_name(url))
    server, task, app, port = await start_server(settings, clock)
    base = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient(base_url=base, timeout=CLIENT_TIMEOUT_SECONDS, limits=KEEPALIVE) as client:
        yield LiveServer(api=Api(client, app.state.deps), http_url=f"{base}/graphql",
                         ws_url=f"ws://127.0.0.1:{port}/graphql", deps=app.state.deps, app=app)
    await stop_server(server, task)
    if drop is not None and drop[0].running:
        drop[0].drop_database(drop[1])


@contextlib.asynccontextmanager
async def own_pg_redis_server(pg: PostgresServer, redis: RedisServer, template: str, clock: FrozenClock
                              ) -> AsyncIterator[LiveServer]:
    """A live server of the test's own on PostgreSQL and the throwaway Redis, for tests that kill that Redis: it
    is restarted however the test ends, and the database dropped."""
    url = make_database(pg, template=template)
    server, serving, app, port = await start_server(settings_for(url, redis_url=redis.url), clock)
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base, timeout=CLIENT_TIMEOUT_SECONDS, limits=KEEPALIVE) as client:
            yield LiveServer(api=Api(client, app.state.deps), http_url=f"{base}/graphql",
                             ws_url=f"ws://127.0.0.1:{port}/graphql", deps=app.state.deps, app=app)
    finally:
        if not redis.running:
            redis.restart()
        await stop_server(server, serving)
        pg.drop_database(database_name(url))
