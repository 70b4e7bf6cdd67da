"""Websockets held to the same rules as HTTP: both subprotocols checked strictly, kept alive, closed at token expiry.

Close codes: 4400 a malformed message (not a JSON object of the protocol's shape, non-JSON text, a binary
frame), 4401 an operation before the connection was acknowledged, 4403 a refused or expired token, 4408 no
connection_init in time, 4409 an operation id already running (graphql-transport-ws), 4429 a second
connection_init, 1009 a message over the HTTP body limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from typing import Any, Protocol, cast

import jwt
from cross_web import HTTPException
from starlette.websockets import WebSocketDisconnect, WebSocketState
from strawberry.asgi import ASGIWebSocketAdapter
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http.exceptions import NonJsonMessageReceived, NonTextMessageReceived, WebSocketDisconnected
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import BaseGraphQLTransportWSHandler
from strawberry.subscriptions.protocols.graphql_transport_ws.types import ConnectionInitMessage, Message
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler
from strawberry.subscriptions.protocols.graphql_ws.types import ConnectionInitMessage as LegacyInitMessage
from strawberry.subscriptions.protocols.graphql_ws.types import OperationMessage
from strawberry.types.execution import ExecutionResult, PreExecutionError
from strawberry.types.unset import UnsetType
from strawberry.utils.aio import aclosing

from sessions_gql.context import Context
from sessions_gql.realtime.frames import encoded_frame

MAX_CLOSE_REASON_BYTES = 123  # RFC 6455: a close frame's reason fits in 123 bytes of UTF-8
TOKEN_EXPIRED = "token expired: refresh it and reconnect"


class _Limits(Protocol):
    max_message_bytes: int


def bearer_header(params: object) -> str | None:
    """The `authorization` entry of a connection_init payload, if it is a string."""
    if not isinstance(params, dict):
        return None
    header = params.get("authorization") or params.get("Authorization")
    return header if isinstance(header, str) else None


def token_expiry(header: str | None) -> float | None:
    """The `exp` (Unix seconds) of a bearer token that was already verified; None if it has none."""
    if not header or " " not in header:
        return None
    try:
        claims = jwt.decode(header.partition(" ")[2].strip(), options={"verify_signature": False})
        return float(claims["exp"])
    except (jwt.PyJWTError, KeyError, TypeError, ValueError):
        return None


async def close_at(expires: float, close: Callable[[], Awaitable[None]]) -> None:
    """Call `close` once real time (not the service clock) reaches `expires`."""
    await asyncio.sleep(max(0.0, expires - time.time()))
    await close()


def _optional(value: object, kind: type) -> bool:
    return value is None or isinstance(value, kind)


def _operation_problem(payload: object) -> str | None:
    if not isinstance(payload, dict):
        return "the operation payload must be an object"
    extensions = payload.get("extensions")
    if not _optional(extensions, dict):
        return "payload.extensions must be an object"
    # a hash-only persisted query (persisted.py fills its document in once the socket is acknowledged)
    by_hash = isinstance(extensions, dict) and "persistedQuery" in extensions
    if not (isinstance(payload.get("query"), str) or (by_hash and payload.get("query") is None)):
        return "payload.query must be a string"
    if not _optional(payload.get("variables"), dict):
        return "payload.variables must be an object"
    if not _optional(payload.get("operationName"), str):
        return "payload.operationName must be a string"
    return None


def _id_problem(message: dict[str, Any]) -> str | None:
    operation_id = message.get("id")
    return None if isinstance(operation_id, str) and operation_id else "id must be a non-empty string"


def _shape_problem(message: object, *, plain: set[str], operation: str, by_id: str) -> str | None:
    if not isinstance(message, dict):
        return "a message must be a JSON object"
    kind = message.get("type")
    if not isinstance(kind, str):
        return "type must be a string"
    if kind in plain:
        return None if _optional(message.get("payload"), dict) else "payload must be an object"
    if kind == operation:
        return _id_problem(message) or _operation_problem(message.get("payload"))
    if kind == by_id:
        return _id_problem(message)
    return "unknown message type"


def transport_problem(message: object) -> str | None:
    """Why a graphql-transport-ws client message is malformed, or None."""
    return _shape_problem(message, plain={"connection_init", "ping", "pong"}, operation="subscribe",
                          by_id="complete")


def legacy_problem(message: object) -> str | None:
    """Why a graphql-ws (subscriptions-transport-ws) client message is malformed, or None."""
    return _shape_problem(message, plain={"connection_init", "connection_terminate"}, operation="start",
                          by_id="stop")


def _too_large(text: str, limit: int) -> bool:
    return len(text) > limit or (len(text) * 4 > limit and len(text.encode()) > limit)


class LimitedWebSocketAdapter(ASGIWebSocketAdapter):
    """Strawberry's adapter with the HTTP body limit (1009), JSON that cannot crash it, and safe closing."""

    async def iter_json(self, *, ignore_parsing_errors: bool = False) -> AsyncGenerator[object, None]:
        limit = cast(_Limits, self.view).max_message_bytes
        while self.ws.application_state != WebSocketState.DISCONNECTED:
            try:
                text = await self.ws.receive_text()
            except KeyError as exc:  # a binary frame
                raise NonTextMessageReceived from exc
            except WebSocketDisconnect:
                return
            if _too_large(text, limit):
                await self.close(1009, f"message over {limit} bytes")
                return
            try:
                decoded = self.view.decode_json(text)
            # not JSON, nested too deep, an over-long integer (the view's strict decoder says so with a 400)
            except (ValueError, RecursionError, HTTPException) as exc:
                if not ignore_parsing_errors:
                    raise NonJsonMessageReceived from exc
                continue
            yield decoded

    async def send_json(self, message: Mapping[str, object]) -> None:
        """A frame of shared data (realtime/frames.py) is spliced from its payload's text, encoded once."""
        if self.ws.application_state == WebSocketState.DISCONNECTED:
            raise WebSocketDisconnected
        text = encoded_frame(message)
        if text is None:
            await super().send_json(message)
            return
        try:
            await self.ws.send_text(text)
        except WebSocketDisconnect as exc:
            raise WebSocketDisconnected from exc

    async def close(self, code: int, reason: str) -> None:
        if self.ws.application_state == WebSocketState.DISCONNECTED:
            return
        short = reason.encode()[:MAX_CLOSE_REASON_BYTES].decode(errors="ignore")
        await self.ws.close(code=code, reason=short)


async def _stop(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnected):
            await task
    tasks.clear()


class TransportWSHandler(BaseGraphQLTransportWSHandler[Context, None]):
    """graphql-transport-ws, strictly: malformed messages close 4400; server pings; closed at token expiry."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._background: list[asyncio.Task[None]] = []

    async def handle_message(self, message: Message) -> None:
        problem = transport_problem(message)
        if problem is not None:
            await self.handle_invalid_message(problem)
            return
        await super().handle_message(message)

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        await super().handle_connection_init(message)
        if self.connection_acknowledged and not self._background:
            self._background.append(asyncio.create_task(self._keep_alive()))
            expires = token_expiry(bearer_header(self.context.connection_params))
            if expires is not None:
                self._background.append(asyncio.create_task(close_at(expires, self._expired)))

    async def _keep_alive(self) -> None:
        interval = self.view.keep_alive_interval
        if not self.view.keep_alive or not interval:
            return
        while True:
            await asyncio.sleep(interval)
            await self.send_message({"type": "ping"})

    async def _expired(self) -> None:
        self.connection_acknowledged = False  # a subscribe already in flight is refused, not started
        for operation_id in list(self.operations):
            await self.cleanup_operation(operation_id)
        await self.websocket.close(4403, TOKEN_EXPIRED)

    async def shutdown(self) -> None:
        await _stop(self._background)
        await super().shutdown()


class LegacyWSHandler(BaseGraphQLWSHandler[Context, None]):
    """graphql-ws, as strict as graphql-transport-ws: the same codes, init timeout and expiry; runs any operation."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._background: list[asyncio.Task[None]] = []
        self._init_received = False

    async def handle(self) -> None:
        self._background.append(asyncio.create_task(self._init_timeout()))
        try:
            try:
                async for message in self.websocket.iter_json():
                    await self.handle_message(cast(OperationMessage, message))
            except NonTextMessageReceived:
                await self.websocket.close(4400, "WebSocket message type must be text")
            except NonJsonMessageReceived:
                await self.websocket.close(4400, "WebSocket message must be valid JSON")
        except WebSocketDisconnected:
            pass  # the client went away: nothing to answer, the finally below still cleans up
        finally:
            if self.keep_alive_task is not None:
                self._background.append(self.keep_alive_task)
            await _stop(self._background)
            await self.cleanup()

    async def _init_timeout(self) -> None:
        await asyncio.sleep(self.view.connection_init_wait_timeout.total_seconds())
        if not self._init_received:
            await self.websocket.close(4408, "Connection initialisation timeout")

    async def handle_message(self, message: OperationMessage) -> None:
        problem = legacy_problem(message)
        if problem is not None:
            await self.websocket.close(4400, problem)
            return
        await super().handle_message(message)

    async def handle_connection_init(self, message: LegacyInitMessage) -> None:
        if self._init_received:
            await self.websocket.close(4429, "Too many initialisation requests")
            return
        self._init_received = True
        self.context.connection_params = message.get("payload")
        try:
            ack = await self.view.on_ws_connect(self.context)
        except ConnectionRejectionError as rejection:
            await self.send_message({"type": "connection_error", "payload": rejection.payload})
            await self.websocket.close(4403, "Forbidden")
            return
        if isinstance(ack, UnsetType) or ack is None:
            await self.send_message({"type": "connection_ack"})
        else:
            await self.send_message({"type": "connection_ack", "payload": ack})
        self.connection_acknowledged = True
        if self.keep_alive and self.keep_alive_interval:
            self.keep_alive_task = asyncio.create_task(self.handle_keep_alive())
        expires = token_expiry(bearer_header(self.context.connection_params))
        if expires is not None:
            self._background.append(asyncio.create_task(close_at(expires, self._expired)))

    async def _expired(self) -> None:
        self.connection_acknowledged = False
        await self.cleanup()
        await self.websocket.close(4403, TOKEN_EXPIRED)

    async def handle_async_results(self, operation_id: str, query: str, operation_name: str | None,
                                   variables: dict[str, object] | None) -> None:
        """Queries and mutations too: one `data` and `complete`; errors before execution are an `error`."""
        try:
            results = await self.schema.stream(query=query, variable_values=variables, operation_name=operation_name,
                                               context_value=self.context, root_value=self.root_value)
            self.subscriptions[operation_id] = results
            async with aclosing(results):
                await self._send_results(operation_id, results)
        except asyncio.CancelledError:
            with contextlib.suppress(WebSocketDisconnected):
                await self.send_message({"type": "complete", "id": operation_id})
            raise
        finally:
            self.subscriptions.pop(operation_id, None)
            self.tasks.pop(operation_id, None)

    async def _send_results(self, operation_id: str, results: AsyncGenerator[Any, None]) -> None:
        first = True
        async for result in results:
            if first and isinstance(result, PreExecutionError):
                assert result.errors
                await self.send_message({"type": "error", "id": operation_id, "payload": result.errors[0].formatted})
                return
            if not isinstance(result, ExecutionResult):
                await self.send_message({"type": "error", "id": operation_id,
                                         "payload": {"message": "incremental delivery is not supported"}})
                return
            await self.send_data_message(result, operation_id)
            first = False
        await self.send_message({"type": "complete", "id": operation_id})
