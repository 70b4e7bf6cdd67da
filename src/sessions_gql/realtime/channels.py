"""Channel names and the wake-up messages published on them."""

from __future__ import annotations

import json
from typing import Any

from sessions_gql.services.outbox import conversation_channel, session_channel, user_channel


def presence_channel(session_id: object) -> str:
    return f"presence:{session_id}"


def encode(message: dict[str, Any]) -> str:
    return json.dumps(message, separators=(",", ":"), default=str)


def decode(raw: str) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except (TypeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


__all__ = ["conversation_channel", "decode", "encode", "presence_channel", "session_channel", "user_channel"]
