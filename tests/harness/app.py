"""Application fixtures: the ASGI app on either backend, a GraphQL client, and people to act as."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import event

from sessions_gql.api import ids
from sessions_gql.app import create_app
from sessions_gql.auth.context import load_viewer
from sessions_gql.auth.tokens import issue_token
from sessions_gql.auth.viewer import Viewer
from sessions_gql.clock import FrozenClock
from sessions_gql.config import Settings
from sessions_gql.db import models as m
from sessions_gql.db.engine import create_engine
from sessions_gql.db.migrate import migrate
from sessions_gql.domain.enums import Role
from sessions_gql.services.deps import Deps
from sessions_gql.services.people import people, wallet
from tests.harness.fixtures import database_name, make_database
from tests.harness.servers import PostgresServer

TEST_SECRET = "test-secret-not-for-production-use-only"
START = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)  # a Monday, 08:00 UTC
MIGRATED_TEMPLATE = "migrated_template"


def settings_for(database_url: str, **overrides: Any) -> Settings:
    # tests move the clock by days; on a CI machine shared with other jobs a Redis round trip can take seconds,
    # and a limiter that gives up on Redis would let through what the rate-limit tests count
    values: dict[str, Any] = {"token_ttl_minutes": 60 * 24 * 365, "rate_limit_redis_timeout_seconds": 10.0,
                              "read_path": "verify",
                              **overrides}
    return Settings(database_url=database_url, jwt_secret=TEST_SECRET, test_clock=True, **values)


def in_own_loop(run: Any) -> None:
    """Run a coroutine function to completion in a fresh loop on another thread (safe inside a running loop)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, run()).result()


@pytest.fixture(scope="session")
def migrated_pg_template(pg_server: PostgresServer) -> str:
    """One migrated database per run; each test's database is a copy of it (fast)."""
    url = pg_server.create_database(MIGRATED_TEMPLATE)

    async def run() -> None:
        engine = create_engine(settings_for(url))
        await migrate(engine)
        await engine.dispose()

    in_own_loop(run)
    return MIGRATED_TEMPLATE


@pytest.fixture(scope="session")
def migrated_sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite") / "template.sqlite3"

    async def run() -> None:
        engine = create_engine(settings_for(f"sqlite+aiosqlite:///{path}"))
        await migrate(engine)
        await engine.dispose()

    in_own_loop(run)
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Each API/database test runs on the embedded default and on PostgreSQL."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("migrated_sqlite_template")
        target = tmp_path / "db.sqlite3"
        shutil.copyfile(template, target)
        yield f"sqlite+aiosqlite:///{target}"
        return
    server: PostgresServer = request.getfixturevalue("pg_server")
    url = make_database(server, template=request.getfixturevalue("migrated_pg_template"))
    yield url
    if server.running:
        server.drop_database(database_name(url))


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@dataclass
class Person:
    viewer: Viewer
    token: str
    member_id: uuid.UUID | None = None
    provider_id: uuid.UUID | None = None

    @property
    def gid(self) -> str:
        if self.member_id is not None:
            return ids.encode("Member", self.member_id)
        if self.provider_id is not None:
            return ids.encode("Provider", self.provider_id)
        return ids.encode("User", self.viewer.user_id)


class Api:
    """Posts GraphQL documents over HTTP to the in-process app and returns the decoded JSON."""

    def __init__(self, client: httpx.AsyncClient, deps: Deps) -> None:
        self.client = client
        self.deps = deps
        self._admin: Person | None = None

    async def post(self, query: str, variables: dict[str, Any] | None = None, *, token: str | None = None,
                   headers: dict[str, str] | None = None) -> dict[str, Any]:
        sent = dict(headers or {})
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        response = await self.client.post("/graphql", json={"query": query, "variables": variables or {}},
                                          headers=sent)
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    async def gql(self, query: str, variables: dict[str, Any] | None = None, *, as_: Person | None = None
                  ) -> dict[str, Any]:
        """The `data` of a request that must have no top-level errors."""
        body = await self.post(query, variables, token=as_.token if as_ else None)
        assert "errors" not in body, body.get("errors")
        return body["data"]  # type: ignore[no-any-return]

    def _token(self, user_id: uuid.UUID, role: Role) -> str:
        return issue_token(self.deps.settings, user_id=user_id, role=role.value, now=self.deps.clock.wall())

    async def admin(self) -> Person:
        if self._admin is None:
            user_id = await people.ensure_admin(self.deps, email="root@admin.test")
            viewer = Viewer(user_id=user_id, role=Role.ADMIN, time_zone="UTC")
            self._admin = Person(viewer=viewer, token=self._token(user_id, Role.ADMIN))
        return self._admin

    async def member(self, name: str = "Mia Member", *, credits: int = 0, tz: str = "Europe/Berlin",
                     phone: str | None = None) -> Person:
        admin = await self.admin()
        email = f"{name.lower().replace(' ', '.')}.{uuid.uuid4().hex[:6]}@member.test"
        member_id = await people.create_member(self.deps, viewer=admin.viewer, command=people.NewMember(
            email=email, display_name=name, time_zone=tz, phone=phone))
        if credits:
            await wallet.grant_credits(self.deps, viewer=admin.viewer,
                                       command=wallet.GrantCredits(member_id=member_id, credits=credits))
        viewer = await load_viewer(self.deps, await self._user_of_member(member_id))
        assert viewer is not None
        return Person(viewer=viewer, token=self._token(viewer.user_id, Role.MEMBER), member_id=member_id)

    async def provider(self, name: str = "Pat Provider", *, tz: str = "Europe/London") -> Person:
        admin = await self.admin()
        email = f"{name.lower().replace(' ', '.')}.{uuid.uuid4().hex[:6]}@provider.test"
        provider_id = await people.create_provider(self.deps, viewer=admin.viewer, command=people.NewProvider(
            email=email, display_name=name, time_zone=tz))
        viewer = await load_viewer(self.deps, await self._user_of_provider(provider_id))
        assert viewer is not None
        return Person(viewer=viewer, token=self._token(viewer.user_id, Role.PROVIDER), provider_id=provider_id)

    async def _user_of_member(self, member_id: uuid.UUID) -> uuid.UUID:
        async with self.deps.sessions() as db:
            row = await db.get(m.Member, member_id)
            assert row is not None
            return row.user_id

    async def _user_of_provider(self, provider_id: uuid.UUID) -> uuid.UUID:
        async with self.deps.sessions() as db:
            row = await db.get(m.Provider, provider_id)
            assert row is not None
            return row.user_id


@contextlib.asynccontextmanager
async def running_api(settings: Settings, clock: FrozenClock) -> AsyncIterator[Api]:
    """The in-process app with these settings (already migrated), and a client for it."""
    app = create_app(settings, clock=clock, migrate_on_start=False)
    deps: Deps = app.state.deps
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield Api(client, deps)
    finally:
        await deps.dispose()


@pytest.fixture
async def api(database_url: str, clock: FrozenClock) -> AsyncIterator[Api]:
    async with running_api(settings_for(database_url), clock) as api:
        yield api


class StatementCounter:
    """Counts SQL statements sent by the app's engines (writer and, on SQLite, reader) while active."""

    def __init__(self, deps: Deps) -> None:
        self.engines = [engine.sync_engine for engine in (deps.engine, deps.read_engine) if engine is not None]
        self.count = 0
        self.statements: list[str] = []

    def _on_execute(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        self.count += 1
        self.statements.append(statement)

    def __enter__(self) -> StatementCounter:
        for engine in self.engines:
            event.listen(engine, "before_cursor_execute", self._on_execute)
        return self

    def __exit__(self, *_exc: Any) -> None:
        for engine in self.engines:
            event.remove(engine, "before_cursor_execute", self._on_execute)