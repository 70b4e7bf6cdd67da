"""HTTP pieces around the GraphQL endpoint: body limit, strict bodies, request ids, health and readiness."""

from __future__ import annotations

import json
import uuid
from typing import Any

import orjson
from cross_web import HTTPException
from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sessions_gql.logging_setup import request_id_var
from sessions_gql.services.deps import Deps
from sessions_gql.services.sessions.calendar import feed


class BodyLimit:
    """Refuses request bodies over `limit` bytes with 413, without reading them into memory."""

    def __init__(self, app: ASGIApp, *, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self._too_large(send)
            return
        seen = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise _TooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge:
            if not started:
                await self._too_large(send)

    async def _too_large(self, send: Send) -> None:
        response = JSONResponse({"errors": [{"message": f"request body over {self.limit} bytes",
                                             "extensions": {"code": "PAYLOAD_TOO_LARGE"}}]}, status_code=413)
        await response({"type": "http"}, _no_receive, send)


class _TooLarge(Exception):
    """The body grew past the limit while streaming in."""


async def _no_receive() -> Message:
    return {"type": "http.disconnect"}


MAX_REASON_CHARS = 200
"""Refusals echo at most this much (an operation name, say, is the client's and unbounded)."""
HTTP_CODES = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED", 413: "PAYLOAD_TOO_LARGE"}


def refusal(status: int, reason: str) -> JSONResponse:
    """A request refused before any GraphQL ran: a GraphQL-shaped JSON body with a code, never plain text."""
    shown = reason if len(reason) <= MAX_REASON_CHARS else reason[:MAX_REASON_CHARS] + "..."
    return JSONResponse({"errors": [{"message": shown, "extensions": {"code": HTTP_CODES.get(status, "BAD_REQUEST")}}]},
                        status_code=status)


def _no_constants(name: str) -> object:
    raise ValueError(f"{name} is not JSON")


def decode_json(data: str | bytes) -> object:
    """Strict JSON (RFC 8259): UTF-8, no NaN or Infinity; anything else is a 400, not a crash. Deep nesting raises
    RecursionError in the decoder and integers past 4300 digits ValueError: both are the client's fault too."""
    try:
        return json.loads(data.decode("utf-8") if isinstance(data, bytes) else data, parse_constant=_no_constants)
    except UnicodeDecodeError:
        raise HTTPException(400, "the body is not valid UTF-8") from None
    except RecursionError:
        raise HTTPException(400, "the JSON is nested too deeply") from None
    except ValueError:
        raise HTTPException(400, "not valid JSON") from None


def encode_json(data: object) -> str:
    """Responses and websocket frames as compact JSON text (text, so that websocket frames stay text frames).
    orjson is several times faster than the standard library; an integer past 64 bits (a query cost in an error,
    say) is beyond it, and the standard library writes that one."""
    try:
        return orjson.dumps(data).decode()
    except TypeError:  # orjson.JSONEncodeError
        return json.dumps(data, separators=(",", ":"))


def check_operation(data: object) -> None:
    """A POSTed body is one operation: an object whose operationName, when given, is a string (strawberry itself
    checks query, variables and extensions). A list would be a batch, which this API does not take."""
    if isinstance(data, list):
        raise HTTPException(400, "batching is not supported: send one operation per request")
    if not isinstance(data, dict):
        raise HTTPException(400, "the body must be a JSON object with a `query`")
    if not isinstance(data.get("operationName"), str | None):
        raise HTTPException(400, "The GraphQL operation's `operationName` must be a string or null, if provided.")


class RequestId:
    """Gives each request an id (or keeps the caller's X-Request-Id) and echoes it in the response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        given = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")[:64]
        request_id = given if given.replace("-", "").isalnum() else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id

        async def with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", []).append((b"x-request-id", request_id.encode()))
            await send(message)

        token = request_id_var.set(request_id)  # for the logs (logging_setup.JsonFormatter)
        try:
            await self.app(scope, receive, with_header)
        finally:
            request_id_var.reset(token)


async def healthz(_request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


async def readyz(request: Request) -> JSONResponse:
    deps: Deps = request.app.state.deps
    checks: dict[str, Any] = {}
    try:
        async with deps.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"error: {type(exc).__name__}"
    broadcast = getattr(request.app.state, "redis_ping", None)
    if broadcast is not None:
        try:
            await broadcast()
            checks["redis"] = "ok"
        except Exception as exc:
            checks["redis"] = f"error: {type(exc).__name__}"
    ready = all(value == "ok" for value in checks.values())
    return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)


async def calendar_feed(request: Request) -> Response:
    """GET /calendar/{token}.ics: the provider's sessions for external calendars; 404 for unknown tokens."""
    body = await feed(request.app.state.deps, token=request.path_params["token"])
    if body is None:
        return PlainTextResponse("not found", status_code=404)
    return Response(body, media_type="text/calendar; charset=utf-8",
                    headers={"Cache-Control": "private, max-age=300"})
