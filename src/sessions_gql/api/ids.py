"""Global IDs: opaque base64 of "Type:key", so `node(id)` knows the type and clients never build them.

Only the exact strings `encode` gives out are ids: base64 decoding alone is lenient (padding, stray characters,
another spelling of the same UUID or number), so a decoded id must encode back to what the client sent.
"""

from __future__ import annotations

import base64
import binascii
import re
import uuid

from sessions_gql.domain.errors import NotFound, ValidationError

MAX_ID_CHARS = 200
"""No id this API gives out is longer (the longest is a type name and a UUID: about 60)."""
MAX_INT_KEY = 2**63 - 1
"""Log ids are 64-bit identities."""
_DIGITS = re.compile(r"[1-9][0-9]{0,18}|0")


def encode(type_name: str, key: uuid.UUID | int | str) -> str:
    return base64.urlsafe_b64encode(f"{type_name}:{key}".encode()).decode().rstrip("=")


def shown(value: str, limit: int = 60) -> str:
    """A client's value as an error message may echo it: quoted, and cut to `limit` characters."""
    return repr(value if len(value) <= limit else value[:limit] + "...")


def _not_an_id(global_id: str, field: str) -> ValidationError:
    return ValidationError(f"{shown(global_id)} is not an id", field=field)


def split(global_id: str, *, field: str = "id") -> tuple[str, str]:
    if len(global_id) > MAX_ID_CHARS:
        raise _not_an_id(global_id, field)
    try:
        padded = global_id + "=" * (-len(global_id) % 4)
        type_name, _, key = base64.urlsafe_b64decode(padded.encode("ascii")).decode().partition(":")
    except (binascii.Error, UnicodeError, ValueError):
        raise _not_an_id(global_id, field) from None
    if not type_name or not key or encode(type_name, key) != global_id:
        raise _not_an_id(global_id, field)
    return type_name, key


def decode_uuid(global_id: str, type_name: str | tuple[str, ...], *, field: str = "id") -> uuid.UUID:
    """The UUID behind an id of the expected type; a well-formed id of another type is NOT_FOUND."""
    found_type, key = split(global_id, field=field)
    expected = (type_name,) if isinstance(type_name, str) else type_name
    if found_type not in expected:
        raise NotFound(f"no {expected[0]} with id {shown(global_id)}", field=field)
    try:
        parsed = uuid.UUID(key)
    except ValueError:
        raise _not_an_id(global_id, field) from None
    if str(parsed) != key:  # braces, upper case, no hyphens, a urn: the same UUID, but not the id we gave out
        raise _not_an_id(global_id, field)
    return parsed


def decode_int(global_id: str, type_name: str, *, field: str = "id") -> int:
    found_type, key = split(global_id, field=field)
    if found_type != type_name:
        raise NotFound(f"no {type_name} with id {shown(global_id)}", field=field)
    if not _DIGITS.fullmatch(key) or int(key) > MAX_INT_KEY:  # isdigit() took "²" and any length
        raise _not_an_id(global_id, field)
    return int(key)


def maybe_uuid(global_id: str | None, type_name: str | tuple[str, ...], *, field: str) -> uuid.UUID | None:
    return None if global_id is None else decode_uuid(global_id, type_name, field=field)
