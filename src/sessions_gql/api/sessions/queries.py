"""Session queries: a page of the viewer's sessions, and one session."""

from __future__ import annotations

import uuid

import strawberry

from sessions_gql.api import ids
from sessions_gql.api.common import page_info
from sessions_gql.api.context import Info
from sessions_gql.api.cursors import encode_cursor, page_size, selects, time_and_id
from sessions_gql.api.sessions.inputs import SessionFilter
from sessions_gql.api.sessions.types import Session, SessionConnection, SessionEdge, load_session
from sessions_gql.domain.enums import Funding
from sessions_gql.domain.errors import ValidationError
from sessions_gql.services.sessions import session_queries


def session_query(filter: SessionFilter | None, *, member_id: uuid.UUID | None, provider_id: uuid.UUID | None,
           package_id: uuid.UUID | None = None) -> session_queries.SessionQuery:
    wanted = filter or SessionFilter()
    if wanted.starts_after and wanted.starts_before and wanted.starts_before <= wanted.starts_after:
        raise ValidationError("startsBefore must be after startsAfter", field="filter.startsBefore")
    funding = tuple(wanted.funding or ())
    if len(funding) > len(Funding):
        raise ValidationError(f"filter.funding lists at most {len(Funding)} values", field="filter.funding")
    return session_queries.SessionQuery(
        view=wanted.view.value if wanted.view is not None else None,
        statuses=tuple(wanted.statuses or ()),
        member_id=member_id if member_id is not None else ids.maybe_uuid(wanted.member_id, "Member",
                                                                         field="filter.memberId"),
        provider_id=provider_id if provider_id is not None else ids.maybe_uuid(wanted.provider_id, "Provider",
                                                                               field="filter.providerId"),
        starts_after=wanted.starts_after,
        starts_before=wanted.starts_before,
        package_id=package_id,
        funding=funding,
    )


async def sessions_connection(
    info: Info,
    *,
    first: int | None,
    after: str | None,
    filter: SessionFilter | None,
    member_id: uuid.UUID | None = None,
    provider_id: uuid.UUID | None = None,
    package_id: uuid.UUID | None = None,
) -> SessionConnection:
    size = page_size(first, maximum=info.context.deps.settings.max_page_size)
    page = await session_queries.sessions_page(
        await info.context.db(), viewer=info.context.viewer,
        query=session_query(filter, member_id=member_id, provider_id=provider_id, package_id=package_id),
        now=info.context.deps.clock.now(), first=size, after=time_and_id(after), count=selects(info, "totalCount"),
    )
    loader = info.context.loaders.session_by_id
    for row in page.rows:
        loader.prime(row.id, row)
    edges = [SessionEdge(cursor=encode_cursor(row.starts_at.isoformat(), row.id), node=Session.of(row))
             for row in page.rows]
    return SessionConnection(
        edges=edges, total_count=page.total or 0,
        page_info=page_info([e.cursor for e in edges], has_next=page.has_next, has_previous=after is not None),
    )


async def sessions(info: Info, first: int | None = 20, after: str | None = None,
                   filter: SessionFilter | None = None) -> SessionConnection:
    return await sessions_connection(info, first=first, after=after, filter=filter)


async def session(info: Info, id: strawberry.ID) -> Session | None:
    return await load_session(info, ids.decode_uuid(id, "Session"))
