"""Root fields and connections as SQL: `viewer`, `node`, `sessions`, `session`, `member`, `provider`,
`conversation`, `conversations`, `notifications`; a member's and a provider's sessions, a session's timeline,
a conversation's messages; and the pages of every connection (`connection`).

The rows come from the same builders the resolvers use (`session_queries.session_conditions`, `page_order`,
`after_condition`, `conversation_queries.conversation_conditions`; `api.sessions.queries.session_query` and
`api.cursors` for the arguments), so the filter, the views and the viewer's scope are written once. A page is
read with one row more than asked, as the resolver does, to answer `hasNextPage` (or `hasPreviousPage`, for
messages, which are read newest first and shown oldest first).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any
from typing import cast as cast_to

from graphql import GraphQLObjectType
from sqlalchemy import Boolean, cast, false, func, literal, literal_column, null, select, true, type_coerce
from sqlalchemy.dialects.postgresql import ARRAY, aggregate_order_by
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import Text

from sessions_gql.api import ids
from sessions_gql.api.cursors import id_cursor, page_size, time_and_id
from sessions_gql.api.sessions.queries import session_query
from sessions_gql.domain.enums import NotificationKind
from sessions_gql.domain.errors import DomainError, NotFound
from sessions_gql.readpath.compiler import Compiler, Details, NotCompilable, handles
from sessions_gql.readpath.objects import (
    CONVERSATIONS,
    EVENTS,
    MEMBERS,
    MESSAGES,
    NOTIFICATIONS,
    PROVIDERS,
    USERS,
    Person,
    S,
    alias,
    person_json,
    sees_member_profile,
    sees_provider,
)
from sessions_gql.readpath.sql import const, cursor, instant, text_of
from sessions_gql.services.messaging.conversation_queries import (
    CONVERSATION_ORDER,
    conversation_conditions,
    conversation_scope,
)
from sessions_gql.services.people.people_queries import unread_messages_count, unread_notifications_count
from sessions_gql.services.sessions.session_queries import after_condition, page_order, session_conditions, viewer_scope

ROW_NUMBER = "rp_n"
CONNECTIONS = {"SessionConnection": ("edges", "pageInfo", "totalCount"),
               "TimelineEventConnection": ("edges", "pageInfo"), "NotificationConnection": ("edges", "pageInfo"),
               "ConversationConnection": ("edges", "pageInfo"), "MessageConnection": ("edges", "pageInfo")}
"""Connection fields, written by `connection` itself rather than by a handler."""
EMPTY_LIST: ColumnElement[Any] = literal_column("'[]'::json")


def _refused_by_the_resolver(problem: DomainError) -> NotCompilable:
    """Arguments the resolver refuses: its path answers with its own coded error."""
    return NotCompilable(f"the resolver refuses the arguments: {problem}")


def _paging(c: Compiler, parent: str, details: Details, decode: Callable[[str | None, str], Any], *,
            size: str = "first", cursor: str = "after", default_size: int | None = None
            ) -> tuple[dict[str, Any], int, Any]:
    """A page's arguments as its resolver reads them: (all arguments, the page size, the decoded cursor)."""
    args = c.arguments(parent, details)
    wanted = args[size] if args[size] is not None or default_size is None else default_size
    try:
        return args, page_size(wanted, maximum=c.max_page_size, field=size), decode(args[cursor], cursor)
    except DomainError as problem:
        raise _refused_by_the_resolver(problem) from None


@handles("Query", "sessions")
def _sessions(c: Compiler, _row: Any, details: Details) -> ColumnElement[Any]:
    args = c.arguments("Query", details)
    return session_connection(c, "Query", details, first=args["first"], after=args["after"], filter=args["filter"])


@handles("Member", "sessions")
def _member_sessions(c: Compiler, row: Person, details: Details) -> ColumnElement[Any]:
    """`Member.sessions`: the viewer's sessions with this member (the row's id is a column of the outer row)."""
    args = c.arguments("Member", details)
    return session_connection(c, "Member", details, first=args["first"], after=args["after"], filter=args["filter"],
                              member_id=cast_to(uuid.UUID, row.c.id), outer=(row.c.id.table,))


@handles("Provider", "sessions")
def _provider_sessions(c: Compiler, row: Person, details: Details) -> ColumnElement[Any]:
    """`Provider.sessions`: the viewer's sessions with this provider."""
    args = c.arguments("Provider", details)
    return session_connection(c, "Provider", details, first=args["first"], after=args["after"],
                              filter=args["filter"], provider_id=cast_to(uuid.UUID, row.c.id), outer=(row.c.id.table,))


def session_connection(c: Compiler, parent: str, details: Details, *, first: int | None, after: str | None,
                       filter: Any, member_id: uuid.UUID | None = None, provider_id: uuid.UUID | None = None,
                       outer: tuple[Any, ...] = ()) -> ColumnElement[Any]:
    """`api.sessions.queries.sessions_connection` as one scalar subquery; `outer`: the rows `member_id` or
    `provider_id` come from, when they are columns."""
    try:
        size = page_size(first, maximum=c.max_page_size)
        query = session_query(filter, member_id=member_id, provider_id=provider_id)
        after_at = time_and_id(after)
    except DomainError as problem:
        raise _refused_by_the_resolver(problem) from None
    conditions = session_conditions(c.scope_viewer, query, c.scope_now)
    keyset = [*conditions, *([after_condition(query, after_at)] if after_at is not None else [])]
    total = select(func.count()).select_from(S).where(*conditions).correlate(*outer).scalar_subquery()
    return connection(c, parent, details, rows=select(S).where(*keyset), order=page_order(query), size=size,
                      has_previous=after is not None, total=total, outer=outer,
                      cursor_of=lambda page: cursor(instant(page.c.starts_at), text_of(page.c.id)))


def connection(c: Compiler, parent: str, details: Details, *, rows: Any, order: tuple[Any, ...], size: int,
               has_previous: bool, cursor_of: Callable[[Any], ColumnElement[Any]],
               total: ColumnElement[Any] | None = None, outer: tuple[Any, ...] = (),
               shown_reversed: bool = False) -> ColumnElement[Any]:
    """A page of `rows` in `order` as a connection's JSON: `size` edges read with one row more, as the resolvers
    do, to answer `hasNextPage`. `outer`: the enclosing rows the page's conditions refer to (a session's
    timeline refers to its session). `shown_reversed`: the page is read in `order` (newest first) and shown the
    other way round, so the extra row answers `hasPreviousPage`, and `has_previous` (a cursor was given)
    answers `hasNextPage` (`Conversation.messages`)."""
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
            shown_order = number.desc() if shown_reversed else number
            value = func.coalesce(func.json_agg(aggregate_order_by(edge, shown_order)).filter(shown), EMPTY_LIST)
        elif name == "pageInfo":
            reads_page = True
            first_shown = _cursors(edge_cursor, number.desc() if shown_reversed else number, shown)
            last_shown = _cursors(edge_cursor, number if shown_reversed else number.desc(), shown)
            more, given = func.count() > size, true() if has_previous else false()
            value = c.child(connection_type.name, field, _Values(
                hasNextPage=given if shown_reversed else more, hasPreviousPage=more if shown_reversed else given,
                startCursor=first_shown[1], endCursor=last_shown[1]))
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
    args, size, after_id = _paging(c, "Session", details, id_cursor)
    events = alias(EVENTS)
    rows = select(events).where(events.c.session_id == row.c.id,
                                *([events.c.id > after_id] if after_id is not None else []))
    return connection(c, "Session", details, rows=rows, order=(events.c.id,), size=size,
                      has_previous=args["after"] is not None, outer=(row,),
                      cursor_of=lambda page: cursor(text_of(page.c.id)))


@handles("Query", "notifications")
def _notifications(c: Compiler, _row: Any, details: Details) -> ColumnElement[Any]:
    """`api.notifications.queries.notifications`: the viewer's own, newest first, keyset on id."""
    args, size, before_id = _paging(c, "Query", details, id_cursor)
    notice = alias(NOTIFICATIONS)
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
@handles("ConversationEdge", "cursor")
@handles("MessageEdge", "cursor")
def _edge_cursor(_c: Compiler, row: _Edge, _details: Details) -> ColumnElement[Any]:
    return row.cursor


@handles("SessionEdge", "node")
@handles("TimelineEventEdge", "node")
@handles("NotificationEdge", "node")
@handles("ConversationEdge", "node")
@handles("MessageEdge", "node")
def _edge_node(c: Compiler, row: _Edge, details: Details) -> ColumnElement[Any]:
    return c.child(row.type_name, details, row.page)


@handles("PageInfo", "hasNextPage", "hasPreviousPage", "startCursor", "endCursor")
def _page_info(_c: Compiler, row: _Values, details: Details) -> ColumnElement[Any]:
    return row.values[details[0].node.name.value]


def _id_argument(c: Compiler, details: Details, type_name: str, *, not_found_is_null: bool = True
                 ) -> uuid.UUID | None:
    """The root field's `id` argument. None for an id that names nothing of the type, which the resolvers of
    `member`, `provider` and `conversation` answer with null (`session`'s with the error: the resolvers' path)."""
    try:
        return ids.decode_uuid(c.arguments("Query", details)["id"], type_name)
    except NotFound as problem:
        if not_found_is_null:
            return None
        raise _refused_by_the_resolver(problem) from None
    except DomainError as problem:
        raise _refused_by_the_resolver(problem) from None


def _session_by_id(c: Compiler, type_: GraphQLObjectType, details: Details, session_id: uuid.UUID
                   ) -> ColumnElement[Any]:
    """`api.sessions.types.load_session`: null unless the viewer is party to it or an admin."""
    return (select(c.object(type_, details, S)).where(S.c.id == session_id, viewer_scope(c.scope_viewer))
            .correlate(None).scalar_subquery())


def _member_by_id(c: Compiler, type_: GraphQLObjectType, details: Details, member_id: uuid.UUID
                  ) -> ColumnElement[Any]:
    """`api.people.types.load_member`: null unless `visibility.can_see_member`."""
    return person_json(c, type_, details, MEMBERS, literal(member_id),
                       visible=lambda person: sees_member_profile(c, person.c.id))


def _provider_by_id(c: Compiler, type_: GraphQLObjectType, details: Details, provider_id: uuid.UUID
                    ) -> ColumnElement[Any]:
    """`api.people.types.load_provider`: null unless `visibility.can_see_provider`."""
    return person_json(c, type_, details, PROVIDERS, literal(provider_id),
                       visible=lambda person: sees_provider(c, person))


def _conversation_by_id(c: Compiler, type_: GraphQLObjectType, details: Details, conversation_id: uuid.UUID
                        ) -> ColumnElement[Any]:
    """`api.messaging.queries.conversation`: null unless the viewer is its member, its provider or an admin."""
    return (select(c.object(type_, details, CONVERSATIONS))
            .where(CONVERSATIONS.c.id == conversation_id, *conversation_scope(c.scope_viewer))
            .correlate(None).scalar_subquery())


ById = Callable[[Compiler, GraphQLObjectType, Details, uuid.UUID], ColumnElement[Any]]
BY_ID: dict[str, ById] = {"Session": _session_by_id, "Member": _member_by_id, "Provider": _provider_by_id,
                          "Conversation": _conversation_by_id}
"""The types `node(id:)` compiles, each read as its own root field reads it (api/nodes.py's loaders)."""


def _root_by_id(name: str, type_name: str, *, not_found_is_null: bool = True) -> None:
    def handler(c: Compiler, _row: Any, details: Details) -> ColumnElement[Any]:
        key = _id_argument(c, details, type_name, not_found_is_null=not_found_is_null)
        return null() if key is None else BY_ID[type_name](c, c.field_type("Query", details), details, key)

    handles("Query", name)(handler)


_root_by_id("session", "Session", not_found_is_null=False)
_root_by_id("member", "Member")
_root_by_id("provider", "Provider")
_root_by_id("conversation", "Conversation")


@handles("Query", "viewer")
def _viewer(c: Compiler, _row: Any, details: Details) -> ColumnElement[Any]:
    """`api.people.queries.viewer`: the user, member and provider the token names. A user erased since the token
    was checked fails the guard, and the resolvers end the token."""
    user = alias(USERS)
    c.require(select(user.c.id).where(user.c.id == c.viewer.user_id).correlate_except(user).exists())
    return c.child("Query", details, None)


@handles("Viewer", "user")
def _viewer_user(c: Compiler, _row: None, details: Details) -> ColumnElement[Any]:
    user = alias(USERS)
    return (select(c.child("Viewer", details, user)).where(user.c.id == c.viewer.user_id).correlate_except(user)
            .scalar_subquery())


@handles("Viewer", "member")
def _viewer_member(c: Compiler, _row: None, details: Details) -> ColumnElement[Any]:
    if c.viewer.member_id is None:
        return null()
    return person_json(c, c.field_type("Viewer", details), details, MEMBERS, c.viewer.member_id)


@handles("Viewer", "provider")
def _viewer_provider(c: Compiler, _row: None, details: Details) -> ColumnElement[Any]:
    if c.viewer.provider_id is None:
        return null()
    return person_json(c, c.field_type("Viewer", details), details, PROVIDERS, c.viewer.provider_id)


@handles("Viewer", "unreadNotifications")
def _unread_notifications(c: Compiler, _row: None, _details: Details) -> ColumnElement[Any]:
    return unread_notifications_count(c.viewer.user_id).correlate(None).scalar_subquery()


@handles("Viewer", "unreadMessages")
def _unread_messages(c: Compiler, _row: None, _details: Details) -> ColumnElement[Any]:
    query = unread_messages_count(c.scope_viewer)
    return literal_column("0") if query is None else query.correlate(None).scalar_subquery()


@handles("Viewer", "emailPreferences")
def _email_preferences(c: Compiler, _row: None, details: Details) -> ColumnElement[Any]:
    """`services.preferences.email_preferences`: every kind in declaration order, emailed unless turned off."""
    user = alias(USERS)
    chosen = (select(user.c.email_preferences).where(user.c.id == c.viewer.user_id).correlate_except(user)
              .scalar_subquery())
    preference = c.field_type("Viewer", details)
    return func.json_build_array(*(c.object(preference, details, _Values(
        kind=const(kind.name), email=func.coalesce(cast(chosen.op("->>")(const(kind.value)), Boolean), true())))
        for kind in NotificationKind))


@handles("EmailPreference", "kind", "email")
def _preference(_c: Compiler, row: _Values, details: Details) -> ColumnElement[Any]:
    return row.values[details[0].node.name.value]


@handles("Query", "node")
def _node(c: Compiler, _row: Any, details: Details) -> ColumnElement[Any]:
    """`api.root.node` for the types in BY_ID: the id names the type, and the selection is collected for it."""
    raw = c.arguments("Query", details)["id"]
    try:
        type_name, _ = ids.split(raw)
        by_id = BY_ID.get(type_name)
        if by_id is None:
            raise NotCompilable(f"node of {type_name}")
        key = ids.decode_uuid(raw, type_name)
    except DomainError as problem:
        raise _refused_by_the_resolver(problem) from None
    return by_id(c, _object(c, type_name), details, key)


@handles("Query", "conversations")
def _conversations(c: Compiler, _row: Any, details: Details) -> ColumnElement[Any]:
    """`api.messaging.queries.conversations`: the viewer's, newest activity first."""
    args, size, after = _paging(c, "Query", details, lambda raw, _field: time_and_id(raw))
    rows = select(CONVERSATIONS).where(*conversation_conditions(c.scope_viewer, after))
    return connection(c, "Query", details, rows=rows, order=CONVERSATION_ORDER, size=size,
                      has_previous=args["after"] is not None,
                      cursor_of=lambda page: cursor(instant(page.c.last_message_at), text_of(page.c.id)))


@handles("Conversation", "messages")
def _messages(c: Compiler, row: Any, details: Details) -> ColumnElement[Any]:
    """`api.messaging.types.messages_connection`: the newest `last` before the cursor, shown oldest first."""
    args, size, before_id = _paging(c, "Conversation", details, id_cursor, size="last", cursor="before",
                                    default_size=50)
    message = alias(MESSAGES)
    rows = select(message).where(message.c.conversation_id == row.c.id,
                                 *([message.c.id < before_id] if before_id is not None else []))
    return connection(c, "Conversation", details, rows=rows, order=(message.c.id.desc(),), size=size,
                      has_previous=args["before"] is not None, outer=(row,), shown_reversed=True,
                      cursor_of=lambda page: cursor(text_of(page.c.id)))


def _object(c: Compiler, name: str) -> GraphQLObjectType:
    found = c.schema.get_type(name)
    assert isinstance(found, GraphQLObjectType)
    return found
