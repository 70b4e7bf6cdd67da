"""The test clock: admins move the server's time forward; each job that falls due runs at its own time, and
the emails due are sent after the jobs of each step.

The shift is one row of the database (`test_clock`, migration 0005), so every process of a deployment (API
instances, workers, the CLI) shares it; see `clock.SharedClock` for when each process sees a move.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from sessions_gql.auth.viewer import Viewer
from sessions_gql.clock import Clock, SharedClock
from sessions_gql.config import Settings
from sessions_gql.db import models as m
from sessions_gql.domain.errors import Forbidden, ValidationError
from sessions_gql.services import scheduler
from sessions_gql.services.access import require_admin
from sessions_gql.services.deps import Deps
from sessions_gql.services.messaging import email_delivery
from sessions_gql.services.sessions import system_jobs

MAX_MINUTES = 366 * 24 * 60
T = m.ClockOffset


class DatabaseOffset:
    """The offset in the `test_clock` row: read with `reader` (on SQLite it never takes the write lock), added to
    atomically with `writer`, so two processes moving at once both count."""

    def __init__(self, writer: AsyncEngine, reader: AsyncEngine | None = None) -> None:
        self._writer = writer
        self._reader = reader or writer

    async def load(self) -> timedelta:
        async with self._reader.connect() as connection:
            value = await connection.scalar(select(T.offset_microseconds).where(T.id == 1))
        return timedelta(microseconds=int(value or 0))

    async def add(self, delta: timedelta) -> timedelta:
        step = delta // timedelta(microseconds=1)
        async with self._writer.begin() as connection:
            value = await connection.scalar(update(T).where(T.id == 1)
                                            .values(offset_microseconds=T.offset_microseconds + step)
                                            .returning(T.offset_microseconds))
        if value is None:
            raise RuntimeError("the test_clock row is missing: run `sessions-gql migrate`")
        return timedelta(microseconds=int(value))


def clock_for(settings: Settings, writer: AsyncEngine, reader: AsyncEngine | None = None) -> Clock:
    """The deployment's shared test clock when SESSIONS_GQL_TEST_CLOCK is on; otherwise real time, and the
    database is never asked."""
    if not settings.test_clock or settings.is_production:
        return Clock()
    return SharedClock(DatabaseOffset(writer, reader), refresh_seconds=settings.test_clock_refresh_seconds)


async def advance(deps: Deps, *, viewer: Viewer, minutes: int) -> datetime:
    require_admin(viewer)
    if not deps.settings.test_clock or deps.settings.is_production:
        raise Forbidden("the test clock is off on this server (SESSIONS_GQL_TEST_CLOCK)")
    if not 1 <= minutes <= MAX_MINUTES:
        raise ValidationError(f"minutes must be between 1 and {MAX_MINUTES}", field="minutes")
    await deps.clock.refresh()  # start from the deployment's time: another process may have moved it
    target = deps.clock.now() + timedelta(minutes=minutes)
    while (due := await scheduler.next_due_at(deps, until=target)) is not None:
        if due > deps.clock.now():
            await deps.clock.move(due - deps.clock.now())
        await scheduler.run_due(deps)
        await email_delivery.deliver_due(deps)
    await deps.clock.move(max(target - deps.clock.now(), timedelta(0)))
    await email_delivery.deliver_due(deps)
    return deps.clock.now()


__all__ = ["DatabaseOffset", "advance", "clock_for", "system_jobs"]
