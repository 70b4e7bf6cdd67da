"""The one injectable clock. Use cases take `now` from it; tests and the test clock move it.

`now()` is the booking world's time (shifted by the test clock); `wall()` is real time, which the test clock
never moves: authentication (token expiry) uses it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class Clock:
    """Wall-clock time in UTC, optionally shifted forward by a test offset."""

    def __init__(self, *, offset: timedelta = timedelta(0)) -> None:
        self._offset = offset

    def now(self) -> datetime:
        return datetime.now(UTC) + self._offset

    def wall(self) -> datetime:
        """Real time in UTC, never shifted by the test clock: for checking token expiry."""
        return datetime.now(UTC)

    def advance(self, delta: timedelta) -> datetime:
        if delta < timedelta(0):
            raise ValueError("the clock only moves forward")
        self._offset += delta
        return self.now()


class FrozenClock(Clock):
    """A clock that stands still until moved: for tests."""

    def __init__(self, at: datetime) -> None:
        super().__init__()
        if at.tzinfo is None:
            raise ValueError("FrozenClock needs an aware datetime")
        self._at = at

    def now(self) -> datetime:
        return self._at

    def advance(self, delta: timedelta) -> datetime:
        if delta < timedelta(0):
            raise ValueError("the clock only moves forward")
        self._at += delta
        return self._at

    def set(self, at: datetime) -> None:
        self._at = at
