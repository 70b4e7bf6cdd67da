"""Resolvers for reading sessions: the lists, one session, its timeline and notes."""

from __future__ import annotations

import uuid
from datetime import datetime

import strawberry

from sessions_gql.db import models as m
from sessions_gql.domain.enums import Funding
from sessions_gql.domain.errors import ValidationError
from sessions_gql.resolvers import ids
from sessions_gql.resolvers.cursors import decode_cursor, encode_cursor, page_size, selects
from sessions_gql.schema import sessions as t
from sessions_gql.schema.common import page_info
from sessions_gql.schema.context import Info
from sessions_gql.services import notes_queries, session_queries


def session_query(filter: t.SessionFilter | None, *, member_id: uuid.UUID | None, provider_id: uuid.UUID | None,
           package_id: uuid.UUID | None = None) -> session_queries.SessionQuery:
    wanted = filter or t.SessionFilter()
    if wanted.starts_after and wanted.starts_before and wanted.starts_before <= wanted.starts_after:
        raise ValidationError("startsBefore must be after startsAfter", field="filter.startsBefore")
    funding = tuple(wanted.funding or ())
    if len(funding) > len(Funding):
        raise ValidationError(f"filter.funding lists at most {len(Funding)} values", field="filter.funding")
    return session_queries.SessionQuery(
        view=wanted.view.value if wanted.view is not None else None,
        statuses=tuple(wanted.statuses or ()),
        member_id=member_id or ids.maybe_uuid(wanted.member_id, "Member", field="filter.memberId"),
        provider_id=provider_id or ids.maybe_uuid(wanted.provider_id, "Provider", field="filter.providerId"),
        starts_after=wanted.starts_after,
        starts_before=wanted.starts_before,
        package_id=package_id,
        funding=funding,
    )


def after_key(after: str | None) -> tuple[datetime, uuid.UUID] | None:
    if after is None:
        return None
    starts, raw_id = decode_cursor(after, parts=2)
    try:
        key = datetime.fromisoformat(starts), uuid.UUID(raw_id)
    except ValueError:
        key = None
    if key is None or key[0].tzinfo is None:
        raise ValidationError("that cursor is not one this API gave out", field="after")
    return key


async def sessions_connection(
    info: Info,
    *,
    first: int | None,
    after: str | None,
    filter: t.SessionFilter | None,
    member_id: uuid.UUID | None = None,
    provider_id: uuid.UUID | None = None,
    package_id: uuid.UUID | None = None,
) -> t.SessionConnection:
    size = page_size(first, maximum=info.context.deps.settings.max_page_size)
    page = await session_queries.sessions_page(
        await info.context.db(), viewer=info.context.viewer,
        query=session_query(filter, member_id=member_id, provider_id=provider_id, package_id=package_id),
        now=info.context.deps.clock.now(), first=size, after=after_key(after), count=selects(info, "totalCount"),
    )
    loader = info.context.loaders.session_by_id
    for row in page.rows:
        loader.prime(row.id, row)
    edges = [t.SessionEdge(cursor=encode_cursor(row.starts_at.isoformat(), row.id), node=t.Session.of(row))
             for row in page.rows]
    return t.SessionConnection(
        edges=edges, total_count=page.total or 0,
        page_info=page_info([e.cursor for e in edges], has_next=page.has_next, has_previous=after is not None),
    )


async def sessions(info: Info, first: int | None = 20, after: str | None = None,
                   filter: t.SessionFilter | None = None) -> t.SessionConnection:
    return await sessions_connection(info, first=first, after=after, filter=filter)


async def session(info: Info, id: strawberry.ID) -> t.Session | None:
    return await t.load_session(info, ids.decode_uuid(id, "Session"))


def timeline_after(after: str | None) -> int | None:
    """The event id in a timeline cursor."""
    if after is None:
        return None
    (raw,) = decode_cursor(after, parts=1)
    if not raw.isdigit():
        raise ValidationError("that cursor is not one this API gave out", field="after")
    return int(raw)


async def timeline_page(info: Info, session_id: uuid.UUID, *, first: int | None, after: str | None
                        ) -> t.TimelineEventConnection:
    size = page_size(first, maximum=info.context.deps.settings.max_page_size)
    after_id = timeline_after(after)
    rows, has_next = await notes_queries.timeline_page(await info.context.db(), session_id=session_id,
                                                       first=size, after_id=after_id)
    edges = [t.TimelineEventEdge(cursor=encode_cursor(row.id), node=t.TimelineEvent.of(row)) for row in rows]
    return t.TimelineEventConnection(
        edges=edges,
        page_info=page_info([e.cursor for e in edges], has_next=has_next, has_previous=after is not None),
    )


async def session_notes(info: Info, row: m.Session) -> list[t.Note]:
    """Batched across a page of sessions: one query for all their notes."""
    notes = await info.context.loaders.notes_by_session_id.load(row.id)
    return [t.Note.of(note) for note in notes_queries.readable_notes(info.context.viewer, notes)]


async def member_notes(info: Info, member_id: uuid.UUID) -> list[t.Note]:
    notes = await notes_queries.notes_for(await info.context.db(), viewer=info.context.viewer,
                                          member_id=member_id)
    return [t.Note.of(note) for note in notes]
