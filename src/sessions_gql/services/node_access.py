"""Who may fetch a User by `node(id:)`: whoever can reach it through a field today (DECISIONS.md "Reading").

A user is reachable as the viewer itself, as the user of a visible member or provider, as a party of the viewer's
conversations (Conversation.member/provider, Message.sender), as the actor of an event on a session the viewer is
party to (TimelineEvent.actor, admins included), and as the author of a note the viewer may read (Note.author).
"""

from __future__ import annotations

import uuid

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from sessions_gql.auth.viewer import Viewer
from sessions_gql.db import models as m
from sessions_gql.db.loaders import Loaders
from sessions_gql.services import visibility


async def can_see_user(db: AsyncSession, viewer: Viewer, loaders: Loaders, user_id: uuid.UUID) -> bool:
    if viewer.is_admin or viewer.user_id == user_id:
        return True
    provider = await loaders.provider_by_user_id.load(user_id)
    if provider is not None and (visibility.can_see_provider(viewer, provider)
                                 or await _pair(db, viewer, provider_id=provider.id)):
        return True
    member = await loaders.member_by_user_id.load(user_id)
    if member is not None and (await visibility.can_see_member(viewer, member.id, loaders)
                               or await _pair(db, viewer, member_id=member.id)):
        return True
    return await _acted_where_viewer_sees(db, viewer, user_id)


async def _pair(db: AsyncSession, viewer: Viewer, *, provider_id: uuid.UUID | None = None,
                member_id: uuid.UUID | None = None) -> bool:
    """Whether the viewer shares a session or a conversation with that provider (or member)."""
    if provider_id is not None and viewer.member_id is not None:
        pair = (viewer.member_id, provider_id)
    elif member_id is not None and viewer.provider_id is not None:
        pair = (member_id, viewer.provider_id)
    else:
        return False
    S, C = m.Session, m.Conversation
    session = select(S.id).where(S.member_id == pair[0], S.provider_id == pair[1]).exists()
    conversation = select(C.id).where(C.member_id == pair[0], C.provider_id == pair[1]).exists()
    return bool(await db.scalar(select(or_(session, conversation))))


async def _acted_where_viewer_sees(db: AsyncSession, viewer: Viewer, user_id: uuid.UUID) -> bool:
    S, E, N = m.Session, m.TimelineEvent, m.Note
    parties = [S.member_id == viewer.member_id] if viewer.member_id is not None else []
    if viewer.provider_id is not None:
        parties.append(S.provider_id == viewer.provider_id)
    if not parties:
        return False
    acted = select(E.id).join(S, S.id == E.session_id).where(E.actor_user_id == user_id, or_(*parties)).exists()
    if viewer.provider_id is None:
        return bool(await db.scalar(select(acted)))
    wrote = select(N.id).where(N.author_user_id == user_id, N.provider_id == viewer.provider_id).exists()
    return bool(await db.scalar(select(or_(acted, wrote))))
