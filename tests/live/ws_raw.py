"""Raw websocket frames for the protocol tests: connect, acknowledge, read until the server closes."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jwt
import websockets
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from sessions_gql.clock import FrozenClock
from sessions_gql.config import Settings
from tests.harness.app import TEST_SECRET, Api, Person, settings_for
from tests.harness.bounds import PROMPT_SECONDS
from tests.harness.live import start_server, stop_server

TRANSPORT = "graphql-transport-ws"
LEGACY = "graphql-ws"
PROTOCOLS = [TRANSPORT, LEGACY]
SERVER_TIME = "{ serverTime }"
ACK = {TRANSPORT: {"type": "connection_ack", "payload": None}, LEGACY: {"type": "connection_ack"}}


async def connect(ws_url: str, protocol: str) -> ClientConnection:
    return await websockets.connect(ws_url, subprotocols=[Subprotocol(protocol)], open_timeout=10, close_timeout=2)


def init(token: str) -> str:
    return json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}})


async def frame(socket: ClientConnection, timeout: float = 10) -> Any:  # noqa: ASYNC109
    return json.loads(await asyncio.wait_for(socket.recv(), timeout=timeout))


async def acknowledged(ws_url: str, protocol: str, token: str) -> ClientConnection:
    """A socket past connection_init (and, on graphql-ws, the first keep-alive that follows the ack)."""
    socket = await connect(ws_url, protocol)
    await socket.send(init(token))
    assert await frame(socket) == ACK[protocol]
    if protocol == LEGACY:
        assert await frame(socket) == {"type": "ka"}
    return socket


def operation(protocol: str, operation_id: str, query: str) -> str:
    kind = "subscribe" if protocol == TRANSPORT else "start"
    return json.dumps({"type": kind, "id": operation_id, "payload": {"query": query}})


async def until_closed(socket: ClientConnection, timeout: float = 10) -> tuple[list[Any], int]:  # noqa: ASYNC109
    """The frames the server sent until it closed the socket, and its close code."""
    frames: list[Any] = []
    async with asyncio.timeout(timeout):
        try:
            while True:
                frames.append(json.loads(await socket.recv()))
        except ConnectionClosed as closed:
            assert closed.rcvd is not None, "the server dropped the connection without a close frame"
            return frames, closed.rcvd.code


async def answers_at_once(http_url: str) -> None:
    """A `{ serverTime }` request over HTTP gets its answer promptly (bounds.PROMPT_SECONDS)."""
    async with httpx.AsyncClient(timeout=10) as client:
        started = time.monotonic()
        response = await client.post(http_url, json={"query": SERVER_TIME})
        elapsed = time.monotonic() - started
    assert response.status_code == 200
    assert set(response.json()["data"]) == {"serverTime"}
    assert elapsed < PROMPT_SECONDS, f"serverTime took {elapsed:.2f}s while a websocket misbehaved"


def expiring_token(settings: Settings, person: Person, seconds: int) -> tuple[str, int]:
    """A token for `person` that expires `seconds` from now in real time, and that expiry (Unix seconds)."""
    now = int(time.time())
    claims = {"sub": str(person.viewer.user_id), "role": person.viewer.role.value, "iss": settings.jwt_issuer,
              "aud": settings.jwt_audience, "iat": now, "exp": now + seconds}
    return jwt.encode(claims, TEST_SECRET, algorithm="HS256"), now + seconds


@dataclass
class Server:
    http_url: str
    ws_url: str
    api: Api


@contextlib.asynccontextmanager
async def sqlite_server(tmp_path: Path, template: Path, clock: FrozenClock, *, options: dict[str, Any] | None = None,
                        **overrides: Any) -> AsyncIterator[Server]:
    """The embedded default behind uvicorn, with these settings and uvicorn options."""
    shutil.copyfile(template, tmp_path / "db.sqlite3")
    settings = settings_for(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}", run_scheduler=False, **overrides)
    server, task, app, port = await start_server(settings, clock, **(options or {}))
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=20) as client:
            yield Server(f"http://127.0.0.1:{port}/graphql", f"ws://127.0.0.1:{port}/graphql",
                         Api(client, app.state.deps))
    finally:
        await stop_server(server, task)
