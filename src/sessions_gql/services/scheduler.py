"""Time-driven transitions: jobs derived from each session's state, claimed with SKIP LOCKED, run once."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from sqlalchemy import select

from sessions_gql.db import models as m
from sessions_gql.db.uow import UnitOfWork
from sessions_gql.domain.enums import SessionStatus
from sessions_gql.domain.errors import DomainError
from sessions_gql.services import idempotency
from sessions_gql.services.deps import Deps
from sessions_gql.services.messaging import email_delivery

log = logging.getLogger("sessions_gql.scheduler")
S = SessionStatus
Handler = Callable[[UnitOfWork, Deps, m.Job, datetime], Awaitable[None]]
HANDLERS: dict[str, Handler] = {}


def job_handler(kind: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        HANDLERS[kind] = handler
        return handler

    return register


async def next_due_at(deps: Deps, *, until: datetime) -> datetime | None:
    """When the earliest pending job falls due, if that is by `until`."""
    J = m.Job
    async with deps.sessions() as db:
        at = await db.scalar(select(J.run_at).where(J.done_at.is_(None), J.run_at <= until).order_by(J.run_at).limit(1))
    return at


async def run_due(deps: Deps, *, limit: int = 100) -> int:
    """Run every job due by the clock's now, one transaction each; returns how many ran."""
    done = 0
    while done < limit:
        ran = await _run_one(deps)
        if not ran:
            break
        done += 1
    return done


async def _run_one(deps: Deps) -> bool:
    now = deps.clock.now()
    J = m.Job
    async with deps.uow() as uow:
        query = (select(J).where(J.done_at.is_(None), J.run_at <= now).order_by(J.run_at, J.id).limit(1)
                 .with_for_update(skip_locked=True))
        job = await uow.session.scalar(query)
        if job is None:
            return False
        handler = HANDLERS.get(job.kind)
        try:
            if handler is None:
                raise RuntimeError(f"no handler for job kind {job.kind!r}")
            async with uow.session.begin_nested():
                await handler(uow, deps, job, now)
        except DomainError as exc:
            job.last_error = f"skipped: {exc.code}: {exc.message}"
        except Exception as exc:
            log.exception("job %s (%s) failed", job.id, job.kind)
            job.attempts += 1
            job.last_error = f"{type(exc).__name__}: {exc}"
            job.run_at = now + _backoff(job.attempts)
            await uow.commit()
            return True
        job.done_at = now
        job.attempts += 1
        await uow.commit()
        return True


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(3600, 5 * 2 ** min(attempts, 10)))


async def run_forever(deps: Deps, *, interval: float = 1.0, stop: asyncio.Event | None = None) -> None:
    """The worker loop: run the jobs due, send the emails due, sleep a little, repeat until `stop` is set."""
    stop = stop or asyncio.Event()
    passes = 0
    while not stop.is_set():
        try:
            await deps.clock.refresh()  # the shared test clock: jobs run at the deployment's time
            await run_due(deps)
            await email_delivery.deliver_due(deps)
            if passes % 600 == 0:  # about every ten minutes: forget idempotency keys older than 48 h
                async with deps.uow() as uow:
                    await idempotency.purge_expired(uow, now=deps.clock.now())
                    await uow.commit()
            passes += 1
        except Exception:
            log.exception("scheduler pass failed")
        try:
            await asyncio.wait_for(stop.wait(), timeout=interval)
        except TimeoutError:
            continue
