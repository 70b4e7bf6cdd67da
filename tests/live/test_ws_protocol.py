"""Websockets held to HTTP's rules on both subprotocols: malformed frames, size, init timeout, keep-alive, expiry."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import pytest

from sessions_gql.api import ids
from sessions_gql.clock import FrozenClock
from tests.harness.live import LiveServer
from tests.live.ws_raw import (
    LEGACY,
    PROTOCOLS,
    SERVER_TIME,
    TRANSPORT,
    acknowledged,
    answers_at_once,
    connect,
    expiring_token,
    frame,
    init,
    operation,
    sqlite_server,
    until_closed,
)

OPERATION_TYPE = {TRANSPORT: "subscribe", LEGACY: "start"}
MALFORMED = {
    "a JSON array": lambda kind: json.dumps([{"type": kind}]),
    "a string payload": lambda kind: json.dumps({"type": kind, "id": "1", "payload": SERVER_TIME}),
    "an integer id": lambda kind: json.dumps({"type": kind, "id": 1, "payload": {"query": SERVER_TIME}}),
    "a JSON number": lambda kind: "7",
    "a query that is not a string": lambda kind: json.dumps({"type": kind, "id": "1", "payload": {"query": 7}}),
    "variables that are a list": lambda kind: json.dumps(
        {"type": kind, "id": "1", "payload": {"query": SERVER_TIME, "variables": [1]}}),
    "non-JSON text": lambda kind: "{not json",
    "JSON nested too deep": lambda kind: "[" * 100_000,
    "a binary frame": lambda kind: b"\x00\x01binary",
}
NOTIFICATIONS = "subscription { notificationAdded { id } }"


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("case", list(MALFORMED))
async def test_a_malformed_message_closes_the_socket_with_4400(live: LiveServer, protocol: str, case: str) -> None:
    member = await live.api.member()
    socket = await acknowledged(live.ws_url, protocol, member.token)
    await socket.send(MALFORMED[case](OPERATION_TYPE[protocol]))
    await answers_at_once(live.http_url)
    assert await until_closed(socket) == ([], 4400)


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_an_unknown_message_type_closes_with_4400(live: LiveServer, protocol: str) -> None:
    member = await live.api.member()
    socket = await acknowledged(live.ws_url, protocol, member.token)
    await socket.send(json.dumps({"type": "next", "id": "1", "payload": {}}))
    assert await until_closed(socket) == ([], 4400)


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_a_message_over_the_body_limit_closes_with_1009(live: LiveServer, protocol: str) -> None:
    """uvicorn's ws_max_size is the HTTP body limit (cli.server_options)."""
    member = await live.api.member()
    socket = await acknowledged(live.ws_url, protocol, member.token)
    limit = live.deps.settings.max_body_bytes
    await socket.send(json.dumps({"type": "connection_init", "payload": {"pad": "x" * limit}}))
    await answers_at_once(live.http_url)
    assert await until_closed(socket) == ([], 1009)


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_the_app_refuses_an_oversized_message_whatever_the_server_allows(
    protocol: str, tmp_path: Path, migrated_sqlite_template: Path, clock: FrozenClock
) -> None:
    async with sqlite_server(tmp_path, migrated_sqlite_template, clock, options={"ws_max_size": 16 * 1024 * 1024},
                             max_body_bytes=4096) as server:
        socket = await connect(server.ws_url, protocol)
        await socket.send(json.dumps({"type": "connection_init", "payload": {"pad": "é" * 2100}}))  # 4200 bytes
        await answers_at_once(server.http_url)
        assert await until_closed(socket) == ([], 1009)


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_a_socket_that_never_sends_connection_init_is_closed_with_4408(
    protocol: str, tmp_path: Path, migrated_sqlite_template: Path, clock: FrozenClock
) -> None:
    async with sqlite_server(tmp_path, migrated_sqlite_template, clock, ws_init_timeout_seconds=0.5) as server:
        socket = await connect(server.ws_url, protocol)
        await answers_at_once(server.http_url)
        assert await until_closed(socket) == ([], 4408)


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_operations_before_the_ack_close_with_4401_and_bad_tokens_with_4403(
    live: LiveServer, protocol: str
) -> None:
    early = await connect(live.ws_url, protocol)
    await early.send(operation(protocol, "1", SERVER_TIME))
    assert await until_closed(early) == ([], 4401)
    forged = await connect(live.ws_url, protocol)
    await forged.send(init("not-a-token"))
    refused = [{"type": "connection_error", "payload": {"message": "a valid bearer token is required"}}]
    assert await until_closed(forged) == ((refused if protocol == LEGACY else []), 4403)


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_a_second_connection_init_closes_with_4429(live: LiveServer, protocol: str) -> None:
    member = await live.api.member()
    socket = await acknowledged(live.ws_url, protocol, member.token)
    await socket.send(init(member.token))
    assert await until_closed(socket) == ([], 4429)


async def test_graphql_ws_answers_a_query_and_a_mutation_started_on_it(live: LiveServer) -> None:
    member = await live.api.member()
    socket = await acknowledged(live.ws_url, LEGACY, member.token)
    await socket.send(operation(LEGACY, "q", SERVER_TIME))
    assert await frame(socket) == {"type": "data", "id": "q",
                                   "payload": {"data": {"serverTime": live.deps.clock.now().isoformat()}}}
    assert await frame(socket) == {"type": "complete", "id": "q"}
    nowhere = ids.encode("Session", uuid.uuid4())
    join = f'mutation {{ joinSession(input: {{sessionId: "{nowhere}"}}) {{ __typename ... on UserError {{ code }} }} }}'
    await socket.send(operation(LEGACY, "m", join))
    assert await frame(socket) == {"type": "data", "id": "m",
                                   "payload": {"data": {"joinSession": {"__typename": "BasicError",
                                                                        "code": "NOT_FOUND"}}}}
    assert await frame(socket) == {"type": "complete", "id": "m"}
    await socket.send(operation(LEGACY, "bad", "{ serverTime "))
    error = await frame(socket)
    assert (error["type"], error["id"], error["payload"]["extensions"]) == ("error", "bad",
                                                                                 {"code": "GRAPHQL_VALIDATION"})
    await socket.close()


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_the_server_keeps_an_idle_socket_alive(
    protocol: str, tmp_path: Path, migrated_sqlite_template: Path, clock: FrozenClock
) -> None:
    async with sqlite_server(tmp_path, migrated_sqlite_template, clock, ws_keepalive_seconds=0.2) as server:
        member = await server.api.member()
        socket = await acknowledged(server.ws_url, protocol, member.token)
        keep_alive = {"type": "ping"} if protocol == TRANSPORT else {"type": "ka"}
        for _ in range(2):
            assert await frame(socket, timeout=5) == keep_alive
            if protocol == TRANSPORT:
                await socket.send(json.dumps({"type": "pong"}))
        await socket.send(operation(protocol, "q", SERVER_TIME))
        answers = [message for message in [await frame(socket), await frame(socket), await frame(socket)]
                   if message != keep_alive]
        data = "next" if protocol == TRANSPORT else "data"
        assert [message["type"] for message in answers][:2] == [data, "complete"]
        await socket.close()


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_a_socket_is_closed_with_4403_when_its_token_expires(live: LiveServer, protocol: str) -> None:
    member = await live.api.member()
    token, expires = expiring_token(live.deps.settings, member, 3)
    socket = await acknowledged(live.ws_url, protocol, token)
    await socket.send(operation(protocol, "n", NOTIFICATIONS))
    frames, code = await until_closed(socket, timeout=expires - time.time() + 10)
    assert time.time() >= expires
    assert (frames, code) == (([{"type": "complete", "id": "n"}] if protocol == LEGACY else []), 4403)
