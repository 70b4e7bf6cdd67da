"""Root fields and connections as SQL: `sessions`, `session`, `notifications`, a session's timeline, and the
pages of every connection (`connection`).

The rows come from the same builders the resolvers use (`session_queries.session_conditions`, `page_order`,
`after_condition`; `api.sessions.queries.session_query` and `after_key` for the arguments), so the filter, the
views and the viewer's scope are written once. A page is read with one row more than asked, as the resolver
does, to answer `hasNextPage`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from graphql import GraphQLObjectType
from sqlalchemy import false, func, literal_column, select, true, type_coerce
from sqlalchemy.dialects.postgresql import ARRAY, aggregate_order_by
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import Text

from sessions_gql.api import ids
from sessions_gql.api.cursors import id_cursor, page_size
from sessions_gql.api.sessions.queries import after_key, session_query
from sessions_gql.domain.errors import DomainError
from sessions_gql.readpath.compiler import Compiler, Details, NotCompilable, handles
from sessions_gql.readpath.objects import EVENTS, NOTIFICATIONS, S
from sessions_gql.readpath.sql import const, cursor, instant, text_of
from sessions_gql.services.session_queries import after_condition, page_order, session_conditions, viewer_scope

ROW_NUMBER = "rp_n"
CONNECTIONS = {"SessionConnection": ("edges", "pageInfo", "totalCount"),
               "TimelineEventConnection": ("edges", "pageInfo"), "NotificationConnection": ("edges", "pageInfo")}
"""Connection fields, written by `connection` itself rather than by a handler."""
EMPTY_LIST: ColumnElement[Any] = literal_column("'[]'::json")


def _refused_by_the_resolver(problem: DomainError) -> NotCompilable:
    """Arguments the resolver refuses: its path answers with its own coded error."""
    return NotCompilable(f"the resolver refuses the arguments: {problem}")


@handles("Query", "sessions")
def _sessions(c: Compiler, _row: Any, details: Details) -> ColumnElement[Any]:
    args = c.arguments("Query", details)
    return session_connection(c, "Query", details, first=args["first"], after=args["after"], filter=args["filter"])


def session_connection(c: Compiler, parent: str, details: Details, *, first: int | None, after: str | None,
                       filter: Any, member_id: uuid.UUID | None = None, provider_id: uuid.UUID | None = None
                       ) -> ColumnElement[Any]:
    """`api.sessions.queries.sessions_connection` as one scalar subquery."""
    try:
        size = page_size(first, maximum=c.max_page_size)
        query = session_query(filter, member_id=member_id, provider_id=provider_id)
        after_at = after_key(after)
    except DomainError as problem:
        raise _refused_by_the_resolver(problem) from None
    conditions = session_conditions(c.scope_viewer, query, c.scope_now)
    keyset = [*conditions, *([after_condition(query, after_at)] if after_at is not None else [])]
    total = select(func.count()).select_from(S).where(*conditions).correlate(None).scalar_subquery()
    return connection(c, parent, details, rows=select(S).where(*keyset), order=page_order(query), size=size,
                      has_previous=after is not None, total=total,
                      cursor_of=lambda page: cursor(instant(page.c.starts_at), text_of(page.c.id)))


def connection(c: Compiler, parent: str, details: Details, *, rows: Any, order: tuple[Any, ...], size: int,
               has_previous: bool, cursor_of: Callable[[Any], ColumnElement[Any]],
               total: ColumnElement[Any] | None = None, outer: tuple[Any, ...] = ()) -> ColumnElement[Any]:
    """A page of `rows` in `order` as a connection's JSON: `size` edges read with one row more, as the resolvers
    do, to answer `hasNextPage`. `outer`: the enclosing rows the page's conditions refer to (a session's
    timeline refers to its session)."""
    numbered = rows.add_columns(func.row_number().over(order_by=order).label(ROW_NUMBER)).order_by(*order)
    page = numbered.limit(size + 1).correlate(*outer).subquery()
    connection_type = c.object_type(_object(c, parent), details)
    number = getattr(page.c, ROW_NUMBER)
    shown = number <= size
    edge_cursor = cursor_of(page)
    values: list[ColumnElement[Any]] = []
    reads_page = False  # edges and pageInfo aggregate over the page; a total alone does not read it
    for key, field in c.subfields(connection_type, details).items():
        name = field[0].node.name.value
        if name == "__typename":
            value: ColumnElement[Any] = const(connection_type.name)
        elif name == "totalCount" and total is not None:
            value = total
        elif name == "edges":
            reads_page = True
            edge_type = c.object_type(connection_type, field)
            edge = c.object(edge_type, field, _Edge(page, edge_cursor, edge_type.name))
            value = func.coalesce(func.json_agg(aggregate_order_by(edge, number)).filter(shown), EMPTY_LIST)
        elif name == "pageInfo":
            reads_page = True
            cursors_in_order = _cursors(edge_cursor, number, shown)
            cursors_reversed = _cursors(edge_cursor, number.desc(), shown)
            value = c.child(connection_type.name, field, _Values(
                hasNextPage=func.count() > size, hasPreviousPage=true() if has_previous else false(),
                startCursor=cursors_in_order[1], endCursor=cursors_reversed[1]))
        else:
            raise NotCompilable(f"{connection_type.name}.{name}")
        values.extend((const(key), value))
    built = select(func.json_build_object(*values))
    if reads_page:
        built = built.select_from(page).correlate_except(page)
    return built.scalar_subquery()


@handles("Session", "timeline")
def _timeline(c: Compiler, row: Any, details: Details) -> ColumnElement[Any]:
    """`api.sessions.types.timeline_page`: oldest first, keyset on id."""
    args = c.arguments("Session", details)
    try:
        size = page_size(args["first"], maximum=c.max_page_size)
        after_id = id_cursor(args["after"], "after")
    except DomainError as problem:
        raise _refused_by_the_resolver(problem) from None
    events = EVENTS.alias()
    rows = select(events).where(events.c.session_id == row.c.id,
                                *([events.c.id > after_id] if after_id is not None else []))
    return connection(c, "Session", details, rows=rows, order=(events.c.id,), size=size,
                      has_previous=args["after"] is not None, outer=(row,),
                      cursor_of=lambda page: cursor(text_of(page.c.id)))


@handles("Query", "notifications")
def _notifications(c: Compiler, _row: Any, details: Details) -> ColumnElement[Any]:
    """`api.notifications.queries.notifications`: the viewer's own, newest first, keyset on id."""
    args = c.arguments("Query", details)
    try:
        size = page_size(args["first"], maximum=c.max_page_size)
        before_id = id_cursor(args["after"], "after")
    except DomainError as problem:
        raise _refused_by_the_resolver(problem) from None
    notice = NOTIFICATIONS.alias()
    rows = select(notice).where(notice.c.user_id == c.viewer.user_id,
                                *([notice.c.read_at.is_(None)] if args["unread_only"] else []),
                                *([notice.c.id < before_id] if before_id is not None else []))
    return connection(c, "Query", details, rows=rows, order=(notice.c.id.desc(),), size=size,
                      has_previous=args["after"] is not None, cursor_of=lambda page: cursor(text_of(page.c.id)))


def _cursors(edge_cursor: ColumnElement[Any], order: Any, shown: ColumnElement[bool]) -> Any:
    """The shown rows' cursors as a text[] in `order` (PostgreSQL arrays count from 1)."""
    return type_coerce(func.array_agg(aggregate_order_by(edge_cursor, order)).filter(shown), ARRAY(Text))


class _Edge:
    def __init__(self, page: Any, edge_cursor: ColumnElement[Any], type_name: str) -> None:
        self.page = page
        self.cursor = edge_cursor
        self.type_name = type_name


class _Values:
    def __init__(self, **values: ColumnElement[Any]) -> None:
        self.values = values


@handles("SessionEdge", "cursor")
@handles("TimelineEventEdge", "cursor")
@handles("NotificationEdge", "cursor")
def _edge_cursor(_c: Compiler, row: _Edge, _details: Details) -> ColumnElement[Any]:
    return row.cursor


@handles("SessionEdge", "node")
@handles("TimelineEventEdge", "node")
@handles("NotificationEdge", "node")
def _edge_node(c: Compiler, row: _Edge, details: Details) -> ColumnElement[Any]:
    return c.child(row.type_name, details, row.page)


@handles("PageInfo", "hasNextPage", "hasPreviousPage", "startCursor", "endCursor")
def _page_info(_c: Compiler, row: _Values, details: Details) -> ColumnElement[Any]:
    return row.values[details[0].node.name.value]


@handles("Query", "session")
def _session(c: Compiler, _row: Any, details: Details) -> ColumnElement[Any]:
    try:
        session_id = ids.decode_uuid(c.arguments("Query", details)["id"], "Session")
    except DomainError as problem:
        raise _refused_by_the_resolver(problem) from None
    return (select(c.child("Query", details, S)).where(S.c.id == session_id, viewer_scope(c.scope_viewer))
            .correlate(None).scalar_subquery())


def _object(c: Compiler, name: str) -> GraphQLObjectType:
    found = c.schema.get_type(name)
    assert isinstance(found, GraphQLObjectType)
    return found
