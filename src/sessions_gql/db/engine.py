"""Engine and session factory for PostgreSQL (asyncpg) and the embedded SQLite default."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from sessions_gql.config import Settings


def create_engine(settings: Settings, *, immediate: bool = True) -> AsyncEngine:
    """On SQLite, `immediate` engines start every transaction with BEGIN IMMEDIATE (writers queue up front);
    read engines use plain BEGIN, so readers never take the write lock (WAL lets them run beside a writer)."""
    if settings.is_sqlite:
        engine = create_async_engine(settings.database_url, echo=settings.sql_echo)
        _configure_sqlite(engine, immediate=immediate)
        return engine
    return create_async_engine(
        settings.database_url,
        echo=settings.sql_echo,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_pool_size,
        pool_pre_ping=True,
    )


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
