"""The root Query and Mutation: names from the contract, each field one resolver."""

from __future__ import annotations

from datetime import datetime

import strawberry

from sessions_gql.resolvers import availability as availability_r
from sessions_gql.resolvers import ids
from sessions_gql.resolvers import lifecycle as lifecycle_r
from sessions_gql.resolvers import messaging as messaging_r
from sessions_gql.resolvers import packages as packages_r
from sessions_gql.resolvers import people as people_r
from sessions_gql.resolvers import preferences as preferences_r
from sessions_gql.resolvers import sessions as sessions_r
from sessions_gql.resolvers.nodes import NODE_LOADERS
from sessions_gql.schema.common import Node
from sessions_gql.schema.context import Info


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
    viewer = strawberry.field(resolver=people_r.viewer)
    member = strawberry.field(resolver=people_r.member)
    provider = strawberry.field(resolver=people_r.provider)
    providers = strawberry.field(resolver=people_r.providers)
    users = strawberry.field(resolver=people_r.users, description="Admins: every user, by display name then id.")
    session = strawberry.field(resolver=sessions_r.session)
    sessions = strawberry.field(resolver=sessions_r.sessions)
    available_slots = strawberry.field(resolver=availability_r.available_slots)
    conversation = strawberry.field(resolver=messaging_r.conversation)
    conversations = strawberry.field(resolver=messaging_r.conversations)
    notifications = strawberry.field(resolver=messaging_r.notifications)
    server_time = strawberry.field(resolver=server_time)


@strawberry.type
class Mutation:
    create_member = strawberry.mutation(resolver=people_r.create_member)
    create_provider = strawberry.mutation(resolver=people_r.create_provider)
    grant_credits = strawberry.mutation(resolver=people_r.grant_credits)
    grant_sponsorship = strawberry.mutation(resolver=people_r.grant_sponsorship)
    save_service = strawberry.mutation(resolver=people_r.save_service)
    set_provider_visibility = strawberry.mutation(resolver=people_r.set_provider_visibility)
    archive_service = strawberry.mutation(resolver=people_r.archive_service)
    update_profile = strawberry.mutation(resolver=people_r.update_profile)
    set_availability = strawberry.mutation(resolver=availability_r.set_availability)
    add_availability_override = strawberry.mutation(resolver=availability_r.add_availability_override)
    remove_availability_override = strawberry.mutation(resolver=availability_r.remove_availability_override)
    import_busy_times = strawberry.mutation(resolver=availability_r.import_busy_times)
    rotate_calendar_feed = strawberry.mutation(resolver=people_r.rotate_calendar_feed)
    purchase_package = strawberry.mutation(resolver=packages_r.purchase_package)
    refund_package = strawberry.mutation(
        resolver=packages_r.refund_package,
        description="The provider (own packages) or an admin refunds unused places of a package in credits.",
    )
    request_session = strawberry.mutation(resolver=lifecycle_r.request_session)
    propose_session = strawberry.mutation(resolver=lifecycle_r.propose_session)
    confirm_session = strawberry.mutation(resolver=lifecycle_r.confirm_session)
    decline_session = strawberry.mutation(resolver=lifecycle_r.decline_session)
    withdraw_session = strawberry.mutation(resolver=lifecycle_r.withdraw_session)
    cancel_session = strawberry.mutation(resolver=lifecycle_r.cancel_session)
    propose_new_time = strawberry.mutation(resolver=lifecycle_r.propose_new_time)
    accept_new_time = strawberry.mutation(resolver=lifecycle_r.accept_new_time)
    reject_new_time = strawberry.mutation(resolver=lifecycle_r.reject_new_time)
    withdraw_new_time = strawberry.mutation(resolver=lifecycle_r.withdraw_new_time)
    join_session = strawberry.mutation(resolver=lifecycle_r.join_session)
    leave_session = strawberry.mutation(resolver=lifecycle_r.leave_session)
    start_session = strawberry.mutation(resolver=lifecycle_r.start_session)
    mark_no_show = strawberry.mutation(resolver=lifecycle_r.mark_no_show)
    undo_no_show = strawberry.mutation(resolver=lifecycle_r.undo_no_show)
    end_session = strawberry.mutation(resolver=lifecycle_r.end_session)
    refund_session = strawberry.mutation(resolver=lifecycle_r.refund_session)
    add_note = strawberry.mutation(resolver=lifecycle_r.add_note)
    send_message = strawberry.mutation(resolver=messaging_r.send_message)
    mark_conversation_read = strawberry.mutation(resolver=messaging_r.mark_conversation_read)
    set_typing = strawberry.mutation(resolver=messaging_r.set_typing)
    mark_notifications_read = strawberry.mutation(resolver=messaging_r.mark_notifications_read)
    set_email_preferences = strawberry.mutation(
        resolver=preferences_r.set_email_preferences,
        description="The viewer's email on or off per notification kind (others unchanged); returns every kind.",
    )
    advance_test_clock = strawberry.mutation(
        resolver=lifecycle_r.advance_test_clock,
        description="Test clock only (SESSIONS_GQL_TEST_CLOCK, admins): move time forward, running due jobs.",
    )
