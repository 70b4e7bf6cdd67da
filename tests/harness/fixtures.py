"""Pytest fixtures for the throwaway servers (loaded from tests/conftest.py).

``pg_server`` / ``redis_server`` are started once per test session (per xdist worker);
``pg_url`` gives every test its own fresh database, dropped again afterwards.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.harness.servers import PostgresServer, RedisServer


def make_database(server: PostgresServer, template: str | None = None) -> str:
    """Create a uniquely named database ``t_<hex>`` on ``server`` and return its asyncpg URL.

    Hook for later: once migrations exist, build one migrated database per session, mark it
    as template and pass its name as ``template`` (it must have no open connections while
    copies are made). ``None`` means ``template0``, i.e. an empty database.
    """
    name = f"t_{uuid.uuid4().hex}"
    return server.create_database(name, template=template)


def database_name(url: str) -> str:
    """The database name at the end of a URL returned by :func:`make_database`."""
    return url.rsplit("/", 1)[-1]


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    """One throwaway PostgreSQL cluster for the whole session."""
    server = PostgresServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """One throwaway redis-server for the whole session (tests may ``kill()``/``restart()`` it)."""
    server = RedisServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def pg_url(pg_server: PostgresServer) -> Iterator[str]:
    """A fresh, empty database for this test: ``postgresql+asyncpg://postgres@127.0.0.1:PORT/t_<hex>``.

    Dropped WITH (FORCE) at teardown, so leftover connections do not break later tests.
    """
    url = make_database(pg_server)
    yield url
    if pg_server.running:
        pg_server.drop_database(database_name(url))
