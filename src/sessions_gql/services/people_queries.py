"""Read side of people: provider search, wallet ledger, earnings, unread counts."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Select, String, and_, cast, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from sessions_gql.auth.viewer import Viewer
from sessions_gql.db import models as m
from sessions_gql.domain.enums import LISTED_VISIBILITIES, Modality, PaymentStatus, Role
from sessions_gql.services.session_queries import Page

CAPTURED = (PaymentStatus.CAPTURED, PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.REFUNDED)


def _like(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def ledger_page(db: AsyncSession, *, member_id: uuid.UUID, first: int, before_id: int | None) -> Page:
    """Newest first."""
    query = select(m.LedgerEntry).where(m.LedgerEntry.member_id == member_id)
    if before_id is not None:
        query = query.where(m.LedgerEntry.id < before_id)
    rows = list((await db.scalars(query.order_by(m.LedgerEntry.id.desc()).limit(first + 1))).all())
    return Page(rows=rows[:first], has_next=len(rows) > first)


async def providers_page(
    db: AsyncSession,
    *,
    viewer: Viewer,
    first: int,
    after: tuple[str, uuid.UUID] | None,
    skill: str | None,
    modality: Modality | None,
    search: str | None,
) -> Page:
    """Providers by name; members see ACTIVE ones, a provider also itself, admins everyone."""
    P, Svc = m.Provider, m.Service
    conditions = []
    if not viewer.is_admin:
        visible = P.visibility.in_(LISTED_VISIBILITIES)
        conditions.append(or_(visible, P.id == viewer.provider_id) if viewer.provider_id else visible)
    if search:
        pattern = _like(search.strip())
        conditions.append(or_(func.lower(P.display_name).like(pattern, escape="\\"),
                              func.lower(func.coalesce(P.bio, "")).like(pattern, escape="\\")))
    offered = []
    if skill:
        offered.append(func.lower(cast(Svc.skills, String)).like(_like(json.dumps(skill.strip().lower())),
                                                                  escape="\\"))
    if modality is not None:
        offered.append(cast(Svc.modalities, String).like(_like(json.dumps(modality.value)).upper(), escape="\\"))
    if offered:
        conditions.append(select(Svc.id).where(Svc.provider_id == P.id, Svc.archived_at.is_(None), *offered).exists())
    if after is not None:
        conditions.append(or_(P.display_name > after[0], and_(P.display_name == after[0], P.id > after[1])))
    query = select(P).where(*conditions).order_by(P.display_name, P.id).limit(first + 1)
    rows = list((await db.scalars(query)).all())
    return Page(rows=rows[:first], has_next=len(rows) > first)


def users_query(*, first: int, after: tuple[str, uuid.UUID] | None, search: str | None, role: Role | None
                ) -> Select[m.User]:
    """Every user (for admins) by display name then id; `search` is any part of the name, email or phone, any
    case, with %, _ and \\ taken literally. PostgreSQL answers the ILIKE from pg_trgm indexes (migration 0007)."""
    U = m.User
    conditions = []
    if search and search.strip():
        pattern = _like(search.strip())
        conditions.append(or_(U.display_name.ilike(pattern, escape="\\"), U.email.ilike(pattern, escape="\\"),
                              U.phone.ilike(pattern, escape="\\")))
    if role is not None:
        conditions.append(U.role == role)
    if after is not None:
        conditions.append(or_(U.display_name > after[0], and_(U.display_name == after[0], U.id > after[1])))
    return select(U).where(*conditions).order_by(U.display_name, U.id).limit(first + 1)


async def users_page(db: AsyncSession, *, first: int, after: tuple[str, uuid.UUID] | None, search: str | None,
                     role: Role | None) -> Page:
    rows = list((await db.scalars(users_query(first=first, after=after, search=search, role=role))).all())
    return Page(rows=rows[:first], has_next=len(rows) > first)


async def earnings(
    db: AsyncSession, *, provider_id: uuid.UUID, start: datetime, end: datetime
) -> tuple[int, Decimal, Decimal]:
    """(sessions, gross, net) for sessions whose funds were captured and that started in [start, end)."""
    S = m.Session
    query = select(S.fee, S.commission_rate, S.captured_credits, S.refunded_credits, S.provider_earnings).where(
        S.provider_id == provider_id, S.payment_status.in_(CAPTURED), S.starts_at >= start, S.starts_at < end
    )
    count, gross, net = 0, Decimal("0"), Decimal("0")
    for row in (await db.execute(query)).all():
        count += 1
        share = (
            Decimal(row.captured_credits - row.refunded_credits) / row.captured_credits
            if row.captured_credits
            else Decimal(1)
        )
        gross += (Decimal(row.fee) * share).quantize(Decimal("0.01"))
        net += Decimal(row.provider_earnings)
    return count, gross, net


async def unread_counts(db: AsyncSession, *, viewer: Viewer) -> tuple[int, int]:
    notifications = await db.scalar(
        select(func.count()).select_from(m.Notification).where(
            m.Notification.user_id == viewer.user_id, m.Notification.read_at.is_(None)
        )
    )
    C, Msg = m.Conversation, m.Message
    if viewer.member_id is not None:
        mine, read_up_to = C.member_id == viewer.member_id, C.member_read_up_to
    elif viewer.provider_id is not None:
        mine, read_up_to = C.provider_id == viewer.provider_id, C.provider_read_up_to
    else:
        return int(notifications or 0), 0
    messages = await db.scalar(
        select(func.count()).select_from(Msg).join(C, C.id == Msg.conversation_id).where(
            mine,
            or_(Msg.sender_user_id.is_(None), Msg.sender_user_id != viewer.user_id),
            or_(read_up_to.is_(None), Msg.id > read_up_to),
        )
    )
    return int(notifications or 0), int(messages or 0)
