"""What the scheduler does when a session's time comes: expire, drop a stale proposal, close, no-show."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sessions_gql.db import models as m
from sessions_gql.db.uow import UnitOfWork
from sessions_gql.domain.enums import NotificationKind, Party, SessionStatus, TimelineEventType
from sessions_gql.domain.errors import InvalidTransition, NotFound
from sessions_gql.domain.events import DomainEvent
from sessions_gql.domain.policy import BookingPolicy
from sessions_gql.domain.session import Session
from sessions_gql.services import outbox
from sessions_gql.services.deps import Deps
from sessions_gql.services.messaging import notify
from sessions_gql.services.people import packages as _packages  # noqa: F401  (registers the package expiry job
from sessions_gql.services.scheduler import job_handler
from sessions_gql.services.sessions.repository import SessionRepository

SystemStep = Callable[[Session, datetime, BookingPolicy], list[DomainEvent]]

STEPS: dict[str, SystemStep] = {
    "expire": lambda s, now, policy: s.expire(now=now, policy=policy),
    "expire_proposal": lambda s, now, policy: s.expire_proposal(now=now, policy=policy),
    "provider_no_show": lambda s, now, policy: s.provider_no_show(now=now, policy=policy),
    "auto_complete": lambda s, now, policy: s.end(actor=None, now=now, policy=policy),
}


def _register(kind: str, step: SystemStep) -> None:
    async def handle(uow: UnitOfWork, deps: Deps, job: m.Job, now: datetime) -> None:
        if job.session_id is None:
            raise NotFound("the job names no session")

        sessions = SessionRepository(uow, deps)
        loaded = await sessions.lock(job.session_id, viewer=None, expected_version=None)
        events = step(loaded.session, now, deps.policy)
        await sessions.save(loaded, events, actor=None, now=now, keep_job=job.id)

    job_handler(kind)(handle)


for _kind, _step in STEPS.items():
    _register(_kind, _step)


REMINDED = (SessionStatus.CONFIRMED, SessionStatus.RESCHEDULING)


def _register_reminder(kind: str, notification: NotificationKind, party: Party) -> None:
    async def handle(uow: UnitOfWork, deps: Deps, job: m.Job, now: datetime) -> None:
        row = await uow.session.get(m.Session, job.session_id, with_for_update=True) if job.session_id else None
        if row is None or row.status not in REMINDED:
            raise InvalidTransition("the session is no longer agreed; no reminder")
        owner = (await uow.session.get(m.Member, row.member_id) if party is Party.MEMBER
                 else await uow.session.get(m.Provider, row.provider_id))
        assert owner is not None
        note = await notify.notify(uow, user_id=owner.user_id, kind=notification, session=row, now=now)
        event = m.TimelineEvent(session_id=row.id, type=TimelineEventType.REMINDER_SENT, at=now,
                                note=notification.value)
        uow.session.add(event)
        await uow.session.flush()
        outbox.emit(uow, channels=[outbox.session_channel(row.id), outbox.user_channel(owner.user_id)], now=now,
                    timeline=[event.id], notifications=[note.id])

    job_handler(kind)(handle)


_register_reminder("member_reminder", NotificationKind.MEETING_REMINDER, Party.MEMBER)
_register_reminder("provider_link", NotificationKind.MEETING_LINK, Party.PROVIDER)
