"""HTTP pieces around the GraphQL endpoint: body limit, request ids, health and readiness."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sessions_gql.logging_setup import request_id_var
from sessions_gql.services.calendar import feed
from sessions_gql.services.deps import Deps


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
