"""Read side of messaging: which conversations a viewer sees, their pages of messages, unread counts."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ColumnElement, and_, false, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from sessions_gql.auth.viewer import Viewer
from sessions_gql.db import loaders
from sessions_gql.db import models as m
from sessions_gql.db.loaders import unread_messages_query
from sessions_gql.domain.enums import Party
from sessions_gql.services.sessions.session_queries import Page

C, Msg = m.Conversation, m.Message


def side_of(viewer: Viewer, conversation: m.Conversation) -> Party | None:
    """The viewer's side of the conversation; None for admins and strangers."""
    if viewer.member_id is not None and conversation.member_id == viewer.member_id:
        return Party.MEMBER
    if viewer.provider_id is not None and conversation.provider_id == viewer.provider_id:
        return Party.PROVIDER
    return None


def read_mark(conversation: m.Conversation, side: Party) -> int | None:
    mark: int | None = loaders.read_mark(conversation, side)
    return mark


def can_see(viewer: Viewer, conversation: m.Conversation) -> bool:
    return viewer.is_admin or side_of(viewer, conversation) is not None


def conversation_scope(viewer: Viewer) -> list[ColumnElement[bool]]:
    """Admins see every conversation; members and providers their own."""
    if viewer.is_admin:
        return []
    if viewer.member_id is not None:
        return [C.member_id == viewer.member_id]
    if viewer.provider_id is not None:
        return [C.provider_id == viewer.provider_id]
    return [false()]


CONVERSATION_ORDER = (C.last_message_at.desc(), C.id.desc())


def conversation_conditions(viewer: Viewer, after: tuple[datetime, uuid.UUID] | None) -> list[ColumnElement[bool]]:
    """The viewer's conversations that have a message, after the keyset cursor (`CONVERSATION_ORDER`)."""
    conditions = [*conversation_scope(viewer), C.last_message_at.is_not(None)]
    if after is not None:
        at, key = after
        conditions.append(or_(C.last_message_at < at, and_(C.last_message_at == at, C.id < key)))
    return conditions


async def conversations_page(db: AsyncSession, *, viewer: Viewer, first: int,
                             after: tuple[datetime, uuid.UUID] | None) -> Page:
    """Newest activity first, keyset on (last_message_at, id)."""
    query = select(C).where(*conversation_conditions(viewer, after)).order_by(*CONVERSATION_ORDER).limit(first + 1)
    rows = list((await db.scalars(query)).all())
    return Page(rows=rows[:first], has_next=len(rows) > first)


async def messages_page(db: AsyncSession, *, conversation_id: uuid.UUID, last: int, before_id: int | None
                        ) -> tuple[list[m.Message], bool]:
    """The newest `last` messages before the cursor, oldest first; and whether older ones exist."""
    query = select(Msg).where(Msg.conversation_id == conversation_id)
    if before_id is not None:
        query = query.where(Msg.id < before_id)
    rows = list((await db.scalars(query.order_by(Msg.id.desc()).limit(last + 1))).all())
    return list(reversed(rows[:last])), len(rows) > last


async def unread_in(db: AsyncSession, *, conversation_id: uuid.UUID, side: Party, user_id: uuid.UUID) -> int:
    """Messages from the other side, and system messages, after the viewer's read mark."""
    rows = (await db.execute(unread_messages_query([conversation_id], side=side, user_id=user_id))).all()
    return sum(int(row[1]) for row in rows)


async def latest_message_id(db: AsyncSession, conversation_id: uuid.UUID) -> int | None:
    return await db.scalar(select(func.max(Msg.id)).where(Msg.conversation_id == conversation_id))


async def visible_message(db: AsyncSession, *, viewer: Viewer, message_id: int) -> m.Message | None:
    """A message, if the viewer may see its conversation."""
    row = await db.get(Msg, message_id)
    if row is None:
        return None
    conversation = await db.get(C, row.conversation_id)
    return row if conversation is not None and can_see(viewer, conversation) else None
