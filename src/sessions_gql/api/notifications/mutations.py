"""Notification mutations: mark them read."""

from __future__ import annotations

import strawberry

from sessions_gql.api import ids
from sessions_gql.api.context import Info
from sessions_gql.api.errors import result_or_error
from sessions_gql.api.messaging.types import ReadResult, ReadSuccess
from sessions_gql.services.messaging import notification_queries


async def mark_notifications_read(info: Info, up_to: strawberry.ID | None = None) -> ReadResult:
    async def run() -> ReadSuccess:
        unread = await notification_queries.mark_read(
            info.context.deps, viewer=info.context.viewer,
            up_to=ids.decode_int(up_to, "Notification", field="upTo") if up_to is not None else None)
        info.context.reset_loaders()
        return ReadSuccess(unread=unread)

    return await result_or_error(run)  # type: ignore[return-value]
