"""Notifications as the contract names them."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry import Private

from sessions_gql.api import ids
from sessions_gql.api.common import Node, PageInfo, resolver_field
from sessions_gql.api.context import Info
from sessions_gql.api.cursors import stream_cursor
from sessions_gql.api.enums import NotificationKind
from sessions_gql.api.sessions.types import Session, load_session
from sessions_gql.db import models as m


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
