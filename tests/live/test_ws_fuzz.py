"""Fuzzed websocket frames: a protocol answer or a client-error close, never 1011, never a hang."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed

from sessions_gql.clock import FrozenClock
from tests.live.ws_raw import (
    ACK,
    LEGACY,
    PROTOCOLS,
    SERVER_TIME,
    TRANSPORT,
    Server,
    connect,
    frame,
    init,
    operation,
    sqlite_server,
)

ALLOWED_CLOSE_CODES = {4400, 4401, 4403, 4409, 4429, 1009}  # 4429: a fuzzed second connection_init
PROBE = "zz-probe"
TYPES = ["connection_init", "subscribe", "start", "stop", "complete", "ping", "pong", "connection_terminate"]
QUERIES = [SERVER_TIME, "subscription { notificationAdded { id } }", "{ serverTime ", "{ nope }",
           "query Q { viewer { user { id } } }"]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)
payloads = json_values | st.fixed_dictionaries({}, optional={
    "query": json_values | st.sampled_from(QUERIES),
    "variables": json_values,
    "operationName": json_values | st.just("Q"),
    "extensions": json_values,
    "authorization": json_values,
})
messages = st.fixed_dictionaries({"type": st.sampled_from(TYPES) | json_values}, optional={
    "id": st.sampled_from(["1", "2", ""]) | json_values,
    "payload": payloads,
})
frames = st.lists(messages.map(json.dumps) | json_values.map(json.dumps) | st.binary(max_size=8), min_size=1,
                  max_size=4)


@pytest.fixture
async def fuzz_server(tmp_path: Path, migrated_sqlite_template: Path, clock: FrozenClock) -> AsyncIterator[Server]:
    async with sqlite_server(tmp_path, migrated_sqlite_template, clock, max_body_bytes=4096) as server:
        yield server


def _probe(protocol: str) -> str:
    if protocol == TRANSPORT:
        return json.dumps({"type": "ping"})
    return operation(LEGACY, PROBE, SERVER_TIME)


def _answered(protocol: str, message: Any) -> bool:
    if protocol == TRANSPORT:
        return message == {"type": "pong"}
    return isinstance(message, dict) and message.get("id") == PROBE and message.get("type") == "complete"


async def _outcome(server: Server, protocol: str, token: str, initialised: bool, sent: list[str | bytes]
                   ) -> tuple[str, list[Any]]:
    """("answered", frames) when the probe after the fuzzed frames was answered, ("closed <code>", frames) else."""
    socket = await connect(server.ws_url, protocol)
    received: list[Any] = []
    try:
        if initialised:
            await socket.send(init(token))
            assert await frame(socket) == ACK[protocol]
        for message in sent:
            await socket.send(message)
        await socket.send(_probe(protocol))
        while True:
            received.append(await frame(socket, timeout=15))
            if _answered(protocol, received[-1]):
                return "answered", received
    except ConnectionClosed as closed:
        assert closed.rcvd is not None, "dropped without a close frame"
        return f"closed {closed.rcvd.code}", received
    finally:
        await socket.close()


def _terminates(sent: list[str | bytes]) -> bool:
    """Whether a graphql-ws client asked to end the connection (answered by a normal close, 1000)."""
    for message in sent:
        decoded = json.loads(message) if isinstance(message, str) else None
        if isinstance(decoded, dict) and decoded.get("type") == "connection_terminate":
            return True
    return False


@pytest.mark.parametrize("protocol", PROTOCOLS)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sent=frames, initialised=st.booleans())
async def test_fuzzed_frames_get_a_protocol_answer_or_a_client_error_close(
    fuzz_server: Server, protocol: str, sent: list[str | bytes], initialised: bool, caplog: pytest.LogCaptureFixture
) -> None:
    member = await fuzz_server.api.member()
    caplog.clear()
    with caplog.at_level(logging.ERROR):
        outcome, received = await _outcome(fuzz_server, protocol, member.token, initialised, sent)
    if outcome != "answered":
        allowed = ALLOWED_CLOSE_CODES | ({1000} if protocol == LEGACY and _terminates(sent) else set())
        assert int(outcome.split()[1]) in allowed, (outcome, received)
    assert "INTERNAL_SERVER_ERROR" not in json.dumps(received)
    crashes = [r for r in caplog.records if r.name in ("uvicorn.error", "strawberry.ws.task", "asyncio")
               or r.name.startswith("sessions_gql")]
    assert crashes == [], [r.getMessage() for r in crashes]
