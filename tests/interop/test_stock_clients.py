"""Stock clients against the live server (SQLite+memory and PostgreSQL+Redis): Apollo Client over HTTP and
websockets, graphql-ws with `ws`, Apollo's persisted-query link, and the Python gql client (legacy graphql-ws).

Node scripts (tests/interop/js/scenarios.cjs) use the clients as their documentation shows, unmodified; pytest
starts the server, does the server-side actions over HTTP and asserts what each client saw, exactly."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import pytest
from gql import Client, gql
from gql.transport.httpx import HTTPXAsyncTransport
from gql.transport.websockets import WebsocketsTransport

from sessions_gql.persisted import PersistedQueries
from tests.api.lifecycle_helpers import REQUEST, World, action, world
from tests.harness.app import START
from tests.harness.live import LiveServer
from tests.interop.node import NodeRun, run
from tests.live.test_session_events import subscribed

SESSION_EVENTS = "subscription($after: String) { sessionEvents(after: $after) { type cursor session { id status } } }"
NOTIFICATIONS = "subscription($after: String) { notificationAdded(after: $after) { kind cursor } }"
CONVERSATION = """subscription($after: String) { conversationEvents(after: $after) {
  __typename ... on MessageAdded { message { body cursor } } } }"""
STREAMS = {"sessionEvents": SESSION_EVENTS, "notificationAdded": NOTIFICATIONS,
           "conversationEvents": CONVERSATION}
SEND = """mutation($input: SendMessageInput!) { sendMessage(input: $input) { __typename } }"""
TIMELINE = "query($id: ID!) { session(id: $id) { timeline { edges { node { cursor } } } conversation { id } } }"
MESSAGES = "query($id: ID!) { conversation(id: $id) { messages(last: 50) { edges { node { cursor } } } } }"
INBOX = "{ notifications(first: 50) { edges { node { cursor } } } }"


def slot(day: int) -> str:
    """10:00 London (UTC in November) on the weekday `day` days after Monday 23 November 2026."""
    return (START + timedelta(days=day, hours=2)).isoformat()


def request_input(w: World, day: int) -> dict[str, Any]:
    return {"providerId": w.provider.gid, "serviceId": w.service_id, "startsAt": slot(day), "modality": "VIDEO"}


# ---------------------------------------------------------------- (a) Apollo HttpLink

async def test_apollo_http_link_mutations_and_a_query_with_authorization(live: LiveServer) -> None:
    w = await world(live.api)
    result = await run("apollo-http", {"httpUrl": live.http_url, "memberToken": w.member.token,
                                       "providerToken": w.provider.token, "request": request_input(w, 1)})
    session_id = result["requested"]["data"]["requestSession"]["session"]["id"]

    def success(status: str) -> dict[str, Any]:
        return {"__typename": "SessionSuccess", "session": {"__typename": "Session", "id": session_id,
                                                            "status": status}}

    assert result["requested"] == {"data": {"requestSession": success("AWAITING_APPROVAL")}, "errors": []}
    assert result["confirmed"] == {"data": {"confirmSession": success("CONFIRMED")}, "errors": []}
    assert result["read"] == {"data": {"session": {"__typename": "Session", "id": session_id, "status": "CONFIRMED",
                                                   "startsAt": "2026-11-24T10:00:00+00:00"}}, "errors": []}
    assert result["anonymous"]["data"] == {"session": None}
    assert [e["extensions"]["code"] for e in result["anonymous"]["errors"]] == ["UNAUTHENTICATED"]
    assert [(r["method"], r["operationName"], r["hasQuery"]) for r in result["requests"]] == [
        ("POST", "Request", True), ("POST", "Confirm", True), ("POST", "Session", True)]
    seen = await live.api.gql("query($id: ID!) { session(id: $id) { status } }", {"id": session_id}, as_=w.provider)
    assert seen == {"session": {"status": "CONFIRMED"}}


# ---------------------------------------------------------------- (b) and (d): three subscriptions, one socket

async def warm_up(live: LiveServer, w: World) -> tuple[list[str], dict[str, list[str]]]:
    """A request and a chat message before anyone subscribes, so that each stream has a cursor to resume
    after: the subscriptions then replay from a known point and cannot race their own start."""
    made = await w.run(REQUEST, request_input(w, 7), w.member)
    assert made["__typename"] == "SessionSuccess", made
    sent = await live.api.gql(SEND, {"input": {"recipientId": w.member.gid, "body": "Welcome",
                                               "clientMessageId": "interop-0"}}, as_=w.provider)
    assert sent == {"sendMessage": {"__typename": "MessageSuccess"}}
    await live.settle()
    sessions = [made["session"]["id"]]
    return sessions, await member_cursors(live, w, sessions)


async def four_cycles_and_a_message(live: LiveServer, w: World) -> list[str]:
    """Four request/confirm cycles (Tuesday to Friday) and one chat message from the provider, over HTTP."""
    sessions = []
    for day in range(1, 5):
        made = await w.run(REQUEST, request_input(w, day), w.member)
        assert made["__typename"] == "SessionSuccess", made
        confirmed = await w.run(action("confirmSession"), {"sessionId": made["session"]["id"]}, w.provider)
        assert confirmed["__typename"] == "SessionSuccess", confirmed
        sessions.append(made["session"]["id"])
    sent = await live.api.gql(SEND, {"input": {"recipientId": w.member.gid, "body": "See you on Tuesday",
                                               "clientMessageId": "interop-1"}}, as_=w.provider)
    assert sent == {"sendMessage": {"__typename": "MessageSuccess"}}
    await live.settle()
    return sessions


async def member_cursors(live: LiveServer, w: World, sessions: list[str]) -> dict[str, list[str]]:
    """The cursors of everything each stream carries for the member, oldest first, from the member's queries."""
    timeline: list[str] = []
    conversation = None
    for session_id in sessions:
        found = await live.api.gql(TIMELINE, {"id": session_id}, as_=w.member)
        timeline += [edge["node"]["cursor"] for edge in found["session"]["timeline"]["edges"]]
        conversation = found["session"]["conversation"]["id"]
    messages = await live.api.gql(MESSAGES, {"id": conversation}, as_=w.member)
    inbox = await live.api.gql(INBOX, as_=w.member)  # newest first
    return {"sessionEvents": timeline,
            "conversationEvents": [e["node"]["cursor"] for e in messages["conversation"]["messages"]["edges"]],
            "notificationAdded": [e["node"]["cursor"] for e in reversed(inbox["notifications"]["edges"])]}


def resume_points(before: dict[str, list[str]]) -> dict[str, dict[str, str]]:
    return {name: {"after": cursors[-1]} for name, cursors in before.items()}


async def what_the_member_should_see(live: LiveServer, w: World, sessions: list[str],
                                     before: dict[str, list[str]]) -> dict[str, list[str]]:
    """Every cursor each stream must deliver after its resume point: sorted, for comparison."""
    now = await member_cursors(live, w, sessions)
    return {name: sorted(set(cursors) - set(before[name])) for name, cursors in now.items()}


def cursors(name: str, events: list[dict[str, Any]]) -> list[str]:
    if name == "conversationEvents":
        assert {e["__typename"] for e in events} == {"MessageAdded"}
        return [e["message"]["cursor"] for e in events]
    return [e["cursor"] for e in events]


def assert_exactly_once(expected: dict[str, list[str]], received: dict[str, list[dict[str, Any]]]) -> None:
    assert len(expected["sessionEvents"]) == 20  # 3 per request, 2 per confirmation, 4 times
    assert len(expected["notificationAdded"]) == 5  # 4 confirmations and the message
    for name, wanted in expected.items():
        got = cursors(name, received[name])
        assert len(got) == len(set(got)), f"{name} delivered an event twice"
        assert sorted(got) == wanted, name


async def test_graphql_ws_three_subscriptions_on_one_socket_get_every_event_once(live: LiveServer) -> None:
    w = await world(live.api, credits=500)
    warm, seen = await warm_up(live, w)
    listening = live.deps.hub.subscriber_count
    node = await NodeRun("graphql-ws-streams", {"wsUrl": live.ws_url, "token": w.member.token,
                                                "subscriptions": STREAMS, "variables": resume_points(seen)},
                         timeout=25).start()
    try:
        await subscribed(live, listening + 3)
        sessions = await four_cycles_and_a_message(live, w)
        expected = await what_the_member_should_see(live, w, [*warm, *sessions], seen)
        await node.send({"expect": {name: len(cursors) for name, cursors in expected.items()}})
        result = await node.result()
    finally:
        await node.kill()
    assert (result["problems"], result["sockets"]) == ([], 1)
    assert_exactly_once(expected, result["received"])


async def test_gql_legacy_protocol_three_subscriptions_on_one_socket_get_every_event_once(live: LiveServer
                                                                                         ) -> None:
    w = await world(live.api, credits=500)
    warm, seen = await warm_up(live, w)
    resume = resume_points(seen)
    transport = WebsocketsTransport(url=live.ws_url, init_payload={"authorization": f"Bearer {w.member.token}"},
                                    subprotocols=[WebsocketsTransport.APOLLO_SUBPROTOCOL], connect_timeout=10,
                                    close_timeout=1)
    received: dict[str, list[dict[str, Any]]] = {name: [] for name in STREAMS}
    arrived = asyncio.Event()
    listening = live.deps.hub.subscriber_count

    async def collect(session: Any, name: str) -> None:
        request = gql(STREAMS[name])
        request.variable_values = resume[name]
        try:
            async for event in session.subscribe(request):
                received[name].append(event[name])
                arrived.set()
        finally:
            arrived.set()

    async with Client(transport=transport) as session:
        tasks = [asyncio.create_task(collect(session, name)) for name in STREAMS]
        try:
            await subscribed(live, listening + 3)
            sessions = await four_cycles_and_a_message(live, w)
            expected = await what_the_member_should_see(live, w, [*warm, *sessions], seen)
            async with asyncio.timeout(20):
                while any(len(received[n]) < len(expected[n]) for n in STREAMS) and not any(t.done() for t in tasks):
                    await arrived.wait()
                    arrived.clear()
            failed = [t.exception() for t in tasks if t.done()]
            assert failed == [], failed
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
    assert_exactly_once(expected, received)


# ---------------------------------------------------------------- (c) Apollo split: GraphQLWsLink + HttpLink

@pytest.mark.parametrize("persisted", [False, True], ids=["plain", "persisted-queries"])
async def test_apollo_split_link_streams_a_live_event_after_its_own_mutation(live: LiveServer, persisted: bool
                                                                            ) -> None:
    w = await world(live.api)
    subscription = "subscription Mine { sessionEvents { type session { status } } }"
    before = live.deps.hub.subscriber_count
    node = await NodeRun("apollo-split", {"wsUrl": live.ws_url, "httpUrl": live.http_url,
                                          "memberToken": w.member.token, "subscription": subscription,
                                          "request": request_input(w, 1), "expect": 3,
                                          "persisted": persisted}).start()
    try:
        await subscribed(live, before + 1)
        await node.send({"go": True})
        result = await node.result()
    finally:
        await node.kill()
    assert (result["problems"], result["sockets"]) == ([], 1)
    assert result["requested"]["data"]["requestSession"]["session"]["status"] == "AWAITING_APPROVAL"
    if persisted:  # the mutation's hash missed, then Apollo sent it with its document; the subscription too
        assert [(r["method"], r["operationName"], r["hasQuery"]) for r in result["requests"]] == [
            ("POST", "Request", False), ("POST", "Request", True)]
        store: PersistedQueries = live.app.state.persisted
        assert dict(store.counts) == {"miss": 1, "registered": 2}
    else:
        assert [(r["method"], r["operationName"]) for r in result["requests"]] == [("POST", "Request")]
    assert result["events"] == [
        {"__typename": "TimelineEvent", "type": kind,
         "session": {"__typename": "Session", "status": "AWAITING_APPROVAL"}}
        for kind in ("REQUESTED", "APPROVED_BY_MEMBER", "FUNDS_HELD")]


# ---------------------------------------------------------------- (e) Apollo's persisted-query link

@pytest.mark.parametrize("use_get", [False, True], ids=["post", "get"])
async def test_apollo_persisted_query_link_misses_registers_then_sends_only_the_hash(live: LiveServer,
                                                                                      use_get: bool) -> None:
    member = await live.api.member("Pia Persisted")
    # a document no other test registered (the PostgreSQL+Redis runs share one redis-server)
    query = f"query Me{uuid.uuid4().hex} {{ viewer {{ user {{ displayName }} }} }}"
    result = await run("apollo-persisted", {"httpUrl": live.http_url, "token": member.token, "query": query,
                                            "useGET": use_get})
    answer = {"data": {"viewer": {"__typename": "Viewer", "user": {"__typename": "User",
                                                                   "displayName": "Pia Persisted"}}}, "errors": []}
    assert (result["first"], result["second"]) == (answer, answer)
    # what Apollo hashed is exactly what it sent in the retry: the server checked the two match
    (digest,) = {r["sha256Hash"] for r in result["requests"]}
    method = "GET" if use_get else "POST"
    assert [(r["method"], r["hasQuery"]) for r in result["requests"]] == [
        (method, False), ("POST", True), (method, False)]
    store: PersistedQueries = live.app.state.persisted
    assert dict(store.counts) == {"miss": 1, "registered": 1, "hit": 1}
    # the server keeps Apollo's document under Apollo's hash: any client may now run it by that hash
    again = await live.api.client.post("/graphql", headers={"Authorization": f"Bearer {member.token}"},
                                       json={"extensions": {"persistedQuery": {"version": 1, "sha256Hash": digest}}})
    assert again.json() == {"data": {"viewer": {"__typename": "Viewer", "user": {"__typename": "User",
                                                                                "displayName": "Pia Persisted"}}}}


# ---------------------------------------------------------------- gql over HTTP

async def test_gql_http_transport_query_and_mutation(live: LiveServer) -> None:
    w = await world(live.api)
    headers = {"Authorization": f"Bearer {w.member.token}"}
    async with Client(transport=HTTPXAsyncTransport(url=live.http_url, headers=headers, timeout=15)) as session:
        request = gql(REQUEST)
        request.variable_values = {"input": request_input(w, 2)}
        made = await session.execute(request)
        me = await session.execute(gql("{ viewer { user { displayName } } }"))
    assert (made["requestSession"]["__typename"], made["requestSession"]["session"]["status"]) == (
        "SessionSuccess", "AWAITING_APPROVAL")
    assert me == {"viewer": {"user": {"displayName": "Sam Member"}}}
