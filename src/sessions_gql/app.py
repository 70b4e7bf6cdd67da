"""The Starlette application: GraphQL on /graphql, health checks, /metrics, lifespan for DB and live updates."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

from cross_web import AsyncHTTPRequestAdapter, HTTPException
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLRequestData
from strawberry.http.parse_content_type import parse_content_type
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL
from strawberry.subscriptions.protocols.graphql_transport_ws.types import SubscribeMessage
from strawberry.subscriptions.protocols.graphql_ws.types import StartMessage

from sessions_gql.api.schema import build_schema
from sessions_gql.auth.context import authenticate
from sessions_gql.auth.tokens import InvalidToken, bearer_token, decode_token
from sessions_gql.clock import Clock
from sessions_gql.config import Settings, get_settings
from sessions_gql.context import Context
from sessions_gql.db.engine import create_engine, session_factory
from sessions_gql.db.migrate import migrate
from sessions_gql.graphiql import GraphiQL
from sessions_gql.http import (
    BodyLimit,
    RequestId,
    calendar_feed,
    check_operation,
    decode_json,
    encode_json,
    healthz,
    readyz,
    refusal,
)
from sessions_gql.observability import Metrics, metrics_endpoint
from sessions_gql.persisted import PersistedQueries
from sessions_gql.ratelimit import RateLimiter, Refusal
from sessions_gql.realtime.frames import Frames
from sessions_gql.realtime.relay import Realtime
from sessions_gql.services import scheduler, test_clock
from sessions_gql.services.deps import Deps
from sessions_gql.services.sessions import system_jobs
from sessions_gql.ws_protocol import LegacyWSHandler, LimitedWebSocketAdapter, TransportWSHandler, bearer_header

log = logging.getLogger("sessions_gql")


class LimitedTransportWS(TransportWSHandler):
    """graphql-transport-ws with the subscription-start limit: a refused start gets an error frame."""

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        if self.connection_acknowledged and message["id"] not in self.operations:
            refusal = await _subscription_refusal(self.view, self.context)
            if refusal is not None:
                await self.send_message({"id": message["id"], "type": "error", "payload": [
                    {"message": refusal.message, "extensions": refusal.extensions}]})
                return
        await super().handle_subscribe(message)


class LimitedLegacyWS(LegacyWSHandler):
    """The legacy graphql-ws protocol with the same limit."""

    async def handle_start(self, message: StartMessage) -> None:
        if self.connection_acknowledged:
            refusal = await _subscription_refusal(self.view, self.context)
            if refusal is not None:
                await self.send_message({"type": "error", "id": message["id"], "payload": {
                    "message": refusal.message, "extensions": refusal.extensions}})
                return
        await super().handle_start(message)


async def _subscription_refusal(view: Any, context: Context) -> Refusal | None:
    viewer = context.viewer_or_none
    limiter: RateLimiter = view.limiter
    return await limiter.subscription(viewer.user_id.hex if viewer else None, context.request.scope)


class GraphQLApp(GraphQL[Context, None]):
    """Strawberry's ASGI view with our context: the viewer comes from the bearer token.

    Websockets go through `ws_protocol`: strict messages on both subprotocols, keep-alive, token expiry.
    """

    graphql_transport_ws_handler_class = LimitedTransportWS
    graphql_ws_handler_class = LimitedLegacyWS
    websocket_adapter_class = LimitedWebSocketAdapter

    def __init__(self, deps: Deps, metrics: Metrics, limiter: RateLimiter, *, ide: GraphiQL | None = None,
                 **kwargs: Any) -> None:
        settings = deps.settings
        self.persisted = PersistedQueries.from_settings(settings, metrics.registry)
        super().__init__(build_schema(settings, metrics, self.persisted), graphql_ide="graphiql" if ide else None,
                         keep_alive=True, keep_alive_interval=settings.ws_keepalive_seconds,
                         connection_init_wait_timeout=timedelta(seconds=settings.ws_init_timeout_seconds), **kwargs)
        self.deps = deps
        self.metrics = metrics
        self.limiter = limiter
        self.ide = ide
        self.max_message_bytes = settings.max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":  # strawberry's own branch, with refusals as coded JSON instead of plain text
            limited = await self.limiter.request(self._token_subject(scope), scope)
            if limited is not None:
                await _too_many(limited, scope, receive, send)
                return
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
        receive, send = self.persisted.websocket_io(receive, send)
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.metrics.websocket_connections.dec()

    async def render_graphql_ide(self, request: Request) -> Response:
        """Our own page, with every file served by this service (strawberry's loads them from a CDN)."""
        assert self.ide is not None  # strawberry calls this only when graphql_ide is set
        return await self.ide.page(request)

    def should_render_graphql_ide(self, request: Any) -> bool:
        """Not for a GET that names its document by hash (Apollo's useGETForHashedQueries sends no `query`)."""
        return "extensions" not in request.query_params and super().should_render_graphql_ide(request)

    def _token_subject(self, scope: Scope) -> str | None:
        """The user a valid bearer token speaks for (signature and expiry checked, no database), else None."""
        header = dict(scope.get("headers") or []).get(b"authorization")
        if header is None:
            return None
        try:
            token = bearer_token(header.decode("latin-1"))
            if token is None:
                return None
            return decode_token(self.deps.settings, token, now=self.deps.clock.wall()).hex
        except InvalidToken:
            return None

    def decode_json(self, data: str | bytes) -> object:
        return decode_json(data)

    def encode_json(self, data: object) -> str:
        return encode_json(data)

    async def parse_http_body(self, request: AsyncHTTPRequestAdapter
                              ) -> GraphQLRequestData | list[GraphQLRequestData]:
        content_type, _ = parse_content_type(request.content_type or "")
        if request.method == "POST" and "application/json" in content_type:
            check_operation(self.decode_json(await request.get_body()))
        return await super().parse_http_body(request)

    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:
        if isinstance(request, WebSocket):
            return Context(deps=self.deps, request=request, viewer_or_none=None)
        await self.deps.clock.refresh()  # the shared test clock: see a move made by another process
        viewer, problem = await authenticate(self.deps, request.headers.get("authorization"))
        request_id = request.scope.get("state", {}).get("request_id")
        context = Context(deps=self.deps, request=request, viewer_or_none=viewer, auth_error=problem)
        if request_id:
            context.request_id = request_id
        return context

    async def on_ws_connect(self, context: Context) -> dict[str, object] | None:
        """Authenticate a websocket from its connection_init payload; a bad token closes it with 4403."""
        await self.deps.clock.refresh()
        viewer, _problem = await authenticate(self.deps, bearer_header(context.connection_params))
        if viewer is None:
            raise ConnectionRejectionError({"message": "a valid bearer token is required"})
        context.viewer_or_none = viewer
        return None


async def _too_many(refusal: Refusal, scope: Scope, receive: Receive, send: Send) -> None:
    """429 with Retry-After, before the body is read: a refused request runs nothing."""
    response = JSONResponse({"data": None, "errors": [{"message": refusal.message, "extensions": refusal.extensions}]},
                            status_code=429, headers={"Retry-After": str(refusal.retry_after)})
    await response(scope, receive, send)


def build_deps(settings: Settings, clock: Clock | None = None) -> Deps:
    engine = create_engine(settings)
    if not settings.is_sqlite:
        return Deps(engine=engine, sessions=session_factory(engine), settings=settings,
                    clock=clock or test_clock.clock_for(settings, engine))
    reader = create_engine(settings, immediate=False)
    return Deps(engine=engine, sessions=session_factory(reader), write_sessions=session_factory(engine),
                read_engine=reader, clock=clock or test_clock.clock_for(settings, engine, reader), settings=settings)


def create_app(settings: Settings | None = None, *, clock: Clock | None = None, migrate_on_start: bool = True,
               rate_time: Callable[[], float] | None = None) -> Starlette:
    """The app; `rate_time` is the rate limiter's time source in seconds (tests inject one; else time.time)."""
    settings = settings or get_settings()
    if settings.metrics and not settings.metrics_served:
        log.warning("/metrics is off: production serves metrics only with SESSIONS_GQL_METRICS_TOKEN set")
    deps = build_deps(settings, clock)
    realtime = Realtime(deps)
    metrics = Metrics(subscriptions=lambda: realtime.hub.subscriber_count)
    deps.frames = Frames(metrics.registry, enabled=settings.shared_frames)
    ide = GraphiQL() if settings.graphiql_enabled else None
    limiter = RateLimiter(settings, metrics=metrics, now=rate_time or time.time)
    graphql = GraphQLApp(deps, metrics, limiter, ide=ide,
                         subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if migrate_on_start:
            await migrate(deps.engine)
        await deps.clock.refresh()
        await realtime.start()
        stop = asyncio.Event()
        clock_refresher = asyncio.create_task(deps.clock.keep_fresh(stop), name="clock-refresher")
        jobs = None
        if settings.scheduler_in_process:
            jobs = asyncio.create_task(scheduler.run_forever(deps, stop=stop), name="scheduler")
        log.info("sessions-gql ready on %s (scheduler %s)", "SQLite" if settings.is_sqlite else "PostgreSQL",
                 "in-process" if jobs else "in `sessions-gql worker`")
        try:
            yield
        finally:
            stop.set()
            await clock_refresher
            if jobs is not None:
                await jobs
            await realtime.stop()
            await graphql.persisted.close()
            await limiter.close()
            await deps.dispose()

    app = Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/calendar/{token}.ics", calendar_feed),
            *([Route("/metrics", metrics_endpoint)] if settings.metrics_served else []),
            *([Route("/graphiql/{name:path}", ide.asset)] if ide else []),
        ],
        middleware=[Middleware(RequestId), Middleware(BodyLimit, limit=settings.max_body_bytes)],
        lifespan=lifespan,
    )
    app.state.deps = deps
    app.state.realtime = realtime
    app.state.metrics = metrics
    app.state.persisted = graphql.persisted
    app.state.limiter = limiter
    if settings.redis_url:
        app.state.redis_ping = realtime.hub.ping
    return app


__all__ = ["GraphQLApp", "build_deps", "create_app", "system_jobs"]
