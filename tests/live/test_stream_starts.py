"""Where a subscription starts (issue 11): live-only after everything committed before it, even while the relay
lags; `after` only from a cursor this API gave out."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from gql import Client, gql
from gql.transport.exceptions import TransportQueryError
from gql.transport.websockets import WebsocketsTransport
from sqlalchemy import event, select, text
from sqlalchemy.ext.asyncio import create_async_engine

from sessions_gql.api.cursors import encode_cursor
from sessions_gql.db import models as m
from sessions_gql.realtime.relay import SEQUENCER_LOCK
from tests.harness.live import LiveServer
from tests.live.test_chat_and_notifications import CHAT, SEND, booked, listen
from tests.live.test_session_events import SUBPROTOCOLS, subscribed


@contextlib.asynccontextmanager
async def relay_held(live: LiveServer) -> AsyncIterator[None]:
    """Nothing committed is sequenced until the block ends. On PostgreSQL another connection holds the
    sequencer's advisory lock, as another API process being the sequencer would; on SQLite the relay pauses."""
    if live.deps.settings.is_sqlite:
        async with live.app.state.realtime.relay.paused():
            yield
        return
    other = create_async_engine(live.deps.settings.database_url)
    try:
        async with other.connect() as connection:
            assert await connection.scalar(text("SELECT pg_try_advisory_lock(:id)"), {"id": SEQUENCER_LOCK})
            try:
                yield
            finally:
                await connection.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": SEQUENCER_LOCK})
    finally:
        await other.dispose()


@contextlib.contextmanager
def reads_the_stream_state(live: LiveServer) -> Iterator[asyncio.Event]:
    """Set once the app has read the outbox, the stream counter or messages (a subscription taking its start)."""
    engine = (live.deps.read_engine or live.deps.engine).sync_engine
    seen = asyncio.Event()

    def executed(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if any(table in statement for table in ("outbox", "stream_counters", "messages")):
            seen.set()

    event.listen(engine, "after_cursor_execute", executed)
    try:
        yield seen
    finally:
        event.remove(engine, "after_cursor_execute", executed)


async def position_of(live: LiveServer, body: str) -> int | None:
    async with live.deps.sessions() as db:
        return await db.scalar(select(m.Message.position).where(m.Message.body == body))


async def test_a_live_only_subscription_skips_what_committed_before_it_while_the_relay_lags(live: LiveServer
                                                                                          ) -> None:
    w, _session_id, conversation = await booked(live)
    async with relay_held(live):
        await live.api.gql(SEND, {"input": {"conversationId": conversation, "body": "sent before",
                                            "clientMessageId": "b-1"}}, as_=w.provider)
        assert await position_of(live, "sent before") is None  # committed, not yet sequenced
        with reads_the_stream_state(live) as starting:
            before = live.deps.hub.subscriber_count
            listening = asyncio.create_task(listen_for(live, w.member.token, {"id": conversation}, 1))
            await asyncio.wait_for(starting.wait(), timeout=20)
    await subscribed(live, before + 1)
    await live.settle()
    await live.api.gql(SEND, {"input": {"conversationId": conversation, "body": "sent after",
                                        "clientMessageId": "a-1"}}, as_=w.provider)
    events = await asyncio.wait_for(listening, timeout=20)
    assert [e["message"]["body"] for e in events] == ["sent after"]


async def listen_for(live: LiveServer, token: str, variables: dict[str, Any], count: int) -> list[dict[str, Any]]:
    return await listen(live, token, CHAT, variables, count, asyncio.Event())


async def test_resuming_from_a_cursor_the_relay_has_not_sequenced_yet_waits_for_it(live: LiveServer) -> None:
    """A cursor read right after a send (`i<id>`) resumes after that message, not from the start of time."""
    w, _session_id, conversation = await booked(live)
    async with relay_held(live):
        sent = await live.api.gql("""mutation($input: SendMessageInput!) { sendMessage(input: $input) {
          ... on MessageSuccess { chatMessage { cursor } } } }""", {"input": {
            "conversationId": conversation, "body": "first", "clientMessageId": "f-1"}}, as_=w.provider)
        cursor = sent["sendMessage"]["chatMessage"]["cursor"]
        async with live.deps.sessions() as db:
            row_id = await db.scalar(select(m.Message.id).where(m.Message.body == "first"))
        assert cursor == encode_cursor(f"i{row_id}")
        with reads_the_stream_state(live) as starting:
            before = live.deps.hub.subscriber_count
            listening = asyncio.create_task(listen_for(live, w.member.token, {"id": conversation, "after": cursor},
                                                       1))
            await asyncio.wait_for(starting.wait(), timeout=20)
    await subscribed(live, before + 1)
    await live.api.gql(SEND, {"input": {"conversationId": conversation, "body": "second",
                                        "clientMessageId": "s-1"}}, as_=w.provider)
    events = await asyncio.wait_for(listening, timeout=20)
    assert [e["message"]["body"] for e in events] == ["second"]


STREAMS = {
    "sessionEvents": "subscription($after: String) { sessionEvents(after: $after) { type } }",
    "conversationEvents": """subscription($after: String) { conversationEvents(after: $after) { __typename } }""",
    "notificationAdded": "subscription($after: String) { notificationAdded(after: $after) { kind } }",
}


@pytest.mark.parametrize("subprotocol", SUBPROTOCOLS)
async def test_a_cursor_beyond_the_newest_position_is_refused(live: LiveServer, subprotocol: str) -> None:
    w, _session_id, _conversation = await booked(live)
    async with live.deps.sessions() as db:
        end = await db.scalar(select(m.StreamCounter.value).where(m.StreamCounter.name == "events"))
    assert end is not None and end > 0
    refused: dict[tuple[str, str], Any] = {}
    transport = WebsocketsTransport(url=live.ws_url, init_payload={"authorization": f"Bearer {w.member.token}"},
                                    subprotocols=[subprotocol], connect_timeout=10, close_timeout=1)
    async with Client(transport=transport) as session:
        for name, document in STREAMS.items():
            for cursor in (encode_cursor("i999999"), encode_cursor(end + 1), encode_cursor(10**12)):
                with pytest.raises(TransportQueryError) as error:
                    async for _ in session.subscribe(gql(document), variable_values={"after": cursor}):
                        break
                refused[(name, cursor)] = error.value.errors
    expected = [{"message": "that cursor is not one this API gave out", "path": None,
                 "extensions": {"code": "VALIDATION", "field": "after"}}]
    assert {key: [{k: e.get(k) for k in ("message", "path", "extensions")} for e in errors]
            for key, errors in refused.items()} == {key: expected for key in refused}
    assert len(refused) == 9
    assert live.deps.hub.subscriber_count == 0
