"""The root Query, Mutation and Subscription: names from the contract, each field one area's resolver.

The one module that imports every area, so it also fills the links (api/links.py) that let a type reach an area
further up the import order.
"""

from __future__ import annotations

from datetime import datetime

import strawberry

from sessions_gql.api import ids, links
from sessions_gql.api.availability import mutations as availability_m
from sessions_gql.api.availability import queries as availability_q
from sessions_gql.api.common import Node
from sessions_gql.api.context import Info
from sessions_gql.api.messaging import mutations as messaging_m
from sessions_gql.api.messaging import queries as messaging_q
from sessions_gql.api.messaging import subscriptions as messaging_s
from sessions_gql.api.messaging.types import session_conversation
from sessions_gql.api.nodes import NODE_LOADERS
from sessions_gql.api.notifications import mutations as notifications_m
from sessions_gql.api.notifications import queries as notifications_q
from sessions_gql.api.notifications import subscriptions as notifications_s
from sessions_gql.api.packages import mutations as packages_m
from sessions_gql.api.packages.types import member_packages, session_package
from sessions_gql.api.people import mutations as people_m
from sessions_gql.api.people import queries as people_q
from sessions_gql.api.sessions import mutations as sessions_m
from sessions_gql.api.sessions import queries as sessions_q
from sessions_gql.api.sessions import subscriptions as sessions_s
from sessions_gql.api.sessions.types import load_session, member_notes

LINKS = links.Links(
    sessions_page=sessions_q.sessions_connection, session=load_session, member_notes=member_notes,
    member_packages=member_packages, session_package=session_package, session_conversation=session_conversation,
)


async def node(info: Info, id: strawberry.ID) -> Node | None:
    type_name, _ = ids.split(id)
    loader = NODE_LOADERS.get(type_name)
    if loader is None:
        return None
    found: Node | None = await loader(info, id)
    return found


def server_time(info: Info) -> datetime:
    return info.context.deps.clock.now()


@strawberry.type
class Query:
    node = strawberry.field(resolver=node)
    viewer = strawberry.field(resolver=people_q.viewer)
    member = strawberry.field(resolver=people_q.member)
    provider = strawberry.field(resolver=people_q.provider)
    providers = strawberry.field(resolver=people_q.providers)
    users = strawberry.field(resolver=people_q.users, description="Admins: every user, by display name then id.")
    session = strawberry.field(resolver=sessions_q.session)
    sessions = strawberry.field(resolver=sessions_q.sessions)
    available_slots = strawberry.field(resolver=availability_q.available_slots)
    conversation = strawberry.field(resolver=messaging_q.conversation)
    conversations = strawberry.field(resolver=messaging_q.conversations)
    notifications = strawberry.field(resolver=notifications_q.notifications)
    server_time = strawberry.field(resolver=server_time)


@strawberry.type
class Mutation:
    create_member = strawberry.mutation(resolver=people_m.create_member)
    create_provider = strawberry.mutation(resolver=people_m.create_provider)
    grant_credits = strawberry.mutation(resolver=people_m.grant_credits)
    grant_sponsorship = strawberry.mutation(resolver=people_m.grant_sponsorship)
    save_service = strawberry.mutation(resolver=people_m.save_service)
    set_provider_visibility = strawberry.mutation(resolver=people_m.set_provider_visibility)
    archive_service = strawberry.mutation(resolver=people_m.archive_service)
    update_profile = strawberry.mutation(resolver=people_m.update_profile)
    set_availability = strawberry.mutation(resolver=availability_m.set_availability)
    add_availability_override = strawberry.mutation(resolver=availability_m.add_availability_override)
    remove_availability_override = strawberry.mutation(resolver=availability_m.remove_availability_override)
    import_busy_times = strawberry.mutation(resolver=availability_m.import_busy_times)
    rotate_calendar_feed = strawberry.mutation(resolver=people_m.rotate_calendar_feed)
    purchase_package = strawberry.mutation(resolver=packages_m.purchase_package)
    refund_package = strawberry.mutation(
        resolver=packages_m.refund_package,
        description="The provider (own packages) or an admin refunds unused places of a package in credits.",
    )
    request_session = strawberry.mutation(resolver=sessions_m.request_session)
    propose_session = strawberry.mutation(resolver=sessions_m.propose_session)
    confirm_session = strawberry.mutation(resolver=sessions_m.confirm_session)
    decline_session = strawberry.mutation(resolver=sessions_m.decline_session)
    withdraw_session = strawberry.mutation(resolver=sessions_m.withdraw_session)
    cancel_session = strawberry.mutation(resolver=sessions_m.cancel_session)
    propose_new_time = strawberry.mutation(resolver=sessions_m.propose_new_time)
    accept_new_time = strawberry.mutation(resolver=sessions_m.accept_new_time)
    reject_new_time = strawberry.mutation(resolver=sessions_m.reject_new_time)
    withdraw_new_time = strawberry.mutation(resolver=sessions_m.withdraw_new_time)
    join_session = strawberry.mutation(resolver=sessions_m.join_session)
    leave_session = strawberry.mutation(resolver=sessions_m.leave_session)
    start_session = strawberry.mutation(resolver=sessions_m.start_session)
    mark_no_show = strawberry.mutation(resolver=sessions_m.mark_no_show)
    undo_no_show = strawberry.mutation(resolver=sessions_m.undo_no_show)
    end_session = strawberry.mutation(resolver=sessions_m.end_session)
    refund_session = strawberry.mutation(resolver=sessions_m.refund_session)
    add_note = strawberry.mutation(resolver=sessions_m.add_note)
    send_message = strawberry.mutation(resolver=messaging_m.send_message)
    mark_conversation_read = strawberry.mutation(resolver=messaging_m.mark_conversation_read)
    set_typing = strawberry.mutation(resolver=messaging_m.set_typing)
    mark_notifications_read = strawberry.mutation(resolver=notifications_m.mark_notifications_read)
    set_email_preferences = strawberry.mutation(
        resolver=people_m.set_email_preferences,
        description="The viewer's email on or off per notification kind (others unchanged); returns every kind.",
    )
    advance_test_clock = strawberry.mutation(
        resolver=sessions_m.advance_test_clock,
        description="Test clock only (SESSIONS_GQL_TEST_CLOCK, admins): move time forward, running due jobs.",
    )


@strawberry.type
class Subscription:
    session_events = strawberry.subscription(resolver=sessions_s.session_events)
    waiting_room = strawberry.subscription(resolver=sessions_s.waiting_room_updates)
    conversation_events = strawberry.subscription(resolver=messaging_s.conversation_events)
    notification_added = strawberry.subscription(resolver=notifications_s.notification_added)
