"""Root fields and connections as SQL: `sessions`, `session`, and the Session connection's pages.

The rows come from the same builders the resolvers use (`session_queries.session_conditions`, `page_order`,
`after_condition`; `resolvers.sessions.session_query` and `after_key` for the arguments), so the filter, the
views and the viewer's scope are written once. A page is read with one row more than asked, as the resolver
does, to answer `hasNextPage`.
"""

from __future__ import annotations

import uuid
from typing import Any

from graphql import GraphQLObjectType
from sqlalchemy import false, func, literal_column, select, true, type_coerce
from sqlalchemy.dialects.postgresql import ARRAY, aggregate_order_by
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import Text

from sessions_gql.domain.errors import DomainError
from sessions_gql.readpath.compiler import Compiler, Details, NotCompilable, handles
from sessions_gql.readpath.objects import S
from sessions_gql.readpath.sql import const, cursor, instant, text_of
from sessions_gql.resolvers import ids
from sessions_gql.resolvers.cursors import page_size
from sessions_gql.resolvers.sessions import after_key, session_query
from sessions_gql.services.session_queries import after_condition, page_order, session_conditions, viewer_scope

ROW_NUMBER = "rp_n"
CONNECTIONS = {"SessionConnection": ("edges", "pageInfo", "totalCount")}
"""Connection fields, written by `session_connection` itself rather than by a handler."""
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
    """`resolvers.sessions.sessions_connection` as one scalar subquery."""
    try:
        size = page_size(first, maximum=c.max_page_size)
        query = session_query(filter, member_id=member_id, provider_id=provider_id)
        after_at = after_key(after)
    except DomainError as problem:
        raise _refused_by_the_resolver(problem) from None
    conditions = session_conditions(c.scope_viewer, query, c.scope_now)
    keyset = [*conditions, *([after_condition(query, after_at)] if after_at is not None else [])]
    order = page_order(query)
    page = (select(S, func.row_number().over(order_by=order).label(ROW_NUMBER)).where(*keyset).order_by(*order)
            .limit(size + 1).subquery())
    total = select(func.count()).select_from(S).where(*conditions).correlate(None).scalar_subquery()
    connection = c.object_type(_object(c, parent), details)
    number = getattr(page.c, ROW_NUMBER)
    shown = number <= size
    edge_cursor = cursor(instant(page.c.starts_at), text_of(page.c.id))
    values: list[ColumnElement[Any]] = []
    reads_page = False  # edges and pageInfo aggregate over the page; a total alone does not read it
    for key, field in c.subfields(connection, details).items():
        name = field[0].node.name.value
        if name == "__typename":
            value: ColumnElement[Any] = const(connection.name)
        elif name == "totalCount":
            value = total
        elif name == "edges":
            reads_page = True
            edge = c.object(c.object_type(connection, field), field, _Edge(page, edge_cursor))
            value = func.coalesce(func.json_agg(aggregate_order_by(edge, number)).filter(shown), EMPTY_LIST)
        elif name == "pageInfo":
            reads_page = True
            cursors_in_order = _cursors(edge_cursor, number, shown)
            cursors_reversed = _cursors(edge_cursor, number.desc(), shown)
            value = c.child(connection.name, field, _Values(
                hasNextPage=func.count() > size, hasPreviousPage=true() if after is not None else false(),
                startCursor=cursors_in_order[1], endCursor=cursors_reversed[1]))
        else:
            raise NotCompilable(f"{connection.name}.{name}")
        values.extend((const(key), value))
    built = select(func.json_build_object(*values))
    if reads_page:
        built = built.select_from(page).correlate_except(page)
    return built.scalar_subquery()


def _cursors(edge_cursor: ColumnElement[Any], order: Any, shown: ColumnElement[bool]) -> Any:
    """The shown rows' cursors as a text[] in `order` (PostgreSQL arrays count from 1)."""
    return type_coerce(func.array_agg(aggregate_order_by(edge_cursor, order)).filter(shown), ARRAY(Text))


class _Edge:
    def __init__(self, page: Any, edge_cursor: ColumnElement[Any]) -> None:
        self.page = page
        self.cursor = edge_cursor


class _Values:
    def __init__(self, **values: ColumnElement[Any]) -> None:
        self.values = values


@handles("SessionEdge", "cursor")
def _edge_cursor(_c: Compiler, row: _Edge, _details: Details) -> ColumnElement[Any]:
    return row.cursor


@handles("SessionEdge", "node")
def _edge_node(c: Compiler, row: _Edge, details: Details) -> ColumnElement[Any]:
    return c.child("SessionEdge", details, row.page)


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
