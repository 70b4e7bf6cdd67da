"""The GraphQL schema: the root types from api/root.py, the limits and policies from the settings."""

from __future__ import annotations

import contextlib
import datetime
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any

import strawberry
from graphql import GraphQLError, NoSchemaIntrospectionCustomRule, validate
from strawberry.extensions import MaxTokensLimiter, ParserCache, SchemaExtension, ValidationCache
from strawberry.schema.config import StrawberryConfig
from strawberry.schema.schema import DEFAULT_ALLOWED_OPERATION_TYPES
from strawberry.types.execution import ExecutionResult, PreExecutionError
from strawberry.types.graphql import OperationType

from sessions_gql.api.error_policy import ErrorPolicy, coded_stream
from sessions_gql.api.limits import DocumentRules, costed_executor, document_limits
from sessions_gql.api.links import wire
from sessions_gql.api.root import LINKS, Mutation, Query, Subscription
from sessions_gql.api.scalars import SCALARS
from sessions_gql.config import Settings
from sessions_gql.context import Context
from sessions_gql.observability import Metrics
from sessions_gql.persisted import PersistedQueries, PersistedQueryError


@strawberry.type(description="A calendar day in some time zone; carries the contract's Date scalar.")
class CalendarDay:
    date: datetime.date
    time_zone: str


class Schema(strawberry.Schema):
    """Errors are coded, masked and logged (with the request id) by ErrorPolicy, not logged again here.

    Every operation's document first goes through `persisted` (persisted queries and the trusted documents)."""

    persisted: PersistedQueries

    def process_errors(self, errors: Any, execution_context: Any = None) -> None:
        return None

    async def execute(self, query: str | None, variable_values: dict[str, Any] | None = None,
                      context_value: Any | None = None, root_value: Any | None = None,
                      operation_name: str | None = None,
                      allowed_operation_types: Iterable[OperationType] | None = None,
                      operation_extensions: dict[str, Any] | None = None) -> ExecutionResult:
        """One result for one request, its document from the persisted-query store when sent by hash. A
        subscription here has no stream to answer on (strawberry would run its field like a query's and fail), so
        it is refused like a mutation over GET, with a 400."""
        try:
            query = await self.persisted.document(query, operation_extensions)
        except PersistedQueryError as problem:
            return ExecutionResult(data=None, errors=[problem.graphql_error()])
        allowed = set(DEFAULT_ALLOWED_OPERATION_TYPES if allowed_operation_types is None else allowed_operation_types)
        return await super().execute(query, variable_values, context_value, root_value, operation_name,
                                     allowed - {OperationType.SUBSCRIPTION}, operation_extensions)

    async def stream(self, query: str | None, variable_values: dict[str, Any] | None = None,
                     context_value: Any | None = None, root_value: Any | None = None,
                     operation_name: str | None = None, operation_extensions: dict[str, Any] | None = None,
                     allowed_operation_types: Iterable[OperationType] | None = None) -> Any:
        """Websocket results: every event's errors coded like an HTTP response's.

        Each operation gets its own context (read session, DataLoaders) derived from the connection's, which
        strawberry shares between all the operations of one websocket; it is closed when the stream ends.
        """
        try:
            query = await self.persisted.document(query, operation_extensions)
        except PersistedQueryError as problem:
            return _refused(problem)
        if isinstance(context_value, Context):
            context_value = context_value.for_operation()
        results = await super().stream(query, variable_values, context_value, root_value, operation_name,
                                       operation_extensions, allowed_operation_types)
        return _closing(results, context_value)


async def _closing(results: AsyncIterator[Any], context: Any) -> AsyncIterator[Any]:
    """The stream's coded results; the stream is closed and the operation's read session released however it
    ends (completed, failed, or stopped by the client)."""
    try:
        async with contextlib.aclosing(results):  # type: ignore[type-var]
            async for result in coded_stream(results, context):
                yield result
    finally:
        if isinstance(context, Context):
            await context.close()


async def _refused(problem: PersistedQueryError) -> AsyncIterator[PreExecutionError]:
    yield PreExecutionError(data=None, errors=[problem.graphql_error()])


class DocumentCache(ParserCache):
    """ParserCache that leaves documents that fail to parse to strawberry's own parse, which reports the syntax
    error the usual way (coded by ErrorPolicy); a GraphQLError raised in an extension hook would bypass that."""

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        try:
            context.graphql_document = self.cached_parse_document(context.query, **context.parse_options)
        except GraphQLError:
            context.graphql_document = None
        yield


class IntrospectionPolicy(SchemaExtension):
    """SESSIONS_GQL_INTROSPECTION: `__schema` and `__type` for everyone ("on"), for ADMIN viewers ("admins"),
    or for no one ("off"), refused as FORBIDDEN before anything runs. `__typename` is always allowed.

    Checked after the (cached) validation, which ValidationCache runs in its own hook before this one, and not
    cached itself because the answer depends on the viewer: one walk over the document, made only for viewers
    who may not introspect. (Strawberry looks at the errors before the hooks' code after `yield` runs.)
    """

    def __init__(self, mode: str) -> None:
        self.mode = mode

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        if not (context.pre_execution_errors or context.graphql_document is None or self._allowed()) and validate(
                context.schema._schema, context.graphql_document, [NoSchemaIntrospectionCustomRule]):
            message = ("introspection is for admins only on this server" if self.mode == "admins"
                       else "introspection is off on this server")
            context.pre_execution_errors = [GraphQLError(message, extensions={"code": "FORBIDDEN"})]
        yield

    def _allowed(self) -> bool:
        if self.mode == "on":
            return True
        if self.mode == "off":
            return False
        viewer = getattr(self.execution_context.context, "viewer_or_none", None)
        return viewer is not None and viewer.is_admin


DOCUMENTS_CACHED = 1024
"""Parsed and validated documents kept per process (LRU). Clients send a handful of documents with variables,
so nearly every request skips parsing and validation; unique documents only cycle the cache."""


def build_schema(settings: Settings, metrics: Metrics | None = None, persisted: PersistedQueries | None = None
                 ) -> strawberry.Schema:
    """The schema; with `metrics`, every operation is counted and timed (outermost, so it sees final errors).

    The depth and alias limits are a validation rule built once here, not per request, so that a document's
    validation result can be cached: the cache is keyed by the rule classes as well as the document. The cost
    limit needs the variables, so the executor applies it (api/limits.py).
    """
    wire(LINKS)
    introspection = settings.introspection_mode
    limits = document_limits(max_depth=settings.max_query_depth, max_aliases=settings.max_aliases)
    schema = Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=[
            *([metrics.extension] if metrics is not None else []),
            lambda: MaxTokensLimiter(max_token_count=settings.max_tokens),
            lambda: DocumentRules(limits),
            lambda: DocumentCache(maxsize=DOCUMENTS_CACHED),
            lambda: ValidationCache(maxsize=DOCUMENTS_CACHED),
            *([] if introspection == "on" else [lambda: IntrospectionPolicy(introspection)]),
            ErrorPolicy,
        ],
        config=StrawberryConfig(auto_camel_case=True, scalar_map=SCALARS),
        types=[CalendarDay],
        execution_context_class=costed_executor(max_cost=settings.max_query_cost,
                                                max_page_size=settings.max_page_size),
    )
    schema.persisted = persisted or PersistedQueries.from_settings(settings)
    return schema
