"""Read side of sessions: the lists every dashboard shows, keyset-paginated, scoped to the viewer."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, TextClause, and_, false, func, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from sessions_gql.auth.viewer import Viewer
from sessions_gql.db import models as m
from sessions_gql.domain.enums import OPEN_STATUSES, Funding, Party, SessionStatus

S = m.Session
UPCOMING = (SessionStatus.CONFIRMED, SessionStatus.RESCHEDULING, SessionStatus.IN_PROGRESS)
PAST = (
    SessionStatus.COMPLETED,
    SessionStatus.NO_SHOW,
    SessionStatus.CANCELLED,
    SessionStatus.DECLINED,
    SessionStatus.EXPIRED,
)


@dataclass(frozen=True)
class SessionQuery:
    view: str | None = None
    statuses: tuple[SessionStatus, ...] = ()
    member_id: uuid.UUID | None = None
    provider_id: uuid.UUID | None = None
    starts_after: datetime | None = None
    starts_before: datetime | None = None
    package_id: uuid.UUID | None = None
    funding: tuple[Funding, ...] = ()


@dataclass(frozen=True)
class Page:
    rows: list[Any]
    has_next: bool
    total: int | None = None


def viewer_scope(viewer: Viewer) -> ColumnElement[bool]:
    if viewer.is_admin:
        return true()
    if viewer.member_id is not None:
        return S.member_id == viewer.member_id
    if viewer.provider_id is not None:
        return S.provider_id == viewer.provider_id
    return false()


def _status_is(*statuses: SessionStatus) -> TextClause:
    """Written out as literals, so that the open-session indexes (migration 0004) serve the views: a provider's
    open sessions are read, not their whole history."""
    return m.in_literals("sessions.status", *statuses)


def _awaiting(party: Party) -> ColumnElement[bool]:
    """Sessions waiting for `party`: an unanswered request or proposal, or the other side's new time."""
    approved = S.approved_by_member if party is Party.MEMBER else S.approved_by_provider
    other = Party.PROVIDER if party is Party.MEMBER else Party.MEMBER
    return or_(
        and_(_status_is(SessionStatus.AWAITING_APPROVAL), approved.is_(False)),
        and_(_status_is(SessionStatus.RESCHEDULING), S.proposal_by == other),
    )


def _view(view: str, viewer: Viewer, now: datetime) -> ColumnElement[bool] | TextClause:
    if view == "UPCOMING":
        return and_(_status_is(*UPCOMING), S.ends_at > now)
    if view == "ONGOING":
        return _status_is(SessionStatus.IN_PROGRESS)
    if view == "PAST":
        return S.status.in_(PAST)
    mine = Party.MEMBER if viewer.member_id is not None else Party.PROVIDER
    if viewer.is_admin:
        return or_(_awaiting(Party.MEMBER), _awaiting(Party.PROVIDER))
    theirs = Party.PROVIDER if mine is Party.MEMBER else Party.MEMBER
    return _awaiting(mine if view == "AWAITING_MY_RESPONSE" else theirs)


def session_conditions(viewer: Viewer, query: SessionQuery, now: datetime) -> list[ColumnElement[bool] | TextClause]:
    conditions: list[ColumnElement[bool] | TextClause] = [viewer_scope(viewer)]
    if query.view is not None:
        conditions.append(_view(query.view, viewer, now))
    if query.statuses:
        conditions.append(S.status.in_(query.statuses))
    if query.member_id is not None:
        conditions.append(S.member_id == query.member_id)
    if query.provider_id is not None:
        conditions.append(S.provider_id == query.provider_id)
    if query.starts_after is not None:
        conditions.append(S.starts_at >= query.starts_after)
    if query.starts_before is not None:
        conditions.append(S.starts_at < query.starts_before)
    if query.package_id is not None:
        conditions.append(S.package_id == query.package_id)
    if query.funding:  # a session not yet funded (a proposal not yet accepted) matches no funding
        conditions.append(S.funding.in_(query.funding))
    return conditions


def newest_first(query: SessionQuery) -> bool:
    return query.view == "PAST"


def page_order(query: SessionQuery) -> tuple[Any, Any]:
    """Time order, newest first for PAST; the id breaks ties."""
    return (S.starts_at.desc(), S.id.desc()) if newest_first(query) else (S.starts_at.asc(), S.id.asc())


def after_condition(query: SessionQuery, after: tuple[datetime, uuid.UUID]) -> ColumnElement[bool]:
    """The rows past a cursor's (starts_at, id) in the page's order."""
    key = (S.starts_at, S.id)
    if newest_first(query):
        return or_(key[0] < after[0], and_(key[0] == after[0], key[1] < after[1]))
    return or_(key[0] > after[0], and_(key[0] == after[0], key[1] > after[1]))


async def sessions_page(
    db: AsyncSession,
    *,
    viewer: Viewer,
    query: SessionQuery,
    now: datetime,
    first: int,
    after: tuple[datetime, uuid.UUID] | None,
    count: bool = True,
) -> Page:
    """A page in time order (newest first for PAST). With `count`, the total matching the filter (ignoring
    `after`) rides along in the same statement as an uncorrelated subquery, which PostgreSQL runs once."""
    conditions = session_conditions(viewer, query, now)
    total_query = select(func.count()).select_from(S).where(*conditions)
    if first == 0 and after is None and count:  # a count alone (a badge): one statement, no rows
        badge = int(await db.scalar(total_query) or 0)
        return Page(rows=[], has_next=badge > 0, total=badge)
    keyset = list(conditions)
    if after is not None:
        keyset.append(after_condition(query, after))
    order = page_order(query)
    columns = (S, total_query.scalar_subquery()) if count else (S,)
    found = (await db.execute(select(*columns).where(*keyset).order_by(*order).limit(first + 1))).all()
    rows = [row[0] for row in found]
    total = None
    if count:  # an empty page after a cursor says nothing of the total: ask for it alone
        total = int(found[0][1]) if found else (0 if after is None else int(await db.scalar(total_query) or 0))
    return Page(rows=rows[:first], has_next=len(rows) > first, total=total)


def holds_slot(status: SessionStatus) -> bool:
    return status in OPEN_STATUSES
