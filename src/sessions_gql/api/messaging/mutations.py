"""Messaging mutations: send a message, mark a conversation read, typing."""

from __future__ import annotations

import uuid

import strawberry

from sessions_gql.api import ids
from sessions_gql.api.context import Info
from sessions_gql.api.errors import result_or_error
from sessions_gql.api.messaging.inputs import SendMessageInput
from sessions_gql.api.messaging.types import Message, MessageResult, MessageSuccess, ReadResult, ReadSuccess
from sessions_gql.domain.enums import Party
from sessions_gql.services.messaging import conversation_queries, messaging


def _recipient(global_id: str | None) -> tuple[Party, uuid.UUID] | None:
    if global_id is None:
        return None
    type_name, _ = ids.split(global_id, field="recipientId")
    key = ids.decode_uuid(global_id, ("Provider", "Member"), field="recipientId")
    return (Party.MEMBER if type_name == "Member" else Party.PROVIDER), key


async def send_message(info: Info, input: SendMessageInput) -> MessageResult:
    async def run() -> MessageSuccess:
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
        return MessageSuccess(chat_message=Message.of(row))

    return await result_or_error(run)  # type: ignore[return-value]


async def mark_conversation_read(info: Info, conversation_id: strawberry.ID,
                                 up_to: strawberry.ID | None = None) -> ReadResult:
    async def run() -> ReadSuccess:
        unread = await messaging.mark_conversation_read(
            info.context.deps, viewer=info.context.viewer,
            conversation_id=ids.decode_uuid(conversation_id, "Conversation", field="conversationId"),
            up_to=ids.decode_int(up_to, "Message", field="upTo") if up_to is not None else None)
        info.context.reset_loaders()
        return ReadSuccess(unread=unread)

    return await result_or_error(run)  # type: ignore[return-value]


async def set_typing(info: Info, conversation_id: strawberry.ID, typing: bool) -> bool:
    """Live only; a conversation the viewer is not in is a top-level error with its code."""
    return await messaging.set_typing(
        info.context.deps, viewer=info.context.viewer,
        conversation_id=ids.decode_uuid(conversation_id, "Conversation", field="conversationId"), typing=typing)
