"""Conversation subscriptions: messages, read receipts and typing, live."""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator
from datetime import datetime
from typing import Any

import strawberry

from sessions_gql.api import ids
from sessions_gql.api.context import Info
from sessions_gql.api.messaging.types import (
    Conversation,
    ConversationEvent,
    Message,
    MessageAdded,
    MessagesRead,
    TypingChanged,
    message_added,
)
from sessions_gql.api.people.types import User
from sessions_gql.db import models as m
from sessions_gql.domain.enums import Role
from sessions_gql.domain.errors import NotFound
from sessions_gql.realtime import streams
from sessions_gql.realtime.channels import conversation_channel
from sessions_gql.services.messaging.conversation_queries import can_see


async def _conversation(info: Info, conversation_id: uuid.UUID) -> m.Conversation:
    async with info.context.deps.sessions() as db:
        row = await db.get(m.Conversation, conversation_id)
    if row is None or not can_see(info.context.viewer, row):
        raise NotFound("no such conversation", field="conversationId")
    return row


async def _ephemeral(info: Info, payload: dict[str, Any], wanted: uuid.UUID | None
                     ) -> MessagesRead | TypingChanged | None:
    """A live-only event, if it concerns this subscription and the viewer."""
    conversation_id = uuid.UUID(str(payload.get("conversation_id")))
    if wanted is not None and conversation_id != wanted:
        return None
    loaders = info.context.loaders
    conversation = await _conversation(info, conversation_id)
    at = datetime.fromisoformat(str(payload["at"]))
    if payload.get("type") == "typing":
        user = await loaders.user_by_id.load(uuid.UUID(str(payload["user_id"])))
        if user is None or user.id == info.context.viewer.user_id:
            return None
        return TypingChanged(conversation=Conversation.of(conversation), user=User.of(user),
                             typing=bool(payload["typing"]), at=at)
    if payload.get("type") == "read":
        async with info.context.deps.sessions() as db:
            message = await db.get(m.Message, int(payload["up_to"]))
        if message is None:
            return None
        return MessagesRead(conversation=Conversation.of(conversation), reader_role=Role(payload["reader_role"]),
                            up_to=Message.of(message), at=at)
    return None


async def conversation_events(info: Info, conversation_id: strawberry.ID | None = None, after: str | None = None
                              ) -> AsyncGenerator[ConversationEvent, None]:
    context = info.context
    viewer = context.viewer
    target = ids.maybe_uuid(conversation_id, "Conversation", field="conversationId")
    if target is not None:
        await _conversation(info, target)
    channel = streams.channel_for(viewer, target, conversation_channel, what="conversation", field="conversationId")
    fetch = streams.message_fetch(viewer, target)
    async for item in streams.follow(context, channels=[channel], after=after, model=m.Message, fetch=fetch,
                                     ephemeral=True, payload=message_added):
        if isinstance(item, MessageAdded):
            yield item
            continue
        event = await _ephemeral(info, item, target)
        if event is not None:
            yield event
