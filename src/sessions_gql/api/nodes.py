"""`node(id:)`: one loader per type that implements Node, each with the visibility of the fields that reach it.

A viewer who may not see the object gets null, as for an id that names nothing. tests/api/test_nodes.py walks the
schema's Node types, so a new one without a loader here fails it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import strawberry

from sessions_gql.api import ids
from sessions_gql.api.availability.types import AvailabilityOverride
from sessions_gql.api.context import Info
from sessions_gql.api.messaging import queries as messaging_q
from sessions_gql.api.notifications import queries as notifications_q
from sessions_gql.api.packages import queries as packages_q
from sessions_gql.api.people import queries as people_q
from sessions_gql.api.people.types import LedgerEntry, User
from sessions_gql.api.sessions import queries as sessions_q
from sessions_gql.api.sessions.types import Note, TimelineEvent
from sessions_gql.db import models as m
from sessions_gql.services import node_access, visibility


async def user(info: Info, id: strawberry.ID) -> User | None:
    """Wherever a User is reachable: see services/node_access.py."""
    user_id = ids.decode_uuid(id, "User")
    row = await info.context.loaders.user_by_id.load(user_id)
    if row is None or not await node_access.can_see_user(await info.context.db(), info.context.viewer,
                                                         info.context.loaders, user_id):
        return None
    return User.of(row)


async def ledger_entry(info: Info, id: strawberry.ID) -> LedgerEntry | None:
    """Like Member.wallet.ledger: the member themself and admins."""
    viewer = info.context.viewer
    row = await (await info.context.db()).get(m.LedgerEntry, ids.decode_int(id, "LedgerEntry"))
    return LedgerEntry.of(row) if row is not None and visibility.sees_wallet(viewer, row.member_id) else None


async def timeline_event(info: Info, id: strawberry.ID) -> TimelineEvent | None:
    """Like Session.timeline: the session's parties and admins."""
    viewer = info.context.viewer
    row = await (await info.context.db()).get(m.TimelineEvent, ids.decode_int(id, "TimelineEvent"))
    if row is None:
        return None
    session = await info.context.loaders.session_by_id.load(row.session_id)
    if session is None or not visibility.can_see_session(viewer, session):
        return None
    return TimelineEvent.of(row)


async def note(info: Info, id: strawberry.ID) -> Note | None:
    """Like Session.privateNotes and Member.privateNotes: the provider the note is kept for, and admins."""
    viewer = info.context.viewer
    row = await (await info.context.db()).get(m.Note, ids.decode_uuid(id, "Note"))
    if row is None or not (viewer.is_admin or row.provider_id == viewer.provider_id):
        return None
    return Note.of(row)


async def availability_override(info: Info, id: strawberry.ID) -> AvailabilityOverride | None:
    """Like Provider.availability.overrides: the provider themself and admins."""
    viewer = info.context.viewer
    row = await (await info.context.db()).get(m.AvailabilityOverride, ids.decode_uuid(id, "AvailabilityOverride"))
    if row is None or not visibility.is_provider_or_admin(viewer, row.provider_id):
        return None
    return AvailabilityOverride.of(row)


NODE_LOADERS: dict[str, Callable[[Info, strawberry.ID], Awaitable[Any]]] = {
    "User": user,
    "Member": people_q.member,
    "Provider": people_q.provider,
    "Service": people_q.service,
    "LedgerEntry": ledger_entry,
    "AvailabilityOverride": availability_override,
    "Session": sessions_q.session,
    "TimelineEvent": timeline_event,
    "Note": note,
    "Conversation": messaging_q.conversation,
    "Message": messaging_q.message_node,
    "Notification": notifications_q.notification_node,
    "Package": packages_q.package,
}
"""Every type that implements Node, by its name in global ids."""

__all__ = ["NODE_LOADERS"]
