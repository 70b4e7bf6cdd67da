"""`node(id:)`: one loader per type that implements Node, each with the visibility of the fields that reach it.

A viewer who may not see the object gets null, as for an id that names nothing. tests/api/test_nodes.py walks the
schema's Node types, so a new one without a loader here fails it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import strawberry

from sessions_gql.db import models as m
from sessions_gql.resolvers import ids
from sessions_gql.resolvers import messaging as messaging_r
from sessions_gql.resolvers import packages as packages_r
from sessions_gql.resolvers import people as people_r
from sessions_gql.resolvers import sessions as sessions_r
from sessions_gql.schema import availability as availability_t
from sessions_gql.schema import people as people_t
from sessions_gql.schema import sessions as sessions_t
from sessions_gql.schema.context import Info
from sessions_gql.services import node_access, visibility


async def user(info: Info, id: strawberry.ID) -> people_t.User | None:
    """Wherever a User is reachable: see services/node_access.py."""
    user_id = ids.decode_uuid(id, "User")
    row = await info.context.loaders.user_by_id.load(user_id)
    if row is None or not await node_access.can_see_user(await info.context.db(), info.context.viewer,
                                                         info.context.loaders, user_id):
        return None
    return people_t.User.of(row)


async def ledger_entry(info: Info, id: strawberry.ID) -> people_t.LedgerEntry | None:
    """Like Member.wallet.ledger: the member themself and admins."""
    viewer = info.context.viewer
    row = await (await info.context.db()).get(m.LedgerEntry, ids.decode_int(id, "LedgerEntry"))
    return people_t.LedgerEntry.of(row) if row is not None and visibility.sees_wallet(viewer, row.member_id) else None


async def timeline_event(info: Info, id: strawberry.ID) -> sessions_t.TimelineEvent | None:
    """Like Session.timeline: the session's parties and admins."""
    viewer = info.context.viewer
    row = await (await info.context.db()).get(m.TimelineEvent, ids.decode_int(id, "TimelineEvent"))
    if row is None:
        return None
    session = await info.context.loaders.session_by_id.load(row.session_id)
    if session is None or not visibility.can_see_session(viewer, session):
        return None
    return sessions_t.TimelineEvent.of(row)


async def note(info: Info, id: strawberry.ID) -> sessions_t.Note | None:
    """Like Session.privateNotes and Member.privateNotes: the provider the note is kept for, and admins."""
    viewer = info.context.viewer
    row = await (await info.context.db()).get(m.Note, ids.decode_uuid(id, "Note"))
    if row is None or not (viewer.is_admin or row.provider_id == viewer.provider_id):
        return None
    return sessions_t.Note.of(row)


async def availability_override(info: Info, id: strawberry.ID) -> availability_t.AvailabilityOverride | None:
    """Like Provider.availability.overrides: the provider themself and admins."""
    viewer = info.context.viewer
    row = await (await info.context.db()).get(m.AvailabilityOverride, ids.decode_uuid(id, "AvailabilityOverride"))
    if row is None or not visibility.is_provider_or_admin(viewer, row.provider_id):
        return None
    return availability_t.AvailabilityOverride.of(row)


NODE_LOADERS: dict[str, Callable[[Info, strawberry.ID], Awaitable[Any]]] = {
    "User": user,
    "Member": people_r.member,
    "Provider": people_r.provider,
    "Service": people_r.service,
    "LedgerEntry": ledger_entry,
    "AvailabilityOverride": availability_override,
    "Session": sessions_r.session,
    "TimelineEvent": timeline_event,
    "Note": note,
    "Conversation": messaging_r.conversation,
    "Message": messaging_r.message_node,
    "Notification": messaging_r.notification_node,
    "Package": packages_r.package,
}
"""Every type that implements Node, by its name in global ids."""

__all__ = ["NODE_LOADERS"]
