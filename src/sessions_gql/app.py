"""The Starlette application: GraphQL on /graphql, health checks, /metrics, lifespan for DB and live updates."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from cross_web import AsyncHTTPRequestAdapter, HTTPException
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.routing import Route, WebSocketRoute
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLRequestData
from strawberry.http.parse_content_type import parse_content_type
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL

from sessions_gql.auth.context import authenticate
from sessions_gql.clock import Clock
from sessions_gql.config import Settings, get_settings
from sessions_gql.context import Context
from sessions_gql.db.engine import create_engine, session_factory
from sessions_gql.db.migrate import migrate
from sessions_gql.http import (
    BodyLimit,
    RequestId,
    calendar_feed,
    check_operation,
    decode_json,
    healthz,
    readyz,
    refusal,
)
from sessions_gql.observability import Metrics, metrics_endpoint
from sessions_gql.realtime.hub import Realtime
from sessions_gql.schema import build_schema
from sessions_gql.services import scheduler, system_jobs
from sessions_gql.services.deps import Deps

log = logging.getLogger("sessions_gql")


class GraphQLApp(GraphQL[Context, None]):
    """Strawberry's ASGI view with our context: the viewer comes from the bearer token."""

    def __init__(self, deps: Deps, metrics: Metrics, **kwargs: Any) -> None:
        super().__init__(build_schema(deps.settings, metrics), **kwargs)
        self.deps = deps
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":  # strawberry's own branch, with refusals as coded JSON instead of plain text
            try:
                response = await self.run(Request(scope, receive))
            except HTTPException as refused:
                response = refusal(refused.status_code, refused.reason)
            await response(scope, receive, send)
            return
        if scope["type"] != "websocket":
            await super().__call__(scope, receive, send)
            return
        self.metrics.websocket_connections.inc()
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.metrics.websocket_connections.dec()

    def decode_json(self, data: str | bytes) -> object:
        return decode_json(data)

    async def parse_http_body(self, request: AsyncHTTPRequestAdapter
                              ) -> GraphQLRequestData | list[GraphQLRequestData]:
        content_type, _ = parse_content_type(request.content_type or "")
        if request.method == "POST" and "application/json" in content_type:
            check_operation(self.decode_json(await request.get_body()))
        return await super().parse_http_body(request)

    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:
        if isinstance(request, WebSocket):
            return Context(deps=self.deps, request=request, viewer_or_none=None)
        viewer, problem = await authenticate(self.deps, request.headers.get("authorization"))
        request_id = request.scope.get("state", {}).get("request_id")
        context = Context(deps=self.deps, request=request, viewer_or_none=viewer, auth_error=problem)
        if request_id:
            context.request_id = request_id
        return context

    async def on_ws_connect(self, context: Context) -> dict[str, object] | None:
        """Authenticate a websocket from its connection_init payload; a bad token closes it with 4403."""
        params = context.connection_params or {}
        header = params.get("authorization") or params.get("Authorization") if isinstance(params, dict) else None
        viewer, _problem = await authenticate(self.deps, header if isinstance(header, str) else None)
        if viewer is None:
            raise ConnectionRejectionError({"message": "a valid bearer token is required"})
        context.viewer_or_none = viewer
        return None


def build_deps(settings: Settings, clock: Clock | None = None) -> Deps:
    engine = create_engine(settings)
    if not settings.is_sqlite:
        return Deps(engine=engine, sessions=session_factory(engine), clock=clock or Clock(), settings=settings)
    reader = create_engine(settings, immediate=False)
    return Deps(engine=engine, sessions=session_factory(reader), write_sessions=session_factory(engine),
                read_engine=reader, clock=clock or Clock(), settings=settings)


def create_app(settings: Settings | None = None, *, clock: Clock | None = None, migrate_on_start: bool = True
               ) -> Starlette:
    settings = settings or get_settings()
    deps = build_deps(settings, clock)
    realtime = Realtime(deps)
    metrics = Metrics(subscriptions=lambda: realtime.hub.subscriber_count)
    graphql = GraphQLApp(deps, metrics, graphql_ide="graphiql", keep_alive=True, keep_alive_interval=15,
                         subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if migrate_on_start:
            await migrate(deps.engine)
        await realtime.start()
        stop = asyncio.Event()
        jobs = None
        if settings.scheduler_in_process:
            jobs = asyncio.create_task(scheduler.run_forever(deps, stop=stop), name="scheduler")
        log.info("sessions-gql ready on %s (scheduler %s)", "SQLite" if settings.is_sqlite else "PostgreSQL",
                 "in-process" if jobs else "in `sessions-gql worker`")
        try:
            yield
        finally:
            stop.set()
            if jobs is not None:
                await jobs
            await realtime.stop()
            await deps.dispose()

    app = Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/calendar/{token}.ics", calendar_feed),
            *([Route("/metrics", metrics_endpoint)] if settings.metrics else []),
        ],
        middleware=[Middleware(RequestId), Middleware(BodyLimit, limit=settings.max_body_bytes)],
        lifespan=lifespan,
    )
    app.state.deps = deps
    app.state.realtime = realtime
    app.state.metrics = metrics
    if settings.redis_url:
        app.state.redis_ping = realtime.hub.ping
    return app


__all__ = ["GraphQLApp", "build_deps", "create_app", "system_jobs"]
