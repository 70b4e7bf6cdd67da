"""Several subscriptions on one websocket, as Apollo, urql and graphql-ws clients open them (issue 11)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from gql import Client, gql
from gql.client import AsyncClientSession
from gql.transport.websockets import WebsocketsTransport

from tests.api.lifecycle_helpers import REQUEST, action, world
from tests.harness.app import START
from tests.harness.live import LiveServer
from tests.live.test_session_events import SUBPROTOCOLS, subscribed

SESSIONS = gql("subscription { sessionEvents { type session { id } } }")
NOTIFICATIONS = gql("subscription { notificationAdded { kind session { id } } }")
CHAT = gql("""subscription { conversationEvents { __typename
  ... on MessageAdded { message { body sender { displayName } } } } }""")
SEND = """mutation($input: SendMessageInput!) { sendMessage(input: $input) { __typename } }"""
CYCLE = ["REQUESTED", "APPROVED_BY_MEMBER", "FUNDS_HELD", "APPROVED_BY_PROVIDER", "VIDEO_ROOM_CREATED"]


async def until(session: AsyncClientSession, document: Any, done: Callable[[list[dict[str, Any]]], bool]
                ) -> list[dict[str, Any]]:
    """Every event of one subscription until `done` accepts the list so far."""
    got: list[dict[str, Any]] = []
    async for event in session.subscribe(document):
        got.append(next(iter(event.values())))
        if done(got):
            return got
    raise AssertionError(f"the stream completed early after {got}")


@pytest.mark.parametrize("subprotocol", SUBPROTOCOLS)
async def test_three_subscriptions_on_one_socket_each_get_every_event_once(live: LiveServer, subprotocol: str
                                                                          ) -> None:
    w = await world(live.api, credits=400)
    await live.settle()
    transport = WebsocketsTransport(url=live.ws_url, init_payload={"authorization": f"Bearer {w.member.token}"},
                                    subprotocols=[subprotocol], connect_timeout=10, close_timeout=1)
    async with Client(transport=transport) as session:
        before = live.deps.hub.subscriber_count
        streams = asyncio.gather(
            until(session, SESSIONS, lambda got: [e["type"] for e in got].count("VIDEO_ROOM_CREATED") == 4),
            until(session, NOTIFICATIONS, lambda got: got[-1]["kind"] == "MESSAGE_RECEIVED"),
            until(session, CHAT, lambda got: got[-1]["message"]["body"] == "See you all"))
        await subscribed(live, before + 3)
        made = []
        for hour in (1, 3, 5, 7):
            requested = await w.run(REQUEST, {"providerId": w.provider.gid, "serviceId": w.service_id,
                                              "startsAt": (START + timedelta(days=1, hours=hour)).isoformat(),
                                              "modality": "VIDEO"}, w.member)
            assert requested["__typename"] == "SessionSuccess", requested
            sid = requested["session"]["id"]
            confirmed = await w.run(action("confirmSession"), {"sessionId": sid}, w.provider)
            assert confirmed["__typename"] == "SessionSuccess", confirmed
            made.append(sid)
        sent = await live.api.gql(SEND, {"input": {"recipientId": w.member.gid, "body": "See you all",
                                                   "clientMessageId": "all-1"}}, as_=w.provider)
        assert sent["sendMessage"]["__typename"] == "MessageSuccess"
        timeline, notifications, chat = await asyncio.wait_for(streams, timeout=30)
    assert [(e["type"], e["session"]["id"]) for e in timeline] == [(kind, sid) for sid in made for kind in CYCLE]
    assert notifications == [{"kind": "SESSION_CONFIRMED", "session": {"id": sid}} for sid in made] + [
        {"kind": "MESSAGE_RECEIVED", "session": None}]
    system = [f"Session {what} for Tue 24 Nov {hour + 1:02d}:00 (Europe/Berlin) / Tue 24 Nov {hour:02d}:00 "
              "(Europe/London)" for hour in (9, 11, 13, 15) for what in ("requested", "confirmed")]
    assert chat == [{"__typename": "MessageAdded", "message": {"body": body, "sender": None}} for body in system] + [
        {"__typename": "MessageAdded", "message": {"body": "See you all", "sender": {"displayName": "Dr Lane"}}}]
