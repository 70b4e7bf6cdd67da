"""People queries: the viewer, members, providers ("find a provider"), services and users."""

from __future__ import annotations

import uuid

import strawberry

from sessions_gql.api import ids
from sessions_gql.api.common import page_info
from sessions_gql.api.context import Info
from sessions_gql.api.cursors import (
    decode_cursor,
    encode_cursor,
    page_size,
    provider_cursor,
    provider_cursor_key,
    search_text,
)
from sessions_gql.api.enums import ProviderOrder
from sessions_gql.api.people import types as t
from sessions_gql.api.people.inputs import ProviderFilter, UserFilter
from sessions_gql.context import Unauthenticated
from sessions_gql.domain.errors import NotFound, ValidationError
from sessions_gql.services import visibility
from sessions_gql.services.access import require_admin
from sessions_gql.services.people import people_queries


async def viewer(info: Info) -> t.Viewer:
    me = info.context.viewer
    loaders = info.context.loaders
    user = await loaders.user_by_id.load(me.user_id)
    if user is None:  # erased by an operator inside the viewer cache's window: the token ends now
        info.context.deps.viewers.pop(me.user_id, None)
        raise Unauthenticated("invalid token: the user no longer exists")
    member = await loaders.member_by_id.load(me.member_id) if me.member_id else None
    provider = await loaders.provider_by_id.load(me.provider_id) if me.provider_id else None
    return t.Viewer(user=t.User.of(user), member=t.Member.of(member) if member else None,
                    provider=t.Provider.of(provider) if provider else None)


async def member(info: Info, id: strawberry.ID) -> t.Member | None:
    try:
        return await t.load_member(info, ids.decode_uuid(id, "Member"))
    except NotFound:
        return None


async def provider(info: Info, id: strawberry.ID) -> t.Provider | None:
    try:
        return await t.load_provider(info, ids.decode_uuid(id, "Provider"))
    except NotFound:
        return None


async def service(info: Info, id: strawberry.ID) -> t.Service | None:
    """Services are public to signed-in users, like their provider's profile."""
    info.context.viewer  # noqa: B018 - authentication required
    row = await info.context.loaders.service_by_id.load(ids.decode_uuid(id, "Service"))
    if row is None:
        return None
    owner = await info.context.loaders.provider_by_id.load(row.provider_id)
    return t.Service.of(row) if owner is not None and visibility.can_see_provider(info.context.viewer, owner) else None


async def providers(info: Info, first: int | None = 20, after: str | None = None,
                    filter: ProviderFilter | None = None,
                    order_by: ProviderOrder | None = ProviderOrder.RECOMMENDED) -> t.ProviderConnection:
    """What "find a provider" lists; the cursor carries the order's sort key (api/cursors.py)."""
    info.context.viewer  # noqa: B018 - authentication required
    order_by = order_by or ProviderOrder.RECOMMENDED  # an explicit null is the default order
    size = page_size(first, maximum=info.context.deps.settings.max_page_size)
    key = provider_cursor_key(after, order_by) if after is not None else None
    wanted = filter or ProviderFilter()
    page = await people_queries.providers_page(
        await info.context.db(), first=size, order=order_by, after=key,
        skill=search_text(wanted.skill, field="filter.skill"), modality=wanted.modality,
        search=search_text(wanted.search, field="filter.search"),
    )
    edges = [t.ProviderEdge(cursor=provider_cursor(order_by, people_queries.provider_sort_key(order_by, row)),
                            node=t.Provider.of(row))
             for row in page.rows]
    cursors = [e.cursor for e in edges]
    return t.ProviderConnection(edges=edges, page_info=page_info(cursors, has_next=page.has_next,
                                                                 has_previous=after is not None))


async def users(info: Info, first: int | None = 20, after: str | None = None,
                filter: UserFilter | None = None) -> t.UserConnection:
    """Admins find anyone by part of a name, email or phone (to book on their behalf, to edit a profile)."""
    require_admin(info.context.viewer)
    size = page_size(first, maximum=info.context.deps.settings.max_page_size)
    key = None
    if after is not None:
        name, raw_id = decode_cursor(after, parts=2)
        try:
            key = (name, uuid.UUID(raw_id))
        except ValueError:
            raise ValidationError("that cursor is not one this API gave out", field="after") from None
    wanted = filter or UserFilter()
    page = await people_queries.users_page(await info.context.db(), first=size, after=key,
                                           search=search_text(wanted.search, field="filter.search"),
                                           role=wanted.role)
    edges = [t.UserEdge(cursor=encode_cursor(row.display_name, row.id), node=t.User.of(row)) for row in page.rows]
    cursors = [e.cursor for e in edges]
    return t.UserConnection(edges=edges, page_info=page_info(cursors, has_next=page.has_next,
                                                             has_previous=after is not None))
