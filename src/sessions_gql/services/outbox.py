"""The transactional outbox: rows written with the change, sequenced and published after commit by the relay.

A payload names the streamed rows the change wrote (`timeline_ids`, `notification_ids`, `message_ids`);
the relay gives each a position in commit order and publishes a wake-up on every channel listed.
Ephemeral events (typing, read receipts) travel as `ephemeral` and get no position.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sessions_gql.db import models as m
from sessions_gql.db.uow import UnitOfWork

if TYPE_CHECKING:
    pass


def emit(uow: UnitOfWork, *, channels: Iterable[str], now: datetime, timeline: Iterable[int] = (),
         notifications: Iterable[int] = (), messages: Iterable[int] = (),
         ephemeral: dict[str, Any] | None = None) -> None:
    uow.session.add(m.OutboxEvent(**row(channels=channels, now=now, timeline=timeline, notifications=notifications,
                                        messages=messages, ephemeral=ephemeral)))


def row(*, channels: Iterable[str], now: datetime, timeline: Iterable[int] = (), notifications: Iterable[int] = (),
        messages: Iterable[int] = (), ephemeral: dict[str, Any] | None = None) -> dict[str, Any]:
    """An outbox row's columns."""
    payload: dict[str, Any] = {
        "timeline_ids": list(timeline), "notification_ids": list(notifications), "message_ids": list(messages),
    }
    if ephemeral is not None:
        payload["ephemeral"] = ephemeral
    return {"channels": sorted(set(channels)), "payload": payload, "created_at": now}


def user_channel(user_id: object) -> str:
    return f"user:{user_id}"


def session_channel(session_id: object) -> str:
    return f"session:{session_id}"


def conversation_channel(conversation_id: object) -> str:
    return f"conversation:{conversation_id}"


