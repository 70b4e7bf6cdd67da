"""Notifications: one in-app row per recipient and, unless they opted out of the kind, one email to deliver;
both written in the use case's transaction, both worded by services/messaging/notice_text.py for that recipient."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select

from sessions_gql.db import models as m
from sessions_gql.db.uow import UnitOfWork
from sessions_gql.domain.enums import EmailStatus, NotificationKind, Role
from sessions_gql.services.messaging import email_templates, notice_text

K = NotificationKind
TITLES = notice_text.TITLES


async def notify(uow: UnitOfWork, *, user_id: uuid.UUID, kind: NotificationKind, session: m.Session | None,
                 now: datetime, body: str | None = None, facts: notice_text.Facts | None = None,
                 title: str | None = None, email: bool = True) -> m.Notification:
    """The in-app notification, and its email when the user wants this kind by email (the default).

    `body` is a message preview (MESSAGE_RECEIVED); `facts` may be passed when the caller gathered them already.
    With `title`, the caller wrote the notice itself (`title` and `body`); `email` False: in-app only (a notice
    whose kind's usual email would say something else).
    """
    user = await uow.session.get(m.User, user_id)
    if user is None:
        raise RuntimeError("a notification for a user that does not exist")
    if title is not None:
        notice = notice_text.Notice(title=title, lead=body or "", plain_body=body or "")
    else:
        if session is not None and facts is None and kind is not K.MESSAGE_RECEIVED:
            facts = await notice_text.gather(uow.session, session, with_conflicts=kind in notice_text.ASK_ANSWER)
        notice = notice_text.compose(kind, recipient=user, facts=facts, now=now, note=body, session=session)
    row = m.Notification(**notification_row(user_id=user_id, kind=kind, notice=notice,
                                            session_id=session.id if session else None, now=now))
    uow.session.add(row)
    if email and wants_email(user, kind):
        uow.session.add(m.EmailDelivery(notification=row, **email_row(notification_id=None, recipient=user,
                                                                       notice=notice, now=now)))
    return row


def wants_email(user: m.User, kind: NotificationKind) -> bool:
    return bool((user.email_preferences or {}).get(kind.value, True))


def notification_row(*, user_id: uuid.UUID, kind: NotificationKind, notice: notice_text.Notice,
                     session_id: uuid.UUID | None, now: datetime) -> dict[str, Any]:
    return {"user_id": user_id, "kind": kind, "title": notice.title, "body": notice.body, "session_id": session_id,
            "created_at": now}


def email_row(*, notification_id: int | None, recipient: m.User, notice: notice_text.Notice, now: datetime
              ) -> dict[str, Any]:
    """The email of a notice, to be sent by the delivery worker (`notification_id` None: set by the ORM)."""
    email = email_templates.render(notice, recipient=recipient)
    row = {"user_id": recipient.id, "to_address": recipient.email, "subject": email.subject, "text_body": email.text,
           "html_body": email.html, "status": EmailStatus.PENDING, "attempts": 0, "next_attempt_at": now,
           "created_at": now}
    return row if notification_id is None else {**row, "notification_id": notification_id}


async def admin_user_ids(uow: UnitOfWork) -> list[uuid.UUID]:
    return list((await uow.session.scalars(select(m.User.id).where(m.User.role == Role.ADMIN))).all())
