"""Global IDs: opaque base64 of "Type:key", so `node(id)` knows the type and clients never build them."""

from __future__ import annotations

import base64
import binascii
import uuid

from sessions_gql.domain.errors import NotFound, ValidationError


def encode(type_name: str, key: uuid.UUID | int | str) -> str:
    return base64.urlsafe_b64encode(f"{type_name}:{key}".encode()).decode().rstrip("=")


def split(global_id: str, *, field: str = "id") -> tuple[str, str]:
    try:
        padded = global_id + "=" * (-len(global_id) % 4)
        type_name, _, key = base64.urlsafe_b64decode(padded.encode()).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ValidationError(f"{global_id!r} is not an id", field=field) from None
    if not type_name or not key:
        raise ValidationError(f"{global_id!r} is not an id", field=field)
    return type_name, key


def decode_uuid(global_id: str, type_name: str | tuple[str, ...], *, field: str = "id") -> uuid.UUID:
    """The UUID behind an id of the expected type; a well-formed id of another type is NOT_FOUND."""
    found_type, key = split(global_id, field=field)
    expected = (type_name,) if isinstance(type_name, str) else type_name
    if found_type not in expected:
        raise NotFound(f"no {expected[0]} with id {global_id!r}", field=field)
    try:
        return uuid.UUID(key)
    except ValueError:
        raise ValidationError(f"{global_id!r} is not an id", field=field) from None


def decode_int(global_id: str, type_name: str, *, field: str = "id") -> int:
    found_type, key = split(global_id, field=field)
    if found_type != type_name:
        raise NotFound(f"no {type_name} with id {global_id!r}", field=field)
    if not key.isdigit():
        raise ValidationError(f"{global_id!r} is not an id", field=field)
    return int(key)


def maybe_uuid(global_id: str | None, type_name: str | tuple[str, ...], *, field: str) -> uuid.UUID | None:
    return None if global_id is None else decode_uuid(global_id, type_name, field=field)
