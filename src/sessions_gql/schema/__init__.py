"""The GraphQL schema: types from this package, resolvers from `resolvers/`, limits from the settings."""

from __future__ import annotations

import datetime
from typing import Any

import strawberry
from strawberry.extensions import MaxAliasesLimiter, MaxTokensLimiter, QueryDepthLimiter
from strawberry.schema.config import StrawberryConfig

from sessions_gql.config import Settings
from sessions_gql.observability import Metrics
from sessions_gql.schema.errors import ErrorPolicy
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


def build_schema(settings: Settings, metrics: Metrics | None = None) -> strawberry.Schema:
    """The schema; with `metrics`, every operation is counted and timed (outermost, so it sees final errors)."""
    return Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=[
            *([metrics.extension] if metrics is not None else []),
            lambda: QueryDepthLimiter(max_depth=settings.max_query_depth),
            lambda: MaxAliasesLimiter(max_alias_count=settings.max_aliases),
            lambda: MaxTokensLimiter(max_token_count=settings.max_tokens),
            ErrorPolicy,
        ],
        config=StrawberryConfig(auto_camel_case=True, scalar_map=SCALARS),
        types=[CalendarDay],
    )
