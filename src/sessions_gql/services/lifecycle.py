"""Booking use cases: open a unit of work, load and lock, call the domain, write its events, commit."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sessions_gql.auth.viewer import Viewer
from sessions_gql.db import models as m
from sessions_gql.db.uow import UnitOfWork
from sessions_gql.domain.actors import Actor
from sessions_gql.domain.events import DomainEvent
from sessions_gql.domain.session import Session
from sessions_gql.services import messaging, outbox, scheduler
from sessions_gql.services.deps import Deps
from sessions_gql.services.idempotency import run_once
from sessions_gql.services.session_effects import Written, apply_events
from sessions_gql.services.session_store import actor_of, load_for_update, new_row, to_domain


@dataclass
class Step:
    """What a transition sees: the entity, its row, who acts, when, and the open unit of work."""

    session: Session
    row: m.Session
    actor: Actor | None
    now: datetime
    uow: UnitOfWork
    deps: Deps


Transition = Callable[[Step], Awaitable[list[DomainEvent]]]


async def persist(uow: UnitOfWork, deps: Deps, *, row: m.Session, session: Session, events: list[DomainEvent],
                  actor: Actor | None, now: datetime) -> Written:
    """Everything a transition writes besides the caller's own checks, in the caller's transaction."""
    written = await apply_events(uow, deps, row=row, session=session, events=events, actor=actor, now=now)
    await scheduler.sync_jobs(uow, session, deps.policy, now)
    written.messages = await messaging.post_booking_message(uow, row=row, events=events, now=now)
    await uow.session.flush()
    outbox.session_changed(uow, row=row, written=written, now=now)
    return written


async def lock_parties(uow: UnitOfWork, *, provider_id: uuid.UUID, member_id: uuid.UUID
                       ) -> tuple[m.Provider | None, m.Member | None]:
    """Lock the provider, then the member: one order everywhere, so concurrent bookings queue, never deadlock."""
    provider = await uow.session.get(m.Provider, provider_id, with_for_update=True)
    member = await uow.session.get(m.Member, member_id, with_for_update=True)
    return provider, member


async def transition_in(uow: UnitOfWork, deps: Deps, *, session_id: uuid.UUID, viewer: Viewer | None,
                        expected_version: int | None, now: datetime, apply: Transition) -> m.Session:
    row = await load_for_update(uow.session, session_id=session_id, viewer=viewer, expected_version=expected_version)
    await lock_parties(uow, provider_id=row.provider_id, member_id=row.member_id)
    session = to_domain(row)
    actor = actor_of(viewer) if viewer is not None else None
    events = await apply(Step(session=session, row=row, actor=actor, now=now, uow=uow, deps=deps))
    await persist(uow, deps, row=row, session=session, events=events, actor=actor, now=now)
    return row


async def act(deps: Deps, *, viewer: Viewer, session_id: uuid.UUID, expected_version: int | None,
              idempotency_key: str | None, operation: str, payload: dict[str, Any], apply: Transition) -> uuid.UUID:
    """One transition of an existing session by a person, once per idempotency key."""
    now = deps.clock.now()

    async def work(uow: UnitOfWork) -> dict[str, str]:
        row = await transition_in(uow, deps, session_id=session_id, viewer=viewer,
                                  expected_version=expected_version, now=now, apply=apply)
        return {"session_id": str(row.id)}

    result = await run_once(deps.uow, user_id=viewer.user_id, key=idempotency_key, operation=operation,
                            payload={"session": str(session_id), "version": expected_version, **payload},
                            now=now, work=work)
    return uuid.UUID(result["session_id"])


Built = tuple[Session, list[DomainEvent], uuid.UUID | None]


async def create(deps: Deps, *, viewer: Viewer, idempotency_key: str | None, operation: str,
                 payload: dict[str, Any], build: Callable[[UnitOfWork, datetime], Awaitable[Built]]) -> uuid.UUID:
    """A new session (request or proposal): `build` checks the world and returns the entity and its events."""
    now = deps.clock.now()

    async def work(uow: UnitOfWork) -> dict[str, str]:
        session, events, sponsorship_id = await build(uow, now)
        row = new_row(session)
        row.sponsorship_id = sponsorship_id
        uow.session.add(row)
        await uow.session.flush()
        await persist(uow, deps, row=row, session=session, events=events, actor=actor_of(viewer), now=now)
        return {"session_id": str(row.id)}

    result = await run_once(deps.uow, user_id=viewer.user_id, key=idempotency_key, operation=operation,
                            payload=payload, now=now, work=work)
    return uuid.UUID(result["session_id"])
