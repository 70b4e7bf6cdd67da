"""Engine and session factory for PostgreSQL (asyncpg) and the embedded SQLite default."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, exc
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.util import await_

from sessions_gql.config import Settings


def create_engine(settings: Settings, *, immediate: bool = True) -> AsyncEngine:
    """On SQLite, `immediate` engines start every transaction with BEGIN IMMEDIATE (writers queue up front);
    read engines use plain BEGIN, so readers never take the write lock (WAL lets them run beside a writer)."""
    if settings.is_sqlite:
        engine = create_async_engine(settings.database_url, echo=settings.sql_echo)
        _configure_sqlite(engine, immediate=immediate)
        return engine
    engine = create_async_engine(
        settings.database_url,
        echo=settings.sql_echo,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_pool_size,
    )
    _begin_on_checkout(engine)
    return engine


def _begin_on_checkout(engine: AsyncEngine) -> None:
    """Pessimistic disconnect handling that costs no round trip: a connection is checked out with its
    transaction begun, so the BEGIN every unit of work sends anyway is the liveness check. SQLAlchemy's
    `pool_pre_ping` sends BEGIN, an empty statement and ROLLBACK at every checkout before the unit's own BEGIN:
    four round trips where this sends one (about 5% of a booking's CPU in bench W1). A connection the server or
    the network ended (restart, failover, pg_terminate_backend) fails its BEGIN; DisconnectionError makes the
    pool discard it and check out another. The driver adapter starts its transaction lazily at the first
    statement unless one is open, so nothing is begun twice; a later change of isolation level rolls this
    transaction back first (the adapter's set_isolation_level). The `postgresql_readonly` and
    `postgresql_deferrable` execution options would not: they only mark the next BEGIN, which has been sent.
    Nothing here uses them; a caller that needs them rolls back first."""

    @event.listens_for(engine.sync_engine, "checkout")
    def _on_checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        if dbapi_connection._transaction is not None or dbapi_connection.isolation_level == "autocommit":
            return
        try:
            await_(dbapi_connection._start_transaction())
        except Exception as error:
            raise exc.DisconnectionError("a pooled connection failed to begin a transaction") from error


def _configure_sqlite(engine: AsyncEngine, *, immediate: bool) -> None:
    """Own the transaction boundaries: BEGIN IMMEDIATE for writers, so they serialize; BEGIN for readers."""

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)
