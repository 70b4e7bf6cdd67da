"""Rows written straight through the ORM (states the API tests need without the booking mutations), and helpers."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, text

from sessions_gql.api import ids
from sessions_gql.db import models as m
from sessions_gql.db.types import uuid7
from sessions_gql.domain.enums import (
    Modality,
    Party,
    PaymentStatus,
    Role,
    SessionStatus,
    TimelineEventType,
)
from sessions_gql.services.deps import Deps


async def insert_service(deps: Deps, provider_id: uuid.UUID, *, name: str = "Coaching", duration_minutes: int = 60,
                         price_credits: int = 10, packages: list[dict[str, int]] | None = None) -> uuid.UUID:
    service = m.Service(
        id=uuid7(), provider_id=provider_id, name=name, skills=["career"], duration_minutes=duration_minutes,
        price_credits=price_credits, fee=Decimal("45.00"), currency="EUR", modalities=[Modality.VIDEO.value],
        free_initial_consultation=False, created_at=deps.clock.now(), packages=packages or [],
    )
    async with deps.sessions() as db, db.begin():
        db.add(service)
    return service.id


async def insert_package(deps: Deps, member_id: uuid.UUID, provider_id: uuid.UUID, service_id: uuid.UUID, *,
                         sessions: int = 2, price_credits: int = 20) -> uuid.UUID:
    """A bought package (without its purchase's ledger row), valid for a year."""
    now = deps.clock.now()
    package = m.Package(
        id=uuid7(), member_id=member_id, provider_id=provider_id, service_id=service_id, sessions_total=sessions,
        price_credits=price_credits, fee=Decimal("90.00"), currency="EUR", refunded_places=[], refunded_credits=0,
        purchased_at=now, valid_until=now + timedelta(days=365),
    )
    async with deps.sessions() as db, db.begin():
        db.add(package)
    return package.id


async def insert_session(
    deps: Deps,
    member_id: uuid.UUID,
    provider_id: uuid.UUID,
    service_id: uuid.UUID,
    starts_at: datetime,
    status: SessionStatus,
    *,
    duration_minutes: int = 60,
    approved_by_member: bool = True,
    approved_by_provider: bool = True,
    proposal_by: Party | None = None,
    hold: bool = False,
    first_event: TimelineEventType | None = TimelineEventType.REQUESTED,
) -> uuid.UUID:
    """One session row with every NOT NULL column filled; optionally its slot hold and first timeline event."""
    now = deps.clock.now()
    ends_at = starts_at + timedelta(minutes=duration_minutes)
    session = m.Session(
        id=uuid7(), member_id=member_id, provider_id=provider_id, service_id=service_id, skill="career",
        modality=Modality.VIDEO, starts_at=starts_at, ends_at=ends_at, status=status, price_credits=10,
        funding=None, payment_status=PaymentStatus.NONE, held_credits=0, held_sponsored_minutes=0,
        captured_credits=0, refunded_credits=0, fee=Decimal("45.00"), currency="EUR",
        commission_rate=Decimal("0.1000"), provider_earnings=Decimal("0"), approved_by_member=approved_by_member,
        approved_by_provider=approved_by_provider, proposal_by=proposal_by,
        proposal_starts_at=starts_at + timedelta(days=1) if proposal_by else None,
        proposal_ends_at=ends_at + timedelta(days=1) if proposal_by else None,
        proposal_at=now if proposal_by else None, created_by=Role.MEMBER, created_at=now, updated_at=now,
        version=1,
    )
    async with deps.sessions() as db, db.begin():
        db.add(session)
        await db.flush()
        if hold:
            db.add(m.SlotHold(id=uuid7(), session_id=session.id, kind="session", provider_id=provider_id,
                              member_id=member_id, starts_at=starts_at, ends_at=ends_at))
        if first_event is not None:
            db.add(m.TimelineEvent(session_id=session.id, type=first_event, actor_role=Role.MEMBER, at=now,
                                   to_status=SessionStatus.AWAITING_APPROVAL))
    return session.id


async def add_timeline_event(deps: Deps, session_id: uuid.UUID, event_type: TimelineEventType) -> None:
    async with deps.sessions() as db, db.begin():
        db.add(m.TimelineEvent(session_id=session_id, type=event_type, actor_role=None, at=deps.clock.now()))


async def set_calendar_token(deps: Deps, provider_id: uuid.UUID, token: str) -> None:
    async with deps.sessions() as db, db.begin():
        provider = await db.get(m.Provider, provider_id)
        assert provider is not None
        provider.calendar_token = token


async def until_waiting_on_a_lock(deps: Deps, task: asyncio.Task[Any]) -> None:
    """Wait (at most 20 s) until a statement of this database waits for a row lock (PostgreSQL), e.g. the one
    `task` sent; the task must still be running then."""
    for _ in range(1000):
        async with deps.sessions() as db:
            waiting = await db.scalar(text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                                           " AND wait_event_type = 'Lock'"))
        if waiting or task.done():
            break
        await asyncio.sleep(0.02)
    assert not task.done(), task
    assert waiting == 1


async def count_rows(deps: Deps, model: type[m.Base]) -> int:
    async with deps.sessions() as db:
        return int(await db.scalar(select(func.count()).select_from(model)) or 0)


def gid(type_name: str, key: uuid.UUID) -> str:
    return ids.encode(type_name, key)


def refused(code: str, field: str | None) -> dict[str, Any]:
    """A mutation result that is a BasicError, as selected with `... on BasicError { code field }`."""
    return {"__typename": "BasicError", "code": code, "field": field}
