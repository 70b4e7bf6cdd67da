"""The one injectable clock. Use cases take `now` from it; tests and the test clock move it.

`now()` is the booking world's time (shifted by the test clock); `wall()` is real time, which the test clock
never moves: authentication (token expiry) uses it.

`now()` is synchronous and called everywhere, so a clock shared by several processes (`SharedClock`, the test
clock of a deployment) keeps the offset it last read and is refreshed from outside: at the start of every request
and scheduler pass (`refresh()`), and every `refresh_seconds` by `keep_fresh()` for what runs between them
(subscriptions, the relay).
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol

from sessions_gql import moments

log = logging.getLogger("sessions_gql.clock")


class Clock:
    """Wall-clock time in UTC, optionally shifted forward by a test offset (this process only)."""

    def __init__(self, *, offset: timedelta = timedelta(0)) -> None:
        self._offset = offset

    def now(self) -> datetime:
        moments.read("clock")
        return datetime.now(UTC) + self._offset

    def wall(self) -> datetime:
        """Real time in UTC, never shifted by the test clock: for checking token expiry."""
        return datetime.now(UTC)

    def advance(self, delta: timedelta) -> datetime:
        if delta < timedelta(0):
            raise ValueError("the clock only moves forward")
        self._offset += delta
        return self.now()

    async def move(self, delta: timedelta) -> datetime:
        """Advance the clock for everyone who shares it (here: this process)."""
        return self.advance(delta)

    async def refresh(self) -> None:
        """Pick up a move another process made; a clock of one process has nothing to pick up."""

    async def keep_fresh(self, stop: asyncio.Event) -> None:
        """Refresh on a timer until `stop` is set; returns at once for a clock of one process."""


class OffsetStore(Protocol):
    """Where a shared clock's offset lives (services/test_clock.py: a row in the database)."""

    async def load(self) -> timedelta: ...

    async def add(self, delta: timedelta) -> timedelta:
        """Add `delta` atomically; the new offset."""
        ...


class SharedClock(Clock):
    """The test clock of a deployment: the offset lives in `store`, so every API instance, worker and CLI that
    shares the database shares one time. A move by another process is seen at this process's next request or
    scheduler pass, and within `refresh_seconds` by everything else."""

    def __init__(self, store: OffsetStore, *, refresh_seconds: float = 1.0) -> None:
        super().__init__()
        self._store = store
        self.refresh_seconds = refresh_seconds
        self._moves = 0  # a read that began before this process's own move must not undo it

    def advance(self, delta: timedelta) -> datetime:
        raise TypeError("a shared clock moves with `await move(delta)`, so that every process sees it")

    async def move(self, delta: timedelta) -> datetime:
        if delta < timedelta(0):
            raise ValueError("the clock only moves forward")
        self._moves += 1
        self._offset = await self._store.add(delta)
        return self.now()

    async def refresh(self) -> None:
        moves = self._moves
        try:
            offset = await self._store.load()
        except Exception:  # a database hiccup must not fail the request: keep the offset last read
            log.warning("could not read the test clock's offset; keeping %s", self._offset, exc_info=True)
            return
        if moves == self._moves:
            self._offset = offset

    async def keep_fresh(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            started = time.monotonic()
            await self.refresh()
            wait = max(self.refresh_seconds - (time.monotonic() - started), 0.0)
            try:
                await asyncio.wait_for(stop.wait(), timeout=wait)
            except TimeoutError:
                continue


class FrozenClock(Clock):
    """A clock that stands still until moved: for tests."""

    def __init__(self, at: datetime) -> None:
        super().__init__()
        if at.tzinfo is None:
            raise ValueError("FrozenClock needs an aware datetime")
        self._at = at

    def now(self) -> datetime:
        moments.read("clock")
        return self._at

    def advance(self, delta: timedelta) -> datetime:
        if delta < timedelta(0):
            raise ValueError("the clock only moves forward")
        self._at += delta
        return self._at

    def set(self, at: datetime) -> None:
        self._at = at
