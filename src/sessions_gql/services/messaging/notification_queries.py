"""In-app notifications for the viewer: the newest-first list, and marking them read."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from sessions_gql.auth.viewer import Viewer
from sessions_gql.db import models as m
from sessions_gql.domain.errors import NotFound
from sessions_gql.services.deps import Deps
from sessions_gql.services.sessions.session_queries import Page

N = m.Notification


async def notifications_page(db: AsyncSession, *, user_id: uuid.UUID, first: int, before_id: int | None,
                             unread_only: bool) -> Page:
    """The user's own notifications, newest first, keyset on id."""
    query = select(N).where(N.user_id == user_id)
    if unread_only:
        query = query.where(N.read_at.is_(None))
    if before_id is not None:
        query = query.where(N.id < before_id)
    rows = list((await db.scalars(query.order_by(N.id.desc()).limit(first + 1))).all())
    return Page(rows=rows[:first], has_next=len(rows) > first)


async def own_notification(db: AsyncSession, *, viewer: Viewer, notification_id: int) -> m.Notification | None:
    row = await db.get(N, notification_id)
    return row if row is not None and row.user_id == viewer.user_id else None


async def unread_count(db: AsyncSession, *, user_id: uuid.UUID) -> int:
    query = select(func.count()).select_from(N).where(N.user_id == user_id, N.read_at.is_(None))
    return int(await db.scalar(query) or 0)


async def mark_read(deps: Deps, *, viewer: Viewer, up_to: int | None) -> int:
    """Mark the viewer's notifications up to `up_to` (all when omitted) read; the number still unread."""
    now = deps.clock.now()
    async with deps.uow() as uow:
        db = uow.session
        conditions = [N.user_id == viewer.user_id, N.read_at.is_(None)]
        if up_to is not None:
            if await own_notification(db, viewer=viewer, notification_id=up_to) is None:
                raise NotFound("no such notification", field="upTo")
            conditions.append(N.id <= up_to)
        await db.execute(update(N).where(*conditions).values(read_at=now)
                         .execution_options(synchronize_session=False))
        unread = await unread_count(db, user_id=viewer.user_id)
        await uow.commit()
        return unread
