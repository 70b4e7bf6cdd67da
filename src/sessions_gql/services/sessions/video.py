"""Video rooms behind a small interface; the built-in one makes unguessable Jitsi-style URLs."""

from __future__ import annotations

import secrets
import uuid
from typing import Protocol


class VideoProvider(Protocol):
    name: str

    def create_room(self, session_id: uuid.UUID) -> str: ...

    def move_room(self, session_id: uuid.UUID, url: str) -> str: ...

    def cancel_room(self, session_id: uuid.UUID, url: str) -> None: ...


class LinkVideoProvider:
    """Rooms are URLs on a configurable base with 128 random bits; nothing to call, nothing to cancel."""

    name = "jitsi"

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")

    def create_room(self, session_id: uuid.UUID) -> str:
        return f"{self.base_url}/s-{secrets.token_urlsafe(16)}"

    def move_room(self, session_id: uuid.UUID, url: str) -> str:
        return url

    def cancel_room(self, session_id: uuid.UUID, url: str) -> None:
        return None
