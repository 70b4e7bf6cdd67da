"""Sending the emails `notify` wrote: claimed by one worker at a time, retried with backoff, outcome recorded.

A delivery is claimed in its own transaction (PENDING and due, `FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite's
BEGIN IMMEDIATE serializes claimers), marked SENDING with a lease (`locked_until`) and committed; it is sent
outside any transaction, then the outcome is recorded: SENT, or a retry after 30 s x 2^(attempts - 1), at
most an hour, until FAILED after 8 attempts. An SMTP 5xx answer is permanent and FAILED at once. When the
server cannot be reached the pass stops, so a down server costs the worker loop one timeout per pass.

A SENDING delivery whose lease ran out belongs to a worker that crashed, and is claimed again. If that worker
crashed after the SMTP server accepted the message but before it recorded SENT, the email goes out a second
time: at-least-once, at most one extra copy per crash. The Message-ID is derived from the notification id and
stays the same on every attempt, so receiving servers and mail clients can drop the duplicate.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime

import aiosmtplib
from sqlalchemy import ColumnElement, and_, or_, select

from sessions_gql.config import Settings
from sessions_gql.db import models as m
from sessions_gql.domain.enums import EmailStatus
from sessions_gql.observability import emails_failed, emails_sent
from sessions_gql.services.deps import Deps

log = logging.getLogger("sessions_gql.email")
Sender = Callable[[EmailMessage], Awaitable[object]]
LEASE = timedelta(minutes=5)
MAX_ATTEMPTS = 8
S = EmailStatus


@dataclass(frozen=True)
class Claimed:
    """What a worker needs to send one delivery, copied out of the claiming transaction."""

    id: int
    notification_id: int
    to_address: str
    subject: str
    text_body: str
    html_body: str
    locked_until: datetime


def smtp_sender(settings: Settings) -> Sender:
    """Sends over SMTP with the configured server, credentials and STARTTLS."""

    password = settings.smtp_password.get_secret_value() if settings.smtp_password else None

    async def send(message: EmailMessage) -> object:
        return await aiosmtplib.send(
            message, hostname=settings.smtp_host, port=settings.smtp_port, username=settings.smtp_username,
            password=password, start_tls=settings.smtp_starttls, use_tls=False,
            timeout=settings.smtp_timeout_seconds,
        )

    return send


def message_id(notification_id: int, email_from: str) -> str:
    """The same on every attempt, so a copy sent twice can be recognised as one."""
    domain = email_from.rpartition("@")[2] or "localhost"
    return f"<notification-{notification_id}@{domain}>"


def build_message(claimed: Claimed, settings: Settings, now: datetime) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.email_from
    message["To"] = claimed.to_address
    message["Subject"] = claimed.subject
    message["Date"] = format_datetime(now)
    message["Message-ID"] = message_id(claimed.notification_id, settings.email_from)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(claimed.text_body)
    message.add_alternative(claimed.html_body, subtype="html")
    return message


async def deliver_due(deps: Deps, sender: Sender | None = None, *, limit: int = 50) -> int:
    """Send the deliveries due by the clock's now, one at a time; how many were handled (sent or not)."""
    settings = deps.settings
    if settings.smtp_host is None and sender is None:
        return await _skip_due(deps, limit=limit)
    send = sender or smtp_sender(settings)
    handled = 0
    while handled < limit and (claimed := await claim(deps)) is not None:
        error = await _send(send, build_message(claimed, settings, deps.clock.now()))
        await _record(deps, claimed, error)
        handled += 1
        if error is not None and unreachable(error):
            break  # the server is down: one timeout per pass, the rest waits for the next pass
    return handled


def _due(now: datetime) -> ColumnElement[bool]:
    D = m.EmailDelivery
    return or_(and_(D.status == S.PENDING, D.next_attempt_at <= now),
               and_(D.status == S.SENDING, D.locked_until <= now))


async def claim(deps: Deps) -> Claimed | None:
    now = deps.clock.now()
    D = m.EmailDelivery
    async with deps.uow() as uow:
        query = select(D).where(_due(now)).order_by(D.next_attempt_at, D.id).limit(1).with_for_update(
            skip_locked=True)
        row = await uow.session.scalar(query)
        if row is None:
            return None
        row.status, row.locked_until = S.SENDING, now + LEASE
        claimed = Claimed(id=row.id, notification_id=row.notification_id, to_address=row.to_address,
                          subject=row.subject, text_body=row.text_body, html_body=row.html_body,
                          locked_until=row.locked_until)
        await uow.commit()
        return claimed


async def _send(send: Sender, message: EmailMessage) -> Exception | None:
    try:
        await send(message)
    except Exception as exc:  # every failure is recorded on the delivery; none may stop the worker
        log.warning("email %s to %s failed: %s", message["Message-ID"], message["To"], exc)
        return exc
    return None


async def _record(deps: Deps, claimed: Claimed, error: Exception | None) -> None:
    now = deps.clock.now()
    async with deps.uow() as uow:
        row = await uow.session.get(m.EmailDelivery, claimed.id, with_for_update=True)
        if row is None or row.status is not S.SENDING or row.locked_until != claimed.locked_until:
            return  # the lease ran out and another worker claimed it again; its outcome is the one kept
        row.attempts += 1
        row.locked_until = None
        if error is None:
            row.status, row.sent_at, row.last_error = S.SENT, now, None
        else:
            row.last_error = f"{type(error).__name__}: {error}"[:2000]
            failed = row.attempts >= MAX_ATTEMPTS or permanent(error)
            row.status = S.FAILED if failed else S.PENDING
            row.next_attempt_at = row.next_attempt_at if failed else now + backoff(row.attempts)
        await uow.commit()
    (emails_sent if error is None else emails_failed).inc()


def backoff(attempts: int) -> timedelta:
    """30 s after the first failure, doubling, at most an hour."""
    return timedelta(seconds=min(3600, 30 * 2 ** min(attempts - 1, 12)))


def permanent(error: Exception) -> bool:
    """An SMTP 5xx answer (unknown mailbox, refused sender) will not change on retry."""
    if isinstance(error, aiosmtplib.SMTPRecipientsRefused):
        return all(500 <= refused.code < 600 for refused in error.recipients)
    return isinstance(error, aiosmtplib.SMTPResponseException) and 500 <= error.code < 600


def unreachable(error: Exception) -> bool:
    """No SMTP conversation took place: every other delivery would fail the same way now."""
    return isinstance(error, aiosmtplib.SMTPConnectError | aiosmtplib.SMTPTimeoutError
                      | aiosmtplib.SMTPServerDisconnected | OSError)


async def _skip_due(deps: Deps, *, limit: int) -> int:
    """Email is off (no SMTP host): due deliveries are recorded as SKIPPED, never sent later."""
    now = deps.clock.now()
    D = m.EmailDelivery
    async with deps.uow() as uow:
        rows = list((await uow.session.scalars(
            select(D).where(_due(now)).order_by(D.id).limit(limit).with_for_update(skip_locked=True))).all())
        for row in rows:
            row.status, row.locked_until, row.last_error = S.SKIPPED, None, "email is off (no SMTP host)"
        await uow.commit()
        return len(rows)
