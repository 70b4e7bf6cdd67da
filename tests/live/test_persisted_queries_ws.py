"""Persisted queries over websockets: the subscribe (and legacy start) payload's extensions, raw frames."""

from __future__ import annotations

import asyncio
import json
import shutil
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from websockets.typing import Subprotocol

from sessions_gql.clock import FrozenClock
from sessions_gql.config import Settings
from sessions_gql.persisted import PersistedQueries, sha256
from tests.harness.app import Api, settings_for
from tests.harness.live import LiveServer, start_server, stop_server
from tests.live.test_session_events import subscribed

# Names no other test uses: the persisted store lives in the worker's Redis, shared by every test it runs, and a
# document another test registered there first would be a hit where these tests expect a miss.
RUN = uuid.uuid4().hex[:12]
SERVER_TIME = f"query ServerTime_{RUN} {{ serverTime }}"
NOW = {"serverTime": "2026-11-23T08:00:00+00:00"}
NOTIFICATIONS = f"subscription Bell_{RUN} {{ notificationAdded {{ kind cursor }} }}"
NOT_FOUND = {"message": "PersistedQueryNotFound", "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"}}
NOT_ALLOWED = {"message": "only trusted documents may run on this server",
               "extensions": {"code": "PERSISTED_QUERY_NOT_ALLOWED"}}


def payload(document: str | None, digest: str | None = None) -> dict[str, Any]:
    sent: dict[str, Any] = {"extensions": {"persistedQuery": {"version": 1,
                                                             "sha256Hash": digest or sha256(document or "")}}}
    if document is not None:
        sent["query"] = document
    return sent


async def frame(socket: Any) -> dict[str, Any]:
    """The next frame that is not a legacy keep-alive."""
    while (message := json.loads(await asyncio.wait_for(socket.recv(), timeout=10))) == {"type": "ka"}:
        continue
    return message  # type: ignore[no-any-return]


async def opened(ws_url: str, token: str, subprotocol: str) -> Any:
    socket = await websockets.connect(ws_url, subprotocols=[Subprotocol(subprotocol)])
    await socket.send(json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}))
    assert (await frame(socket))["type"] == "connection_ack"
    return socket


def store(live: LiveServer) -> PersistedQueries:
    persisted: PersistedQueries = live.app.state.persisted
    return persisted


async def test_graphql_transport_ws_misses_registers_then_runs_a_hash(live: LiveServer) -> None:
    mia = await live.api.member("Mia Socket")
    socket = await opened(live.ws_url, mia.token, "graphql-transport-ws")
    async with socket:
        await socket.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload(None, sha256(SERVER_TIME))}))
        assert await frame(socket) == {"id": "1", "type": "error", "payload": [NOT_FOUND]}
        await socket.send(json.dumps({"id": "2", "type": "subscribe", "payload": payload(SERVER_TIME)}))
        assert await frame(socket) == {"id": "2", "type": "next", "payload": {"data": NOW}}
        assert await frame(socket) == {"id": "2", "type": "complete"}
        await socket.send(json.dumps({"id": "3", "type": "subscribe", "payload": payload(None, sha256(SERVER_TIME))}))
        assert await frame(socket) == {"id": "3", "type": "next", "payload": {"data": NOW}}
        assert await frame(socket) == {"id": "3", "type": "complete"}
        wrong = sha256("{ serverTime }")
        await socket.send(json.dumps({"id": "4", "type": "subscribe", "payload": payload(SERVER_TIME, wrong)}))
        assert await frame(socket) == {"id": "4", "type": "error", "payload": [
            {"message": "persistedQuery.sha256Hash is not the SHA-256 of the document",
             "extensions": {"code": "PERSISTED_QUERY_HASH_MISMATCH"}}]}
    assert dict(store(live).counts) == {"miss": 1, "registered": 1, "hit": 1, "mismatch": 1}


async def test_legacy_graphql_ws_starts_a_subscription_from_its_hash(live: LiveServer) -> None:
    mia = await live.api.member("Mia Legacy")
    socket = await opened(live.ws_url, mia.token, "graphql-ws")
    before = live.deps.hub.subscriber_count
    async with socket:
        await socket.send(json.dumps({"id": "a", "type": "start", "payload": payload(None, sha256(NOTIFICATIONS))}))
        assert await frame(socket) == {"id": "a", "type": "error", "payload": NOT_FOUND}
        await socket.send(json.dumps({"id": "b", "type": "start", "payload": payload(NOTIFICATIONS)}))
        await socket.send(json.dumps({"id": "c", "type": "start", "payload": payload(None, sha256(NOTIFICATIONS))}))
        await subscribed(live, before + 2)
        assert live.deps.hub.subscriber_count == before + 2
    assert dict(store(live).counts) == {"miss": 1, "registered": 1, "hit": 1}


async def test_a_persisted_query_before_connection_init_is_left_to_the_protocol(live: LiveServer) -> None:
    async with websockets.connect(live.ws_url, subprotocols=[Subprotocol("graphql-transport-ws")]) as socket:
        await socket.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload(None, "a" * 64)}))
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await frame(socket)
    assert closed.value.rcvd is not None
    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (4401, "Unauthorized")
    assert dict(store(live).counts) == {}


@pytest.fixture
def trusted_settings(tmp_path: Path, migrated_sqlite_template: Path) -> Settings:
    manifest = tmp_path / "trusted.json"
    manifest.write_text(json.dumps({sha256(SERVER_TIME): SERVER_TIME}))
    shutil.copyfile(migrated_sqlite_template, tmp_path / "db.sqlite3")
    return settings_for(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}", run_scheduler=False,
                        trusted_documents=str(manifest))


@pytest.fixture
async def trusted_ws(trusted_settings: Settings, clock: FrozenClock) -> AsyncIterator[tuple[str, Any]]:
    settings = trusted_settings
    server, task, app, port = await start_server(settings, clock)
    try:
        yield f"ws://127.0.0.1:{port}/graphql", app
    finally:
        await stop_server(server, task)


@pytest.mark.parametrize("subprotocol", ["graphql-transport-ws", "graphql-ws"])
async def test_the_allow_list_holds_on_websockets(trusted_ws: tuple[str, Any], subprotocol: str) -> None:
    ws_url, app = trusted_ws
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        mia = await Api(client, app.state.deps).member("Mia Trusted")
    start = "subscribe" if subprotocol == "graphql-transport-ws" else "start"
    refused = [NOT_ALLOWED] if subprotocol == "graphql-transport-ws" else NOT_ALLOWED
    socket = await opened(ws_url, mia.token, subprotocol)
    async with socket:
        await socket.send(json.dumps({"id": "1", "type": start, "payload": {"query": NOTIFICATIONS}}))
        assert await frame(socket) == {"id": "1", "type": "error", "payload": refused}
        await socket.send(json.dumps({"id": "2", "type": start, "payload": payload(None, sha256(NOTIFICATIONS))}))
        assert await frame(socket) == {"id": "2", "type": "error", "payload": refused}
        if subprotocol == "graphql-transport-ws":
            await socket.send(json.dumps({"id": "3", "type": start, "payload": payload(None, sha256(SERVER_TIME))}))
            assert await frame(socket) == {"id": "3", "type": "next", "payload": {"data": NOW}}
    assert dict(app.state.persisted.counts) == {"refused": 2, **({"hit": 1} if start == "subscribe" else {})}
