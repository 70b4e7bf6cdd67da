"""The throwaway PostgreSQL / Redis harness itself works."""

from __future__ import annotations

from collections.abc import Iterator

import asyncpg
import pytest
import redis.asyncio as aioredis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from tests.harness.servers import PostgresServer, RedisServer


def _dsn(sqlalchemy_url: str) -> str:
    assert sqlalchemy_url.startswith("postgresql+asyncpg://")
    return sqlalchemy_url.replace("postgresql+asyncpg://", "postgresql://", 1)


@pytest.mark.pg
async def test_pg_url_select_1_and_btree_gist(pg_url: str, pg_server: PostgresServer) -> None:
    assert pg_url.startswith(f"postgresql+asyncpg://postgres@127.0.0.1:{pg_server.port}/t_")
    conn = await asyncpg.connect(_dsn(pg_url))
    try:
        assert await conn.fetchval("select 1") == 1
        await conn.execute("create extension btree_gist")
        assert await conn.fetchval("select extname from pg_extension where extname = 'btree_gist'") == (
            "btree_gist"
        )
        assert await conn.fetchval("show fsync") == "off"
        assert await conn.fetchval("show max_connections") == "200"
        assert await conn.fetchval("select current_database()") == pg_url.rsplit("/", 1)[1]
    finally:
        await conn.close()


@pytest.mark.pg
async def test_pg_url_works_with_sqlalchemy(pg_url: str) -> None:
    engine = create_async_engine(pg_url)
    try:
        async with engine.connect() as conn:
            assert (await conn.execute(text("select 41 + 1"))).scalar_one() == 42
    finally:
        await engine.dispose()


@pytest.fixture
def second_pg_url(pg_server: PostgresServer) -> Iterator[str]:
    from tests.harness.fixtures import database_name, make_database

    url = make_database(pg_server)
    yield url
    pg_server.drop_database(database_name(url))


@pytest.mark.pg
async def test_two_pg_urls_are_different_databases(pg_url: str, second_pg_url: str) -> None:
    assert pg_url != second_pg_url
    first = await asyncpg.connect(_dsn(pg_url))
    second = await asyncpg.connect(_dsn(second_pg_url))
    try:
        await first.execute("create table marker (v text)")
        await first.execute("insert into marker values ('first')")
        assert await first.fetchval("select v from marker") == "first"
        assert await second.fetchval("select to_regclass('marker') is null") is True
        assert await first.fetchval("select current_database()") != await second.fetchval(
            "select current_database()"
        )
    finally:
        await first.close()
        await second.close()


@pytest.mark.redis
async def test_redis_ping_set_get(redis_server: RedisServer) -> None:
    assert redis_server.url == f"redis://127.0.0.1:{redis_server.port}/0"
    client = aioredis.Redis.from_url(redis_server.url)
    try:
        assert await client.ping() is True
        assert await client.set("greeting", "hello") is True
        assert await client.get("greeting") == b"hello"
    finally:
        await client.aclose()


@pytest.mark.redis
async def test_redis_restart_same_url_data_gone(redis_server: RedisServer) -> None:
    url_before = redis_server.url
    client = aioredis.Redis.from_url(url_before)
    try:
        assert await client.set("survives", "no") is True
        assert await client.get("survives") == b"no"
    finally:
        await client.aclose()

    redis_server.kill()
    assert redis_server.ping() is False
    redis_server.restart()
    assert redis_server.url == url_before
    assert redis_server.ping() is True

    client = aioredis.Redis.from_url(redis_server.url)
    try:
        assert await client.ping() is True
        assert await client.get("survives") is None
        assert await client.dbsize() == 0
        assert await client.set("after", "restart") is True
        assert await client.get("after") == b"restart"
    finally:
        await client.aclose()

    redis_server.restart()  # restart of a running server works too
    assert redis_server.url == url_before
    assert redis_server.ping() is True
