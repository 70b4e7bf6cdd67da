"""Private notes: a provider's (or an admin's) own notes on a member, optionally about one session."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from sessions_gql.auth.viewer import Viewer
from sessions_gql.db import models as m
from sessions_gql.db.types import uuid7
from sessions_gql.domain import validation as v
from sessions_gql.domain.enums import TimelineEventType
from sessions_gql.domain.errors import Forbidden, NotFound, ValidationError
from sessions_gql.services import outbox
from sessions_gql.services.deps import Deps
from sessions_gql.services.loaders_sql import shares_session

NOTE_LIMIT = 4000


async def add_note(deps: Deps, *, viewer: Viewer, body: str, session_id: uuid.UUID | None,
                   member_id: uuid.UUID | None) -> uuid.UUID:
    """On a session: a NOTE_ADDED timeline event (without the text, which the member never sees)."""
    if not (viewer.is_provider or viewer.is_admin):
        raise Forbidden("only providers and admins keep private notes")
    text = v.text(body, field="body", max_length=NOTE_LIMIT) or ""
    if (session_id is None) == (member_id is None):
        raise ValidationError("name exactly one of sessionId and memberId", field="sessionId")
    now = deps.clock.now()
    async with deps.uow() as uow:
        session = await uow.session.get(m.Session, session_id) if session_id else None
        mine = session is not None and (viewer.is_admin or session.provider_id == viewer.provider_id)
        if session_id is not None and not mine:
            raise NotFound("no such session", field="sessionId")
        about = session.member_id if session is not None else member_id
        provider_id = session.provider_id if session is not None else viewer.provider_id
        assert about is not None
        if provider_id is None:
            raise ValidationError("admins note on a session, which names the provider", field="sessionId")
        if session is None and not await shares_session(uow.session, provider_id=provider_id, member_id=about):
            raise NotFound("no such member", field="memberId")
        note = m.Note(id=uuid7(), provider_id=provider_id, member_id=about, session_id=session_id,
                      author_user_id=viewer.user_id, body=text, at=now)
        uow.session.add(note)
        if session is not None:
            event = m.TimelineEvent(session_id=session.id, type=TimelineEventType.NOTE_ADDED, actor_role=viewer.role,
                                    actor_user_id=viewer.user_id, at=now)
            uow.session.add(event)
            await uow.session.flush()
            outbox.emit(uow, channels=[outbox.session_channel(session.id)], now=now, timeline=[event.id])
        await uow.commit()
        return note.id


async def load_note(db: AsyncSession, note_id: uuid.UUID) -> m.Note:
    note = await db.get(m.Note, note_id)
    if note is None:
        raise NotFound("no such note")
    return note
