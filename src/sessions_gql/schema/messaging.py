"""Conversations, messages and notifications as the contract names them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from strawberry import Private

from sessions_gql.db import models as m
from sessions_gql.resolvers import ids
from sessions_gql.resolvers.cursors import encode_cursor
from sessions_gql.schema.common import BasicError, Node, PageInfo, resolver_field
from sessions_gql.schema.context import Info
from sessions_gql.schema.enums import NotificationKind
from sessions_gql.schema.people import Member, Provider, User, member_of, provider_of
from sessions_gql.schema.sessions import Session, load_session


def stream_cursor(position: int | None, row_id: int) -> str:
    """Resume a subscription after this row: its position once the relay sequenced it (as TimelineEvent)."""
    return encode_cursor(position if position is not None else f"i{row_id}")


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
        from sessions_gql.resolvers.messaging import unread_count

        return await unread_count(info, self.row)

    @resolver_field(description="The newest `last` messages before the cursor, oldest first.")
    async def messages(self, info: Info, last: int | None = 50, before: str | None = None) -> MessageConnection:
        from sessions_gql.resolvers.messaging import messages_connection

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
class Notification(Node):
    row: Private[m.Notification]
    kind: NotificationKind
    title: str
    body: str
    created_at: datetime
    read_at: datetime | None

    @classmethod
    def of(cls, row: m.Notification) -> Notification:
        return cls(id=strawberry.ID(ids.encode("Notification", row.id)), row=row, kind=row.kind,
                   title=row.title, body=row.body, created_at=row.created_at, read_at=row.read_at)

    @resolver_field(description="Resume the notificationAdded subscription after this notification.")
    def cursor(self) -> str:
        return stream_cursor(self.row.position, self.row.id)

    @strawberry.field
    async def session(self, info: Info) -> Session | None:
        return await load_session(info, self.row.session_id)


@strawberry.type
class NotificationEdge:
    cursor: str
    node: Notification


@strawberry.type
class NotificationConnection:
    edges: list[NotificationEdge]
    page_info: PageInfo


@strawberry.type
class MessageSuccess:
    chat_message: Message


@strawberry.type
class ReadSuccess:
    unread: int


MessageResult = Annotated[MessageSuccess | BasicError, strawberry.union("MessageResult")]
ReadResult = Annotated[ReadSuccess | BasicError, strawberry.union("ReadResult")]


@strawberry.input
class SendMessageInput:
    conversation_id: strawberry.ID | None = None
    recipient_id: strawberry.ID | None = strawberry.field(
        default=None, description="A Member or Provider id; opens the pair's conversation.")
    body: str
    session_id: strawberry.ID | None = None
    client_message_id: str
