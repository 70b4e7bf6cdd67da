"""Read side of people: provider search, wallet ledger, earnings, unread counts."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    and_,
    cast,
    false,
    func,
    literal,
    literal_column,
    or_,
    select,
    tuple_,
    union,
)
from sqlalchemy.ext.asyncio import AsyncSession

from sessions_gql.auth.viewer import Viewer
from sessions_gql.db import models as m
from sessions_gql.domain.enums import LISTED_VISIBILITIES, Modality, PaymentStatus, ProviderOrder, Role
from sessions_gql.services.sessions.session_queries import Page

CAPTURED = (PaymentStatus.CAPTURED, PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.REFUNDED)


def _like(text: str) -> str:
    return _pattern(text.lower())


def _pattern(text: str) -> str:
    """A LIKE pattern for `text` anywhere, with `%`, `_` and the escape character `\\` taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def ledger_page(db: AsyncSession, *, member_id: uuid.UUID, first: int, before_id: int | None) -> Page:
    """Newest first."""
    query = select(m.LedgerEntry).where(m.LedgerEntry.member_id == member_id)
    if before_id is not None:
        query = query.where(m.LedgerEntry.id < before_id)
    rows = list((await db.scalars(query.order_by(m.LedgerEntry.id.desc()).limit(first + 1))).all())
    return Page(rows=rows[:first], has_next=len(rows) > first)


ProviderKey = tuple[Any, ...]
"""Where a page of providers starts: the sort key of the last provider the previous page showed."""


def provider_sort_columns(order: ProviderOrder) -> list[Any]:
    """The ORDER BY of `providers`; `ix_providers_ranking` and the (visibility, display_name, id) index list
    the same columns after `visibility`, so a page is one index range (keyset), never a sort of all providers."""
    P = m.Provider
    if order is ProviderOrder.NAME:
        return [P.display_name, P.id]
    return [P.flagged, P.late_responses, P.rank_response_seconds, P.display_name, P.id]


def provider_sort_key(order: ProviderOrder, row: m.Provider) -> ProviderKey:
    if order is ProviderOrder.NAME:
        return (row.display_name, row.id)
    return (row.flagged, row.late_responses, row.rank_response_seconds, row.display_name, row.id)


def _contains(column: Any, pattern: Any) -> ColumnElement[bool]:
    """Part of, any case: both sides through the database's own lower(), so they fold alike."""
    return func.lower(column).like(pattern, escape="\\")


async def providers_page(
    db: AsyncSession,
    *,
    first: int,
    order: ProviderOrder,
    after: ProviderKey | None,
    skill: str | None,
    modality: Modality | None,
    search: str | None,
) -> Page:
    """The providers a member may find (ACTIVE ones), in `order`, after the key `after`."""
    query = providers_query(first=first, order=order, after=after, skill=skill, modality=modality, search=search)
    rows = list((await db.scalars(query)).all())
    return Page(rows=rows[:first], has_next=len(rows) > first)


def providers_query(
    *,
    first: int,
    order: ProviderOrder,
    after: ProviderKey | None,
    skill: str | None,
    modality: Modality | None,
    search: str | None,
) -> Select[m.Provider]:
    """The statement of `providers_page` (one row more than a page); bench/providers.py explains it.

    `skill` is part of a skill name, `search` part of the name, bio, a skill or a service name; any case, and
    `%`, `_` and `\\` in them are literal."""
    P, Svc = m.Provider, m.Service
    skill, search = (text.strip() if text else None for text in (skill, search))
    # `=` for the one listed state (ACTIVE): an equality on the index's first column keeps the keyset order
    listed = (P.visibility == LISTED_VISIBILITIES[0] if len(LISTED_VISIBILITIES) == 1
              else P.visibility.in_(LISTED_VISIBILITIES))
    conditions: list[ColumnElement[bool]] = [listed]
    offered: list[ColumnElement[bool]] = []
    if skill:
        offered.append(_skill_contains(skill))
    if modality is not None:
        offered.append(cast(Svc.modalities, String).like(_pattern(json.dumps(modality.value)), escape="\\"))
    if offered:
        conditions.append(select(Svc.id).where(Svc.provider_id == P.id, Svc.archived_at.is_(None), *offered).exists())
    if search:
        # one branch per indexed expression, so that PostgreSQL answers each from its trigram index
        pattern = func.lower(literal(_pattern(search), String))
        bio = func.coalesce(P.bio, literal_column("''"))  # literal: the same expression as the trigram index
        matching = union(
            select(P.id).where(_contains(P.display_name, pattern)),
            select(P.id).where(_contains(bio, pattern)),
            select(Svc.provider_id).where(_contains(Svc.name, pattern), Svc.archived_at.is_(None)),
            select(Svc.provider_id).where(_skill_contains(search), Svc.archived_at.is_(None)),
        )
        conditions.append(P.id.in_(matching))
    columns = provider_sort_columns(order)
    if after is not None:
        conditions.append(tuple_(*columns) > tuple_(*(literal(value, column.type)
                                                      for value, column in zip(after, columns, strict=True))))
    return select(P).where(*conditions).order_by(*columns).limit(first + 1)


def _skill_contains(fragment: str) -> ColumnElement[bool]:
    """Part of one skill: `skills_text` holds them one a line, and a fragment cannot span two (a line break in
    it matches no skill)."""
    if m.SKILLS_SEPARATOR in fragment:
        return false()
    return _contains(m.Service.skills_text, func.lower(literal(_pattern(fragment), String)))
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


def earned_in(provider_id: Any, *, start: datetime, end: datetime) -> list[ColumnElement[bool]]:
    """The sessions a provider's earnings count: their funds captured, started in [start, end)."""
    S = m.Session
    return [S.provider_id == provider_id, S.payment_status.in_(CAPTURED), S.starts_at >= start, S.starts_at < end]


async def earnings(
    db: AsyncSession, *, provider_id: uuid.UUID, start: datetime, end: datetime
) -> tuple[int, Decimal, Decimal]:
    """(sessions, gross, net) for sessions whose funds were captured and that started in [start, end)."""
    S = m.Session
    query = select(S.fee, S.commission_rate, S.captured_credits, S.refunded_credits, S.provider_earnings).where(
        *earned_in(provider_id, start=start, end=end))
    count, gross, net = 0, Decimal("0"), Decimal("0")
    for row in (await db.execute(query)).all():
        count += 1
        gross += gross_of(row.fee, captured=row.captured_credits, refunded=row.refunded_credits)
        net += Decimal(row.provider_earnings)
    return count, gross, net


def gross_of(fee: Decimal, *, captured: int, refunded: int) -> Decimal:
    """A session's gross in the earnings: its fee times the share of the captured credits not refunded, to the
    cent."""
    share = Decimal(captured - refunded) / captured if captured else Decimal(1)
    return (Decimal(fee) * share).quantize(Decimal("0.01"))


def unread_notifications_count(user_id: Any) -> Select[int]:
    """The user's notifications not yet read (`user_id` a value or a bind parameter)."""
    N = m.Notification
    return select(func.count()).select_from(N).where(N.user_id == user_id, N.read_at.is_(None))


def unread_messages_count(viewer: Viewer) -> Select[int] | None:
    """Messages in the viewer's conversations from the other side, and system ones, after the viewer's read
    mark; None for a viewer with no side (an admin)."""
    C, Msg = m.Conversation, m.Message
    if viewer.member_id is not None:
        mine, read_up_to = C.member_id == viewer.member_id, C.member_read_up_to
    elif viewer.provider_id is not None:
        mine, read_up_to = C.provider_id == viewer.provider_id, C.provider_read_up_to
    else:
        return None
    return select(func.count()).select_from(Msg).join(C, C.id == Msg.conversation_id).where(
        mine,
        or_(Msg.sender_user_id.is_(None), Msg.sender_user_id != viewer.user_id),
        or_(read_up_to.is_(None), Msg.id > read_up_to),
    )


async def unread_counts(db: AsyncSession, *, viewer: Viewer) -> tuple[int, int]:
    notifications = await db.scalar(unread_notifications_count(viewer.user_id))
    messages_query = unread_messages_count(viewer)
    messages = await db.scalar(messages_query) if messages_query is not None else 0
    return int(notifications or 0), int(messages or 0)
