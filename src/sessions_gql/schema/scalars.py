"""The contract's DateTime and Time scalars: a DateTime must carry an offset; a Time reads like 09:30."""

from __future__ import annotations

from datetime import datetime, time

from strawberry.exceptions import StrawberryInputCoercionError
from strawberry.types.scalar import ScalarDefinition


def _parse_date_time(value: object) -> datetime:
    """An ISO-8601 instant with an offset; a naive one is ambiguous, so it is refused like any bad input."""
    try:
        parsed = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        parsed = None
    if parsed is None or parsed.utcoffset() is None:
        raise StrawberryInputCoercionError(
            f'Value cannot represent a DateTime: "{value}". Expected ISO-8601 with an offset, '
            "e.g. 2026-11-21T09:00:00+01:00."
        )
    return parsed


def _parse_time(value: object) -> time:
    try:
        parsed = time.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        parsed = None
    if parsed is None:
        raise StrawberryInputCoercionError(f'Value cannot represent a Time: "{value}". Expected e.g. 09:30.')
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
