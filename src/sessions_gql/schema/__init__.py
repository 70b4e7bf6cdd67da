"""The GraphQL schema: types from this package, resolvers from `resolvers/`, limits from the settings."""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Iterator
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import MaxTokensLimiter, ParserCache, ValidationCache
from strawberry.schema.config import StrawberryConfig
from strawberry.schema.schema import DEFAULT_ALLOWED_OPERATION_TYPES
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType

from sessions_gql.config import Settings
from sessions_gql.observability import Metrics
from sessions_gql.schema.errors import ErrorPolicy, coded_stream
from sessions_gql.schema.limits import DocumentRules, costed_executor, document_limits
from sessions_gql.schema.root import Mutation, Query
from sessions_gql.schema.scalars import SCALARS
from sessions_gql.schema.subscriptions import Subscription


@strawberry.type(description="A calendar day in some time zone; carries the contract's Date scalar.")
class CalendarDay:
    date: datetime.date
    time_zone: str


class Schema(strawberry.Schema):
    """Errors are coded, masked and logged (with the request id) by ErrorPolicy, not logged again here."""

    def process_errors(self, errors: Any, execution_context: Any = None) -> None:
        return None

    async def execute(self, query: str | None, variable_values: dict[str, Any] | None = None,
                      context_value: Any | None = None, root_value: Any | None = None,
                      operation_name: str | None = None,
                      allowed_operation_types: Iterable[OperationType] | None = None,
                      operation_extensions: dict[str, Any] | None = None) -> ExecutionResult:
        """One result for one request: a subscription there has no stream to answer on (strawberry would run its
        field like a query's and fail), so it is refused like a mutation over GET, with a 400."""
        allowed = set(DEFAULT_ALLOWED_OPERATION_TYPES if allowed_operation_types is None else allowed_operation_types)
        return await super().execute(query, variable_values, context_value, root_value, operation_name,
                                     allowed - {OperationType.SUBSCRIPTION}, operation_extensions)

    async def stream(self, query: str | None, variable_values: dict[str, Any] | None = None,
                     context_value: Any | None = None, *args: Any, **kwargs: Any) -> Any:
        """Websocket results: every event's errors coded like an HTTP response's."""
        results = await super().stream(query, variable_values, context_value, *args, **kwargs)
        return coded_stream(results, context_value)


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


DOCUMENTS_CACHED = 1024
"""Parsed and validated documents kept per process (LRU). Clients send a handful of documents with variables,
so nearly every request skips parsing and validation; unique documents only cycle the cache."""


def build_schema(settings: Settings, metrics: Metrics | None = None) -> strawberry.Schema:
    """The schema; with `metrics`, every operation is counted and timed (outermost, so it sees final errors).

    The depth and alias limits are a validation rule built once here, not per request, so that a document's
    validation result can be cached: the cache is keyed by the rule classes as well as the document. The cost
    limit needs the variables, so the executor applies it (schema/limits.py).
    """
    limits = document_limits(max_depth=settings.max_query_depth, max_aliases=settings.max_aliases)
    return Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=[
            *([metrics.extension] if metrics is not None else []),
            lambda: MaxTokensLimiter(max_token_count=settings.max_tokens),
            lambda: DocumentRules(limits),
            lambda: DocumentCache(maxsize=DOCUMENTS_CACHED),
            lambda: ValidationCache(maxsize=DOCUMENTS_CACHED),
            ErrorPolicy,
        ],
        config=StrawberryConfig(auto_camel_case=True, scalar_map=SCALARS),
        types=[CalendarDay],
        execution_context_class=costed_executor(max_cost=settings.max_query_cost,
                                                max_page_size=settings.max_page_size),
    )
