"""How errors leave the API: expected ones with a code, bugs masked and logged with a request id."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from typing import Any

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from sessions_gql.context import Context, Unauthenticated
from sessions_gql.domain.errors import DomainError

log = logging.getLogger("sessions_gql.errors")
SUGGESTION = re.compile(r" Did you mean .*\?$")


def _with_code(error: GraphQLError, code: str, message: str | None = None, **extra: object) -> GraphQLError:
    return GraphQLError(
        message=message or error.message, nodes=error.nodes, source=error.source, positions=error.positions,
        path=error.path, original_error=None, extensions={**(error.extensions or {}), "code": code, **extra},
    )


MAX_MESSAGE_CHARS = 500
"""Messages may quote the client's input (graphql-core prints a refused value whole): they are cut to this."""


def shape_error(error: GraphQLError, context: object) -> GraphQLError:
    """The error as clients get it: coded, masked (and logged) when unexpected, never too long. Idempotent."""
    shaped = _coded(error, context)
    if len(shaped.message) <= MAX_MESSAGE_CHARS:
        return shaped
    return GraphQLError(message=shaped.message[:MAX_MESSAGE_CHARS - 3] + "...", nodes=shaped.nodes,
                        source=shaped.source, positions=shaped.positions, path=shaped.path, original_error=None,
                        extensions=shaped.extensions)


def _coded(error: GraphQLError, context: object) -> GraphQLError:
    if "code" in (error.extensions or {}):
        return error
    original = error.original_error
    if isinstance(original, Unauthenticated):
        return _with_code(error, "UNAUTHENTICATED")
    if isinstance(original, DomainError):
        return _with_code(error, original.code, field=original.field)
    if isinstance(original, GraphQLError) and "code" in (original.extensions or {}):
        # e.g. the DateTime scalar's VALIDATION, inside graphql-core's "Variable '$x' has invalid value" error
        return _with_code(error, (original.extensions or {})["code"])
    if original is None or isinstance(original, GraphQLError):
        if isinstance(context, Context) and context.deps.settings.is_production:
            return _with_code(error, "GRAPHQL_VALIDATION", SUGGESTION.sub("", error.message))
        return _with_code(error, "GRAPHQL_VALIDATION")
    request_id = context.request_id if isinstance(context, Context) else "-"
    log.error("unexpected error (request %s) at %s", request_id, error.path, exc_info=original)
    return _with_code(error, "INTERNAL_SERVER_ERROR", f"Internal server error (request id {request_id})",
                      requestId=request_id)


async def coded_stream(results: AsyncIterator[Any], context: object) -> AsyncIterator[Any]:
    """Each result of a subscription (or an operation sent over a websocket) with its errors shaped: the
    extension below only sees an operation's final result, not every event of a stream."""
    async for result in results:
        if getattr(result, "errors", None):
            result.errors = [shape_error(error, context) for error in result.errors]
        yield result


class ErrorPolicy(SchemaExtension):
    """Codes every error; masks unexpected ones; closes the operation's read session."""

    async def on_operation(self) -> AsyncIterator[None]:
        yield
        context = self.execution_context.context
        if isinstance(context, Context):
            await context.close()
        result = self.execution_context.result
        if result is not None and result.errors:
            result.errors = [shape_error(error, context) for error in result.errors]
