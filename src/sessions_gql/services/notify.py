"""Notifications: one in-app row per recipient and, unless they opted out of the kind, one email to deliver;
both written in the use case's transaction."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select

from sessions_gql.db import models as m
from sessions_gql.db.uow import UnitOfWork
from sessions_gql.domain.enums import EmailStatus, NotificationKind, Role
from sessions_gql.services import email_templates

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


async def notify(uow: UnitOfWork, *, user_id: uuid.UUID, kind: NotificationKind, session: m.Session | None,
                 now: datetime, body: str | None = None, title: str | None = None,
                 email: bool = True) -> m.Notification:
    """The in-app notification, and its email when the user wants this kind by email (the default); `email`
    False: in-app only (a notice whose kind's email would say something else)."""
    text = describe(kind, session) if body is None else body
    row = m.Notification(user_id=user_id, kind=kind, title=TITLES[kind] if title is None else title, body=text,
                         session_id=session.id if session else None, created_at=now)
    uow.session.add(row)
    user = await uow.session.get(m.User, user_id)
    if email and user is not None and wants_email(user, kind):
        _enqueue_email(uow, row, user, session, now)
    return row


def wants_email(user: m.User, kind: NotificationKind) -> bool:
    return bool((user.email_preferences or {}).get(kind.value, True))


def _enqueue_email(uow: UnitOfWork, row: m.Notification, user: m.User, session: m.Session | None,
                   now: datetime) -> None:
    email = email_templates.render(row.kind, recipient=user, session=session, title=row.title, note=row.body)
    uow.session.add(m.EmailDelivery(
        notification=row, user_id=user.id, to_address=user.email, subject=email.subject, text_body=email.text,
        html_body=email.html, status=EmailStatus.PENDING, attempts=0, next_attempt_at=now, created_at=now,
    ))


async def admin_user_ids(uow: UnitOfWork) -> list[uuid.UUID]:
    return list((await uow.session.scalars(select(m.User.id).where(m.User.role == Role.ADMIN))).all())
