"""Resolvers for conversations, messages and notifications: decode, call the use case or query, map."""

from __future__ import annotations

import uuid
from datetime import datetime

import strawberry

from sessions_gql.db import models as m
from sessions_gql.domain.enums import Party
from sessions_gql.domain.errors import NotFound, ValidationError
from sessions_gql.resolvers import ids
from sessions_gql.resolvers.cursors import decode_cursor, encode_cursor, page_size
from sessions_gql.resolvers.errors import result_or_error
from sessions_gql.schema import messaging as t
from sessions_gql.schema.common import page_info
from sessions_gql.schema.context import Info
from sessions_gql.services import conversation_queries, messaging, notification_queries

BAD_CURSOR = "that cursor is not one this API gave out"

# ------------------------------------------------------------------ helpers


def id_cursor(cursor: str | None, field: str) -> int | None:
    if cursor is None:
        return None
    (raw,) = decode_cursor(cursor, parts=1, field=field)
    if not raw.isdigit():
        raise ValidationError(BAD_CURSOR, field=field)
    return int(raw)


def _activity_cursor(cursor: str | None) -> tuple[datetime, uuid.UUID] | None:
    if cursor is None:
        return None
    at, raw_id = decode_cursor(cursor, parts=2)
    try:
        key = datetime.fromisoformat(at), uuid.UUID(raw_id)
    except ValueError:
        raise ValidationError(BAD_CURSOR, field="after") from None
    if key[0].tzinfo is None:
        raise ValidationError(BAD_CURSOR, field="after")
    return key


def _recipient(global_id: str | None) -> tuple[Party, uuid.UUID] | None:
    if global_id is None:
        return None
    type_name, _ = ids.split(global_id, field="recipientId")
    key = ids.decode_uuid(global_id, ("Provider", "Member"), field="recipientId")
    return (Party.MEMBER if type_name == "Member" else Party.PROVIDER), key


def _max_page(info: Info) -> int:
    return info.context.deps.settings.max_page_size


# ------------------------------------------------------------------ queries


async def conversation(info: Info, id: strawberry.ID) -> t.Conversation | None:
    """Null unless the viewer is the member or the provider of it, or an admin."""
    try:
        key = ids.decode_uuid(id, "Conversation")
    except NotFound:
        return None
    row = await info.context.loaders.conversation_by_id.load(key)
    if row is None or not conversation_queries.can_see(info.context.viewer, row):
        return None
    return t.Conversation.of(row)


async def conversations(info: Info, first: int | None = 20, after: str | None = None) -> t.ConversationConnection:
    """The viewer's conversations, newest activity first."""
    page = await conversation_queries.conversations_page(
        await info.context.db(), viewer=info.context.viewer, first=page_size(first, maximum=_max_page(info)),
        after=_activity_cursor(after))
    loader = info.context.loaders.conversation_by_id
    edges = []
    for row in page.rows:
        loader.prime(row.id, row)
        edges.append(t.ConversationEdge(cursor=encode_cursor(row.last_message_at.isoformat(), row.id),
                                        node=t.Conversation.of(row)))
    return t.ConversationConnection(edges=edges, page_info=page_info(
        [edge.cursor for edge in edges], has_next=page.has_next, has_previous=after is not None))


async def messages_connection(info: Info, row: m.Conversation, *, last: int | None, before: str | None
                              ) -> t.MessageConnection:
    size = page_size(last if last is not None else 50, maximum=_max_page(info), field="last")
    rows, older = await conversation_queries.messages_page(
        await info.context.db(), conversation_id=row.id, last=size, before_id=id_cursor(before, "before"))
    edges = [t.MessageEdge(cursor=encode_cursor(message.id), node=t.Message.of(message)) for message in rows]
    return t.MessageConnection(edges=edges, page_info=page_info(
        [edge.cursor for edge in edges], has_next=before is not None, has_previous=older))


async def unread_count(info: Info, row: m.Conversation) -> int:
    viewer = info.context.viewer
    side = conversation_queries.side_of(viewer, row)
    if side is None:
        return 0
    return await info.context.loaders.unread_by_conversation.load((row.id, side, viewer.user_id))


async def session_conversation(info: Info, row: m.Session) -> t.Conversation | None:
    """The conversation of the session's member and provider, once either wrote or a booking event posted."""
    found = await info.context.loaders.conversation_by_pair.load((row.member_id, row.provider_id))
    return t.Conversation.of(found) if found is not None else None


async def notifications(info: Info, first: int | None = 20, after: str | None = None,
                        unread_only: bool | None = False) -> t.NotificationConnection:
    """The viewer's own notifications, newest first."""
    page = await notification_queries.notifications_page(
        await info.context.db(), user_id=info.context.viewer.user_id, first=page_size(first, maximum=_max_page(info)),
        before_id=id_cursor(after, "after"), unread_only=bool(unread_only))
    edges = [t.NotificationEdge(cursor=encode_cursor(row.id), node=t.Notification.of(row)) for row in page.rows]
    return t.NotificationConnection(edges=edges, page_info=page_info(
        [edge.cursor for edge in edges], has_next=page.has_next, has_previous=after is not None))


async def message_node(info: Info, id: strawberry.ID) -> t.Message | None:
    row = await conversation_queries.visible_message(await info.context.db(), viewer=info.context.viewer,
                                                     message_id=ids.decode_int(id, "Message"))
    return t.Message.of(row) if row is not None else None


async def notification_node(info: Info, id: strawberry.ID) -> t.Notification | None:
    row = await notification_queries.own_notification(await info.context.db(), viewer=info.context.viewer,
                                                      notification_id=ids.decode_int(id, "Notification"))
    return t.Notification.of(row) if row is not None else None


# ------------------------------------------------------------------ mutations


async def send_message(info: Info, input: t.SendMessageInput) -> t.MessageResult:
    async def run() -> t.MessageSuccess:
        command = messaging.SendMessage(
            body=input.body, client_message_id=input.client_message_id,
            conversation_id=ids.maybe_uuid(input.conversation_id, "Conversation", field="conversationId"),
            recipient=_recipient(input.recipient_id),
            session_id=ids.maybe_uuid(input.session_id, "Session", field="sessionId"),
        )
        message_id = await messaging.send_message(info.context.deps, viewer=info.context.viewer, command=command)
        info.context.reset_loaders()
        row = await conversation_queries.visible_message(await info.context.db(), viewer=info.context.viewer,
                                                         message_id=message_id)
        assert row is not None
        return t.MessageSuccess(chat_message=t.Message.of(row))

    return await result_or_error(run)  # type: ignore[return-value]


async def mark_conversation_read(info: Info, conversation_id: strawberry.ID,
                                 up_to: strawberry.ID | None = None) -> t.ReadResult:
    async def run() -> t.ReadSuccess:
        unread = await messaging.mark_conversation_read(
            info.context.deps, viewer=info.context.viewer,
            conversation_id=ids.decode_uuid(conversation_id, "Conversation", field="conversationId"),
            up_to=ids.decode_int(up_to, "Message", field="upTo") if up_to is not None else None)
        info.context.reset_loaders()
        return t.ReadSuccess(unread=unread)

    return await result_or_error(run)  # type: ignore[return-value]


async def set_typing(info: Info, conversation_id: strawberry.ID, typing: bool) -> bool:
    """Live only; a conversation the viewer is not in is a top-level error with its code."""
    return await messaging.set_typing(
        info.context.deps, viewer=info.context.viewer,
        conversation_id=ids.decode_uuid(conversation_id, "Conversation", field="conversationId"), typing=typing)


async def mark_notifications_read(info: Info, up_to: strawberry.ID | None = None) -> t.ReadResult:
    async def run() -> t.ReadSuccess:
        unread = await notification_queries.mark_read(
            info.context.deps, viewer=info.context.viewer,
            up_to=ids.decode_int(up_to, "Notification", field="upTo") if up_to is not None else None)
        info.context.reset_loaders()
        return t.ReadSuccess(unread=unread)

    return await result_or_error(run)  # type: ignore[return-value]
