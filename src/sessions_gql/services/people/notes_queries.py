"""Read side of private notes: a provider's own, never another provider's, never the member's view."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sessions_gql.auth.viewer import Viewer
from sessions_gql.db import models as m


def readable_notes(viewer: Viewer, notes: list[m.Note]) -> list[m.Note]:
    """A provider reads its own notes, an admin everyone's, a member none."""
    if viewer.is_admin:
        return notes
    if viewer.provider_id is None:
        return []
    return [note for note in notes if note.provider_id == viewer.provider_id]


async def notes_for(
    db: AsyncSession, *, viewer: Viewer, member_id: uuid.UUID, session_id: uuid.UUID | None = None
) -> list[m.Note]:
    """The viewing provider's notes on a member (or one session); admins see every provider's."""
    if not (viewer.is_admin or viewer.provider_id is not None):
        return []
    query = select(m.Note).where(m.Note.member_id == member_id)
    if not viewer.is_admin:
        query = query.where(m.Note.provider_id == viewer.provider_id)
    if session_id is not None:
        query = query.where(m.Note.session_id == session_id)
    return list((await db.scalars(query.order_by(m.Note.at, m.Note.id))).all())


async def timeline_page(db: AsyncSession, *, session_id: uuid.UUID, first: int, after_id: int | None
                        ) -> tuple[list[m.TimelineEvent], bool]:
    """Oldest first: the order things happened."""
    query = select(m.TimelineEvent).where(m.TimelineEvent.session_id == session_id)
    if after_id is not None:
        query = query.where(m.TimelineEvent.id > after_id)
    rows = list((await db.scalars(query.order_by(m.TimelineEvent.id).limit(first + 1))).all())
    return rows[:first], len(rows) > first
