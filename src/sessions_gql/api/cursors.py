"""Opaque keyset cursors: the sort key of the last row a page showed."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from datetime import datetime
from typing import Any

from sessions_gql.domain.enums import ProviderOrder
from sessions_gql.domain.errors import ValidationError

MAX_CURSOR_CHARS = 1024
MAX_SEARCH_CHARS = 200
"""Search and skill filters are words a person types; longer ones only cost the database LIKE work."""


def encode_cursor(*values: Any) -> str:
    raw = json.dumps([str(value) for value in values], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, *, parts: int, field: str = "after") -> list[str]:
    values = _decode_strings(cursor, field=field)
    if len(values) != parts:
        raise ValidationError("that cursor is not one this API gave out", field=field)
    return values


def _decode_strings(cursor: str, *, field: str) -> list[str]:
    try:
        if len(cursor) > MAX_CURSOR_CHARS:
            raise ValueError(cursor)
        raw = base64.urlsafe_b64decode((cursor + "=" * (-len(cursor) % 4)).encode())
        values = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeError, RecursionError):
        raise ValidationError("that cursor is not one this API gave out", field=field) from None
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise ValidationError("that cursor is not one this API gave out", field=field)
    return values


_ORDER_TAGS = {ProviderOrder.RECOMMENDED: "R", ProviderOrder.NAME: "N"}
_MAX_KEY_INT = 2**31 - 1


def provider_cursor(order: ProviderOrder, key: tuple[Any, ...]) -> str:
    """A `providers` cursor: the order it belongs to, then the sort key of the row (flags as 0/1)."""
    return encode_cursor(_ORDER_TAGS[order], *(int(v) if isinstance(v, bool) else v for v in key))


def provider_cursor_key(cursor: str, order: ProviderOrder, *, field: str = "after") -> tuple[Any, ...]:
    """The sort key in a cursor from `provider_cursor`; VALIDATION for a cursor of another order or a bent one."""
    values = _decode_strings(cursor, field=field)
    tag, *rest = values or [""]
    if tag != _ORDER_TAGS[order] and tag in _ORDER_TAGS.values():
        raise ValidationError(f"that cursor belongs to another orderBy than {order.value}", field=field)
    if tag != _ORDER_TAGS[order] or len(values) != (6 if order is ProviderOrder.RECOMMENDED else 3):
        raise ValidationError("that cursor is not one this API gave out", field=field)
    try:
        *ints, name, raw_id = rest
        numbers = [int(v) if v.isascii() and v.isdigit() else -1 for v in ints]
        if any(not 0 <= n <= _MAX_KEY_INT for n in numbers) or (numbers and numbers[0] > 1):
            raise ValueError(ints)
        provider_id = uuid.UUID(raw_id)
    except ValueError:
        raise ValidationError("that cursor is not one this API gave out", field=field) from None
    if numbers:
        return (bool(numbers[0]), numbers[1], numbers[2], name, provider_id)
    return (name, provider_id)


BAD_CURSOR = "that cursor is not one this API gave out"


def id_cursor(cursor: str | None, field: str) -> int | None:
    """The row id in a cursor of a page ordered by id (messages, notifications, ledger, timeline)."""
    if cursor is None:
        return None
    (raw,) = decode_cursor(cursor, parts=1, field=field)
    if not raw.isdigit():
        raise ValidationError(BAD_CURSOR, field=field)
    return int(raw)


def time_and_id(cursor: str | None) -> tuple[datetime, uuid.UUID] | None:
    """The key in a cursor of a page ordered by an instant, then id (sessions, conversations)."""
    if cursor is None:
        return None
    at, raw_id = decode_cursor(cursor, parts=2)
    try:
        key = datetime.fromisoformat(at), uuid.UUID(raw_id)
    except ValueError:
        raise ValidationError(BAD_CURSOR, field="after") from None
    if key[0].tzinfo is None:
        raise ValidationError(BAD_CURSOR, field="after")
    return key


def stream_cursor(position: int | None, row_id: int) -> str:
    """Resume a subscription after this row: its position once the relay sequenced it, else its id."""
    return encode_cursor(position if position is not None else f"i{row_id}")


def page_size(first: int | None, *, maximum: int, field: str = "first") -> int:
    if first is None:
        return 20
    if not 0 <= first <= maximum:
        raise ValidationError(f"{field} must be between 0 and {maximum}", field=field)
    return first


def search_text(value: str | None, *, field: str) -> str | None:
    """A search filter as given, or VALIDATION when it is longer than anyone types."""
    if value is not None and len(value) > MAX_SEARCH_CHARS:
        raise ValidationError(f"{field} must be at most {MAX_SEARCH_CHARS} characters", field=field)
    return value


def selects(info: Any, name: str) -> bool:
    """Whether the current field's selection asks for `name` (through fragments too): totals are counted
    only for clients that show them."""
    pending = [selection for field in info.selected_fields for selection in field.selections]
    while pending:
        selection = pending.pop()
        if getattr(selection, "name", None) == name:
            return True
        pending.extend(getattr(selection, "selections", None) or ())
    return False
