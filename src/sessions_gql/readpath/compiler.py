"""From a validated operation and the viewer's shape to one SQL statement that returns the response's JSON.

The selection is collected by graphql-core's own `collect_subfields` (fragments, type conditions, @skip and
@include, merged response keys), each field is written by the handler its type registers (readpath/objects.py,
readpath/roots.py), and the viewer's ids and the clock's now are bind parameters: one plan serves every viewer
of the same role. A field without a handler raises `NotCompilable` and the whole operation runs through the
ordinary resolvers instead.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from typing import cast as cast_to

from graphql import GraphQLField, GraphQLList, GraphQLNonNull, GraphQLObjectType, GraphQLSchema
from graphql.execution.collect_fields import FieldDetails, collect_fields, collect_subfields
from graphql.execution.values import get_argument_values
from sqlalchemy import Text, Uuid, and_, bindparam, case, cast, func, select
from sqlalchemy.sql.elements import BindParameter, ColumnElement
from strawberry.types.arguments import convert_arguments

from sessions_gql.auth.viewer import Roles, Viewer
from sessions_gql.db.types import UTCDateTime
from sessions_gql.domain.enums import Role
from sessions_gql.readpath.sql import const

MAX_KEYS = 50
"""json_build_object takes at most 100 arguments (PostgreSQL's FUNC_MAX_ARGS): 50 keys and values."""

Details = list[FieldDetails]


class NotCompilable(Exception):
    """A field the read path has no SQL for; the operation runs through the resolvers."""


@dataclass(frozen=True)
class ViewerShape:
    """What the statement's structure depends on: the role and which ids the viewer has, not their values."""

    role: Role
    member: bool
    provider: bool

    @classmethod
    def of(cls, viewer: Viewer) -> ViewerShape:
        return cls(role=viewer.role, member=viewer.member_id is not None, provider=viewer.provider_id is not None)


USER_ID = "rp_viewer_user"
MEMBER_ID = "rp_viewer_member"
PROVIDER_ID = "rp_viewer_provider"
NOW = "rp_now"
REQUEST_PARAMETERS = (USER_ID, MEMBER_ID, PROVIDER_ID, NOW)


def request_values(viewer: Viewer, now: datetime) -> dict[str, Any]:
    return {USER_ID: viewer.user_id, MEMBER_ID: viewer.member_id, PROVIDER_ID: viewer.provider_id, NOW: now}


def request_parameter(name: str, type_: Any) -> BindParameter[Any]:
    """A parameter filled per request (`request_values`); its None here only lets the statement compile."""
    return bindparam(name, value=None, type_=type_, required=False)


class SymbolicViewer(Roles):
    """A `Viewer` whose ids are bind parameters: the query builders that scope rows to a viewer
    (`session_queries.session_conditions`) write their predicates once for every viewer of this shape."""

    def __init__(self, shape: ViewerShape) -> None:
        self.role = shape.role
        self.user_id = request_parameter(USER_ID, Uuid())
        self.member_id = request_parameter(MEMBER_ID, Uuid()) if shape.member else None
        self.provider_id = request_parameter(PROVIDER_ID, Uuid()) if shape.provider else None


Handler = Callable[["Compiler", Any, Details], ColumnElement[Any]]
"""Writes one field: (compiler, the parent's row, the field's details) -> the field's JSON value."""

HANDLERS: dict[str, dict[str, Handler]] = {}
"""GraphQL type name -> field name -> handler. Filled by readpath/objects.py and readpath/roots.py."""


def handles(type_name: str, *field_names: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        for name in field_names:
            HANDLERS.setdefault(type_name, {})[name] = handler
        return handler

    return register


class Compiler:
    """One operation, one viewer shape, one set of variable values."""

    def __init__(self, schema: GraphQLSchema, strawberry_schema: Any, executor: Any, shape: ViewerShape,
                 max_page_size: int) -> None:
        self.schema = schema
        self.strawberry_schema = strawberry_schema
        self.executor = executor
        self.shape = shape
        self.viewer = SymbolicViewer(shape)
        self.now: BindParameter[datetime] = request_parameter(NOW, UTCDateTime())
        self.max_page_size = max_page_size
        self.guards: list[ColumnElement[bool]] = []
        self._field_defs: dict[int, tuple[GraphQLObjectType, GraphQLField]] = {}

    @property
    def scope_viewer(self) -> Viewer:
        """The symbolic viewer where the query builders take a `Viewer`: they read only its role and ids."""
        return cast_to(Viewer, self.viewer)

    @property
    def scope_now(self) -> datetime:
        """The clock's now, as the bind parameter the builders compare with."""
        return cast_to(datetime, self.now)

    # ------------------------------------------------------------------ the selection

    def subfields(self, type_: GraphQLObjectType, details: Details) -> dict[str, Details]:
        executor = self.executor
        collected = collect_subfields(self.schema, executor.fragments, executor.variable_values, executor.operation,
                                      type_, details)
        if collected.new_defer_usages:
            raise NotCompilable("@defer")
        return dict(collected.grouped_field_set)

    def object(self, type_: GraphQLObjectType, details: Details, row: Any) -> ColumnElement[Any]:
        """json_build_object of the selected fields of `type_` on `row`, keys in response order."""
        return self.fields(type_, self.subfields(type_, details), row)

    def fields(self, type_: GraphQLObjectType, grouped: dict[str, Details], row: Any) -> ColumnElement[Any]:
        handlers = HANDLERS.get(type_.name, {})
        if len(grouped) > MAX_KEYS:
            raise NotCompilable("too many keys for one json_build_object")
        pairs: list[ColumnElement[Any]] = []
        for key, details in grouped.items():
            name = details[0].node.name.value
            if name == "__typename":
                value: ColumnElement[Any] = const(type_.name)
            else:
                handler = handlers.get(name)
                if handler is None:
                    raise NotCompilable(f"{type_.name}.{name}")
                value = handler(self, row, details)
            pairs.extend((const(key), value))
        return func.json_build_object(*pairs)

    def object_type(self, parent: GraphQLObjectType, details: Details) -> GraphQLObjectType:
        """The object type a field returns (through non-null and list wrappers)."""
        field = parent.fields[details[0].node.name.value]
        named = field.type
        while isinstance(named, GraphQLNonNull | GraphQLList):
            named = named.of_type
        if not isinstance(named, GraphQLObjectType):
            raise NotCompilable(f"{parent.name}.{details[0].node.name.value} returns an abstract type")
        return named

    def field_type(self, parent_name: str, details: Details) -> GraphQLObjectType:
        """The object type the field returns, on the type named `parent_name`."""
        parent = self.schema.get_type(parent_name)
        assert isinstance(parent, GraphQLObjectType)
        return self.object_type(parent, details)

    def child(self, parent_name: str, details: Details, row: Any) -> ColumnElement[Any]:
        """The JSON object of an object-typed field whose row is already at hand (e.g. joined)."""
        return self.object(self.field_type(parent_name, details), details, row)

    def arguments(self, parent_name: str, details: Details) -> dict[str, Any]:
        """The field's arguments as its resolver would receive them (strawberry's conversion, snake_case)."""
        parent = self.schema.get_type(parent_name)
        assert isinstance(parent, GraphQLObjectType)
        node = details[0].node
        field_def = parent.fields[node.name.value]
        raw = get_argument_values(field_def, node, self.executor.variable_values)
        definition = field_def.extensions.get("strawberry-definition")
        if definition is None:
            raise NotCompilable(f"{parent_name}.{node.name.value} has no strawberry definition")
        converted = convert_arguments(raw, definition.arguments, scalar_registry=self.strawberry_schema
                                      .schema_converter.scalar_registry, config=self.strawberry_schema.config)
        return {argument.python_name: converted.get(argument.python_name, argument.default)
                for argument in definition.arguments}

    def subfields_of_operation(self, query: GraphQLObjectType | None) -> dict[str, Details]:
        assert query is not None
        executor = self.executor
        collected = collect_fields(self.schema, executor.fragments, executor.variable_values, query,
                                   executor.operation)
        if collected.new_defer_usages:
            raise NotCompilable("@defer")
        return dict(collected.grouped_field_set)

    def require(self, condition: ColumnElement[bool]) -> None:
        """Answer only if `condition` holds when the statement runs; otherwise the statement answers null and
        the resolvers answer instead (e.g. `viewer` for a user erased since the token was checked: the
        resolvers' path ends the token)."""
        self.guards.append(condition)

    def root(self, grouped: dict[str, Details]) -> Any:
        """The statement for the whole operation: one row, one column, the `data` object as text (asyncpg's json
        codec, which SQLAlchemy installs, would decode it with the standard library); null if a guard fails."""
        query = self.schema.query_type
        assert query is not None
        data = cast(self.fields(query, grouped, None), Text)
        return select(case((and_(*self.guards), data), else_=None) if self.guards else data)
