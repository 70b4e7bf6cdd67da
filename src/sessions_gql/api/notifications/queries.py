"""Notification queries: the viewer's notifications, and one by id (the node)."""

from __future__ import annotations

import strawberry

from sessions_gql.api import ids
from sessions_gql.api.common import page_info
from sessions_gql.api.context import Info
from sessions_gql.api.cursors import encode_cursor, id_cursor, page_size
from sessions_gql.api.notifications.types import Notification, NotificationConnection, NotificationEdge
from sessions_gql.services.messaging import notification_queries


async def notifications(info: Info, first: int | None = 20, after: str | None = None,
                        unread_only: bool | None = False) -> NotificationConnection:
    """The viewer's own notifications, newest first."""
    page = await notification_queries.notifications_page(
        await info.context.db(), user_id=info.context.viewer.user_id,
        first=page_size(first, maximum=info.context.deps.settings.max_page_size), before_id=id_cursor(after, "after"),
        unread_only=bool(unread_only))
    edges = [NotificationEdge(cursor=encode_cursor(row.id), node=Notification.of(row)) for row in page.rows]
    return NotificationConnection(edges=edges, page_info=page_info(
        [edge.cursor for edge in edges], has_next=page.has_next, has_previous=after is not None))


async def notification_node(info: Info, id: strawberry.ID) -> Notification | None:
    row = await notification_queries.own_notification(await info.context.db(), viewer=info.context.viewer,
                                                      notification_id=ids.decode_int(id, "Notification"))
    return Notification.of(row) if row is not None else None
