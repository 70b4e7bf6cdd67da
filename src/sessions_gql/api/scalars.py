"""The contract's DateTime and Time scalars: a DateTime must carry an offset; a Time reads like 09:30."""

from __future__ import annotations

from datetime import UTC, datetime, time

from strawberry.exceptions import StrawberryInputCoercionError
from strawberry.types.scalar import ScalarDefinition

EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)
"""Instants outside [EARLIEST, LATEST) are refused: near year 1 or 9999, adding an offset, a day of slots or a
week of recurrences overflows Python's datetime, and nothing here is booked centuries ahead."""
MAX_ECHO_CHARS = 60


def _echo(value: object) -> str:
    text = str(value)
    return text if len(text) <= MAX_ECHO_CHARS else text[:MAX_ECHO_CHARS] + "..."


def _parse_date_time(value: object) -> datetime:
    """An ISO-8601 instant with an offset; a naive one is ambiguous, so it is refused like any bad input."""
    try:
        parsed = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        parsed = None
    if parsed is None or parsed.utcoffset() is None:
        raise StrawberryInputCoercionError(
            f'Value cannot represent a DateTime: "{_echo(value)}". Expected ISO-8601 with an offset, '
            "e.g. 2026-11-21T09:00:00+01:00."
        )
    try:
        in_range = EARLIEST <= parsed.astimezone(UTC) < LATEST
    except OverflowError:  # 0001-01-01T00:00:00+14:00 is before year 1 in UTC
        in_range = False
    if not in_range:
        raise StrawberryInputCoercionError(
            f'DateTime out of range: "{_echo(value)}". Expected an instant from {EARLIEST.year} to {LATEST.year - 1}.',
            extensions={"code": "VALIDATION"},
        )
    return parsed


def _parse_time(value: object) -> time:
    try:
        parsed = time.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        parsed = None
    if parsed is None:
        raise StrawberryInputCoercionError(f'Value cannot represent a Time: "{_echo(value)}". Expected e.g. 09:30.')
    return parsed


def _serialize_time(value: time) -> str:
    return value.isoformat(timespec="minutes" if not (value.second or value.microsecond) else "auto")


DATE_TIME = ScalarDefinition(
    name="DateTime", description="ISO-8601 with offset, e.g. 2026-11-21T09:00:00+01:00", specified_by_url=None,
    serialize=datetime.isoformat, parse_value=_parse_date_time, parse_literal=None, origin=datetime,
)
TIME = ScalarDefinition(
    name="Time", description="A wall-clock time, e.g. 09:30", specified_by_url=None,
    serialize=_serialize_time, parse_value=_parse_time, parse_literal=None, origin=time,
)
SCALARS: dict[object, ScalarDefinition] = {datetime: DATE_TIME, time: TIME}
