"""Messaging queries: the viewer's conversations, one conversation, and a message by id (the node)."""

from __future__ import annotations

import strawberry

from sessions_gql.api import ids
from sessions_gql.api.common import page_info
from sessions_gql.api.context import Info
from sessions_gql.api.cursors import encode_cursor, page_size, time_and_id
from sessions_gql.api.messaging.types import Conversation, ConversationConnection, ConversationEdge, Message
from sessions_gql.domain.errors import NotFound
from sessions_gql.services.messaging import conversation_queries


async def conversation(info: Info, id: strawberry.ID) -> Conversation | None:
    """Null unless the viewer is the member or the provider of it, or an admin."""
    try:
        key = ids.decode_uuid(id, "Conversation")
    except NotFound:
        return None
    row = await info.context.loaders.conversation_by_id.load(key)
    if row is None or not conversation_queries.can_see(info.context.viewer, row):
        return None
    return Conversation.of(row)


async def conversations(info: Info, first: int | None = 20, after: str | None = None) -> ConversationConnection:
    """The viewer's conversations, newest activity first."""
    page = await conversation_queries.conversations_page(
        await info.context.db(), viewer=info.context.viewer,
        first=page_size(first, maximum=info.context.deps.settings.max_page_size), after=time_and_id(after))
    loader = info.context.loaders.conversation_by_id
    edges = []
    for row in page.rows:
        loader.prime(row.id, row)
        edges.append(ConversationEdge(cursor=encode_cursor(row.last_message_at.isoformat(), row.id),
                                        node=Conversation.of(row)))
    return ConversationConnection(edges=edges, page_info=page_info(
        [edge.cursor for edge in edges], has_next=page.has_next, has_previous=after is not None))


async def message_node(info: Info, id: strawberry.ID) -> Message | None:
    row = await conversation_queries.visible_message(await info.context.db(), viewer=info.context.viewer,
                                                     message_id=ids.decode_int(id, "Message"))
    return Message.of(row) if row is not None else None
