"""sessionEvents over websockets with a third-party client (gql), both subprotocols."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

import pytest
import websockets
from gql import Client, gql
from gql.transport.exceptions import TransportQueryError
from gql.transport.websockets import WebsocketsTransport
from websockets.typing import Subprotocol

from tests.api.lifecycle_helpers import REQUEST, World, action, world
from tests.harness.app import START
from tests.harness.live import LiveServer

SUBPROTOCOLS = ["graphql-transport-ws", "graphql-ws"]
SESSION_EVENTS = gql("""subscription($sessionId: ID, $after: String) {
  sessionEvents(sessionId: $sessionId, after: $after) { type cursor toStatus session { id status } }
}""")
TIMELINE_CURSORS = """query($id: ID!) { session(id: $id) { timeline { edges { node { type cursor } } } } }"""
TUESDAY_10 = (START + timedelta(days=1, hours=2)).isoformat()


def transport(live: LiveServer, token: str, subprotocol: str) -> WebsocketsTransport:
    return WebsocketsTransport(url=live.ws_url, init_payload={"authorization": f"Bearer {token}"},
                               subprotocols=[subprotocol], connect_timeout=10, close_timeout=1)


async def collect(live: LiveServer, token: str, subprotocol: str, variables: dict[str, Any], count: int,
                  ready: asyncio.Event) -> list[dict[str, Any]]:
    received: list[dict[str, Any]] = []
    async with Client(transport=transport(live, token, subprotocol)) as session:
        stream = session.subscribe(SESSION_EVENTS, variable_values=variables)
        ready.set()
        async for event in stream:
            received.append(event["sessionEvents"])
            if len(received) == count:
                break
    return received


async def requested(live: LiveServer) -> tuple[World, str]:
    w = await world(live.api)
    created = await w.run(REQUEST, {"providerId": w.provider.gid, "serviceId": w.service_id,
                                    "startsAt": TUESDAY_10, "modality": "VIDEO"}, w.member)
    assert created["__typename"] == "SessionSuccess", created
    await live.settle()
    return w, created["session"]["id"]


async def subscribe(live: LiveServer, token: str, subprotocol: str, variables: dict[str, Any], count: int
                    ) -> asyncio.Task[list[dict[str, Any]]]:
    ready = asyncio.Event()
    task = asyncio.create_task(collect(live, token, subprotocol, variables, count, ready))
    await ready.wait()
    await subscribed(live, 1)
    return task


async def subscribed(live: LiveServer, count: int) -> None:
    """Wait until the server holds `count` live subscriptions (each past its start position, so whatever
    commits from now on reaches it)."""
    for _ in range(1500):
        if live.deps.hub.subscriber_count >= count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{live.deps.hub.subscriber_count} live subscriptions, never {count}")


@pytest.mark.parametrize("subprotocol", SUBPROTOCOLS)
async def test_live_subscription_streams_the_next_transition(live: LiveServer, subprotocol: str) -> None:
    w, session_id = await requested(live)
    task = await subscribe(live, w.member.token, subprotocol, {"sessionId": session_id}, 2)
    confirmed = await w.run(action("confirmSession"), {"sessionId": session_id}, w.provider)
    assert confirmed["__typename"] == "SessionSuccess"
    events = await asyncio.wait_for(task, timeout=15)
    assert [(e["type"], e["toStatus"]) for e in events] == [("APPROVED_BY_PROVIDER", "CONFIRMED"),
                                                           ("VIDEO_ROOM_CREATED", None)]
    assert {e["session"]["status"] for e in events} == {"CONFIRMED"}


@pytest.mark.parametrize("subprotocol", SUBPROTOCOLS)
async def test_resume_after_a_cursor_replays_what_was_missed_then_goes_live(live: LiveServer, subprotocol: str
                                                                           ) -> None:
    w, session_id = await requested(live)
    timeline = await live.api.gql(TIMELINE_CURSORS, {"id": session_id}, as_=w.member)
    nodes = [edge["node"] for edge in timeline["session"]["timeline"]["edges"]]
    assert [n["type"] for n in nodes] == ["REQUESTED", "APPROVED_BY_MEMBER", "FUNDS_HELD"]
    task = await subscribe(live, w.provider.token, subprotocol,
                           {"sessionId": session_id, "after": nodes[0]["cursor"]}, 4)
    await w.run(action("confirmSession"), {"sessionId": session_id}, w.provider)
    events = await asyncio.wait_for(task, timeout=15)
    assert [e["type"] for e in events] == ["APPROVED_BY_MEMBER", "FUNDS_HELD", "APPROVED_BY_PROVIDER",
                                           "VIDEO_ROOM_CREATED"]
    assert len({e["cursor"] for e in events}) == 4


async def test_a_bad_token_is_refused_with_4403(live: LiveServer) -> None:
    async with websockets.connect(live.ws_url, subprotocols=[Subprotocol("graphql-transport-ws")]) as socket:
        await socket.send(json.dumps({"type": "connection_init", "payload": {"authorization": "Bearer forged"}}))
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(socket.recv(), timeout=10)
    assert closed.value.rcvd is not None
    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (4403, "Forbidden")


async def test_a_stranger_cannot_follow_someone_elses_session(live: LiveServer) -> None:
    _w, session_id = await requested(live)
    stranger = await live.api.member("Nosy Neighbour")
    async with Client(transport=transport(live, stranger.token, "graphql-transport-ws")) as session:
        with pytest.raises(TransportQueryError) as refused:
            async for _ in session.subscribe(SESSION_EVENTS, variable_values={"sessionId": session_id}):
                break
    assert refused.value.errors is not None
    assert [(e["message"], e["extensions"]) for e in refused.value.errors] == [
        ("no such session", {"code": "NOT_FOUND", "field": "sessionId"})]


async def test_a_connection_may_hold_at_most_twenty_subscriptions(live: LiveServer) -> None:
    member = await live.api.member("Many Tabs")
    async with websockets.connect(live.ws_url, subprotocols=[Subprotocol("graphql-transport-ws")]) as socket:
        await socket.send(json.dumps({"type": "connection_init",
                                      "payload": {"authorization": f"Bearer {member.token}"}}))
        assert json.loads(await socket.recv())["type"] == "connection_ack"
        query = "subscription { sessionEvents { type } }"
        for number in range(21):
            await socket.send(json.dumps({"id": str(number), "type": "subscribe", "payload": {"query": query}}))
        refused = json.loads(await asyncio.wait_for(socket.recv(), timeout=10))
    assert (refused["id"], refused["type"]) == ("20", "next")
    assert refused["payload"] == {"data": None, "errors": [{"message": "at most 20 subscriptions per connection",
                                                             "extensions": {"code": "RATE_LIMITED", "field": None}}]}
