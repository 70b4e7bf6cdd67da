"""Notification subscriptions: the viewer's new notifications, live."""

from __future__ import annotations

from collections.abc import AsyncGenerator

from sessions_gql.api.context import Info
from sessions_gql.api.notifications.types import Notification
from sessions_gql.db import models as m
from sessions_gql.realtime import streams
from sessions_gql.realtime.channels import user_channel


async def notification_added(info: Info, after: str | None = None) -> AsyncGenerator[Notification, None]:
    context = info.context
    viewer = context.viewer
    fetch = streams.notification_fetch(viewer)
    async for notification in streams.follow(context, channels=[user_channel(viewer.user_id)], after=after,
                                             model=m.Notification, fetch=fetch, payload=Notification.of):
        yield notification
