"""The transactional outbox: rows written with the change, published after commit by the relay."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sessions_gql.db import models as m
from sessions_gql.db.uow import UnitOfWork

if TYPE_CHECKING:
    from sessions_gql.services.session_effects import Written


def session_changed(uow: UnitOfWork, *, row: m.Session, written: Written, now: datetime) -> None:
    """One outbox row per transition: the session's channel, and each notified user's."""
    channels = [f"session:{row.id}"]
    channels += [f"user:{n.user_id}" for n in written.notifications]
    uow.session.add(m.OutboxEvent(
        channels=sorted(set(channels)),
        payload={"kind": "session", "session_id": str(row.id), "version": row.version,
                 "timeline_ids": [t.id for t in written.timeline],
                 "notification_ids": [n.id for n in written.notifications]},
        created_at=now,
    ))
