"""Conversations and messages as the contract names them, and their live events."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from strawberry import Private

from sessions_gql.api import ids
from sessions_gql.api.common import Node, PageInfo, page_info, resolver_field
from sessions_gql.api.context import Info
from sessions_gql.api.cursors import encode_cursor, id_cursor, page_size, stream_cursor
from sessions_gql.api.enums import Role as RoleType
from sessions_gql.api.errors import BasicError
from sessions_gql.api.people.types import Member, Provider, User, member_of, provider_of
from sessions_gql.api.sessions.types import Session, load_session
from sessions_gql.db import models as m
from sessions_gql.services.messaging import conversation_queries


@strawberry.type
class Message(Node):
    row: Private[m.Message]
    body: str
    client_message_id: str | None
    sent_at: datetime
    read_by_recipient_at: datetime | None

    @classmethod
    def of(cls, row: m.Message) -> Message:
        return cls(id=strawberry.ID(ids.encode("Message", row.id)), row=row, body=row.body,
                   client_message_id=row.client_message_id, sent_at=row.sent_at,
                   read_by_recipient_at=row.read_by_recipient_at)

    @resolver_field(description="Resume a subscription after this message.")
    def cursor(self) -> str:
        return stream_cursor(self.row.position, self.row.id)

    @strawberry.field
    async def conversation(self, info: Info) -> Conversation:
        row = await info.context.loaders.conversation_by_id.load(self.row.conversation_id)
        assert row is not None
        return Conversation.of(row)

    @resolver_field(description="Null for a system message about a booking.")
    async def sender(self, info: Info) -> User | None:
        if self.row.sender_user_id is None:
            return None
        user = await info.context.loaders.user_by_id.load(self.row.sender_user_id)
        return User.of(user) if user is not None else None

    @strawberry.field
    async def session(self, info: Info) -> Session | None:
        return await load_session(info, self.row.session_id)


@strawberry.type
class MessageEdge:
    cursor: str
    node: Message


@strawberry.type
class MessageConnection:
    edges: list[MessageEdge]
    page_info: PageInfo


@strawberry.type
class Conversation(Node):
    row: Private[m.Conversation]

    @classmethod
    def of(cls, row: m.Conversation) -> Conversation:
        return cls(id=strawberry.ID(ids.encode("Conversation", row.id)), row=row)

    @strawberry.field
    async def member(self, info: Info) -> Member:
        return await member_of(info, self.row.member_id)

    @strawberry.field
    async def provider(self, info: Info) -> Provider:
        return await provider_of(info, self.row.provider_id)

    @strawberry.field
    async def last_message(self, info: Info) -> Message | None:
        row = await info.context.loaders.last_message_by_conversation_id.load(self.row.id)
        return Message.of(row) if row is not None else None

    @resolver_field(description="Messages from the other side, and system messages, after the viewer's read mark.")
    async def unread_count(self, info: Info) -> int:
        return await unread_count(info, self.row)

    @resolver_field(description="The newest `last` messages before the cursor, oldest first.")
    async def messages(self, info: Info, last: int | None = 50, before: str | None = None) -> MessageConnection:
        return await messages_connection(info, self.row, last=last, before=before)


@strawberry.type
class ConversationEdge:
    cursor: str
    node: Conversation


@strawberry.type
class ConversationConnection:
    edges: list[ConversationEdge]
    page_info: PageInfo


@strawberry.type
class MessageSuccess:
    chat_message: Message


@strawberry.type
class ReadSuccess:
    unread: int


MessageResult = Annotated[MessageSuccess | BasicError, strawberry.union("MessageResult")]
ReadResult = Annotated[ReadSuccess | BasicError, strawberry.union("ReadResult")]


@strawberry.type
class MessageAdded:
    message: Message


@strawberry.type
class MessagesRead:
    conversation: Conversation
    reader_role: RoleType
    up_to: Message
    at: datetime


@strawberry.type
class TypingChanged:
    conversation: Conversation
    user: User
    typing: bool
    at: datetime


def message_added(row: m.Message) -> MessageAdded:
    return MessageAdded(message=Message.of(row))


ConversationEvent = Annotated[MessageAdded | MessagesRead | TypingChanged, strawberry.union("ConversationEvent")]


async def messages_connection(info: Info, row: m.Conversation, *, last: int | None, before: str | None
                              ) -> MessageConnection:
    size = page_size(last if last is not None else 50, maximum=info.context.deps.settings.max_page_size, field="last")
    rows, older = await conversation_queries.messages_page(
        await info.context.db(), conversation_id=row.id, last=size, before_id=id_cursor(before, "before"))
    edges = [MessageEdge(cursor=encode_cursor(message.id), node=Message.of(message)) for message in rows]
    return MessageConnection(edges=edges, page_info=page_info(
        [edge.cursor for edge in edges], has_next=before is not None, has_previous=older))


async def unread_count(info: Info, row: m.Conversation) -> int:
    viewer = info.context.viewer
    side = conversation_queries.side_of(viewer, row)
    if side is None:
        return 0
    return await info.context.loaders.unread_by_conversation.load((row.id, side, viewer.user_id))


async def session_conversation(info: Info, row: m.Session) -> Conversation | None:
    """The conversation of the session's member and provider, once either wrote or a booking event posted."""
    found = await info.context.loaders.conversation_by_pair.load((row.member_id, row.provider_id))
    return Conversation.of(found) if found is not None else None
