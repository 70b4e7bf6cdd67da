"""In-app notifications: one row per recipient, written in the use case's transaction."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select

from sessions_gql.db import models as m
from sessions_gql.db.uow import UnitOfWork
from sessions_gql.domain.enums import NotificationKind, Role

K = NotificationKind
TITLES: dict[NotificationKind, str] = {
    K.SESSION_REQUESTED: "New session request",
    K.SESSION_PROPOSED: "A session was proposed to you",
    K.SESSION_CONFIRMED: "Session confirmed",
    K.SESSION_DECLINED: "Session declined",
    K.SESSION_CANCELLED: "Session cancelled",
    K.SESSION_EXPIRED: "Session request expired",
    K.NEW_TIME_PROPOSED: "A new time was proposed",
    K.NEW_TIME_ACCEPTED: "New time accepted",
    K.NEW_TIME_REJECTED: "New time rejected",
    K.MEETING_REMINDER: "Your session is tomorrow",
    K.MEETING_LINK: "Your session starts in an hour",
    K.MEMBER_WAITING: "Your client is in the waiting room",
    K.NO_SHOW_MARKED: "Session marked as a no-show",
    K.SESSION_REFUNDED: "Session refunded",
    K.MESSAGE_RECEIVED: "New message",
    K.ACCOUNT_FLAGGED: "Your account was flagged for cancellations",
    K.ACCOUNT_DEACTIVATED: "Your account was deactivated",
}


def describe(kind: NotificationKind, session: m.Session | None) -> str:
    if session is None:
        return TITLES[kind]
    when = session.starts_at.strftime("%Y-%m-%d %H:%M UTC")
    return f"{TITLES[kind]}: the session on {when} is now {session.status.value.replace('_', ' ').lower()}."


def notify(uow: UnitOfWork, *, user_id: uuid.UUID, kind: NotificationKind, session: m.Session | None,
           now: datetime) -> m.Notification:
    row = m.Notification(user_id=user_id, kind=kind, title=TITLES[kind], body=describe(kind, session),
                         session_id=session.id if session else None, created_at=now)
    uow.session.add(row)
    return row


async def admin_user_ids(uow: UnitOfWork) -> list[uuid.UUID]:
    return list((await uow.session.scalars(select(m.User.id).where(m.User.role == Role.ADMIN))).all())
