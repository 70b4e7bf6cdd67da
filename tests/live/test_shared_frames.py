"""Each event's frame built once for the sockets that share it (realtime/frames.py), over real sockets of both
subprotocols: the same text for one shape, one execution counted on /metrics, and separate executions where the
viewer or the moment could change the answer."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection

from sessions_gql import moments
from sessions_gql.realtime import moment_fields
from tests.api.lifecycle_helpers import REQUEST, World, action, world
from tests.harness.app import START, Person
from tests.harness.live import LiveServer
from tests.live.ws_raw import LEGACY, TRANSPORT, acknowledged

EVENTS = """subscription($id: ID, $after: String) { sessionEvents(sessionId: $id, after: $after) {
  id type cursor session { id status providerEarnings { amount currency } expectedEarnings { amount } } } }"""
VIDEO_EVENTS = """subscription($id: ID) { sessionEvents(sessionId: $id) {
  type session { id videoRoom { joinUrl } } } }"""
CHOSEN_EVENTS = """subscription($id: ID, $full: Boolean!) { sessionEvents(sessionId: $id) {
  id type session @include(if: $full) { status } } }"""
OTHER_EVENTS = """subscription($id: ID, $full: Boolean!) { sessionEvents(sessionId: $id) {
  id type session @include(if: $full) { id } } }"""
ADD_NOTE = """mutation($i: AddNoteInput!) { addNote(input: $i) { __typename } }"""
TIMELINE = """query($id: ID!) { session(id: $id) { timeline { edges { node { id cursor } } } } }"""
STARTS_AT = START + timedelta(days=1, hours=2)
FRAME_SECONDS = 20.0


async def confirmed_session(live: LiveServer) -> tuple[World, str]:
    w = await world(live.api)
    made = await w.run(REQUEST, {"providerId": w.provider.gid, "serviceId": w.service_id,
                                 "startsAt": STARTS_AT.isoformat(), "modality": "VIDEO"}, w.member)
    confirmed = await w.run(action("confirmSession"), {"sessionId": made["session"]["id"]}, w.provider)
    assert confirmed["__typename"] == "SessionSuccess", confirmed
    await live.settle()
    return w, made["session"]["id"]


class Subscriber:
    """One raw socket with one operation open, reading its frames as sent."""

    def __init__(self, socket: ClientConnection, protocol: str, operation_id: str) -> None:
        self.socket, self.protocol, self.operation_id = socket, protocol, operation_id

    async def next_text(self) -> str:
        """The next `next` (graphql-transport-ws) or `data` (graphql-ws) frame, as text; keep-alives skipped."""
        async with asyncio.timeout(FRAME_SECONDS):
            while True:
                text = await self.socket.recv()
                assert isinstance(text, str)
                kind = json.loads(text)["type"]
                if kind in ("next", "data"):
                    return text
                assert kind in ("ping", "ka"), text

    async def next_event(self) -> dict[str, Any]:
        message = json.loads(await self.next_text())
        assert message["id"] == self.operation_id
        assert "errors" not in message["payload"], message
        return message["payload"]["data"]["sessionEvents"]  # type: ignore[no-any-return]

    def payload_of(self, text: str) -> str:
        """The frame's payload text, after checking that the frame around it is exactly the protocol's."""
        kind = "next" if self.protocol == TRANSPORT else "data"
        head = (f'{{"id":{json.dumps(self.operation_id, ensure_ascii=False)},"type":"next","payload":' if kind == "next"
                else f'{{"type":"data","id":{json.dumps(self.operation_id, ensure_ascii=False)},"payload":')
        assert text.startswith(head) and text.endswith("}"), text
        return text[len(head):-1]


@contextlib.asynccontextmanager
async def subscribers(live: LiveServer, specs: list[tuple[Person, str, str, str, dict[str, Any]]]
                      ) -> AsyncIterator[list[Subscriber]]:
    """(person, protocol, operation id, document, variables) each on its own socket, once all are live."""
    before = live.deps.hub.subscriber_count
    async with contextlib.AsyncExitStack() as stack:
        opened = []
        for person, protocol, operation_id, document, variables in specs:
            socket = await stack.enter_async_context(await acknowledged(live.ws_url, protocol, person.token))
            kind = "subscribe" if protocol == TRANSPORT else "start"
            await socket.send(json.dumps({"type": kind, "id": operation_id,
                                          "payload": {"query": document, "variables": variables}}))
            opened.append(Subscriber(socket, protocol, operation_id))
        for _ in range(1500):
            if live.deps.hub.subscriber_count >= before + len(specs):
                break
            await asyncio.sleep(0.01)
        assert live.deps.hub.subscriber_count >= before + len(specs)
        yield opened


async def note(live: LiveServer, w: World, session_id: str, body: str) -> None:
    noted = await live.api.gql(ADD_NOTE, {"i": {"sessionId": session_id, "body": body}}, as_=w.provider)
    assert noted["addNote"]["__typename"] == "NoteSuccess"


async def steady(live: LiveServer, w: World, session_id: str, subscribed: list[Subscriber]) -> None:
    """A first event that every subscriber receives: each is then past its first read, waiting for wake-ups, so
    the next event reaches them all through one shared read."""
    await note(live, w, session_id, "warm-up")
    for subscriber in subscribed:
        assert (await subscriber.next_event())["type"] == "NOTE_ADDED"


async def counts(live: LiveServer) -> dict[str, float]:
    """subscription_event_executions by mode and subscription_frames_reused, from /metrics."""
    async with httpx.AsyncClient(timeout=10) as client:
        text = (await client.get(live.http_url.removesuffix("/graphql") + "/metrics")).text
    wanted = {'subscription_event_executions_total{mode="shared"}': "shared",
              'subscription_event_executions_total{mode="own"}': "own", "subscription_frames_reused_total": "reused"}
    found = {wanted[name]: float(value) for name, value in (line.rsplit(" ", 1) for line in text.splitlines()
                                                           if not line.startswith("#")) if name in wanted}
    return {name: found.get(name, 0.0) for name in ("shared", "own", "reused")}


def grew(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {name: after[name] - before[name] for name in before}


async def test_sockets_of_one_shape_get_the_same_frame_text_from_one_execution(live: LiveServer) -> None:
    """A member on graphql-transport-ws (an operation id that needs escaping) and on graphql-ws."""
    w, session_id = await confirmed_session(live)
    variables = {"id": session_id, "after": None}
    async with subscribers(live, [(w.member, TRANSPORT, 'op "1" \\ é', EVENTS, variables),
                                  (w.member, LEGACY, "7", EVENTS, variables)]) as (first, second):
        await steady(live, w, session_id, [first, second])
        before = await counts(live)
        await note(live, w, session_id, "shared")
        texts = [await first.next_text(), await second.next_text()]
        assert grew(before, await counts(live)) == {"shared": 1, "own": 0, "reused": 1}
    assert first.payload_of(texts[0]) == second.payload_of(texts[1])
    event = json.loads(texts[0])["payload"]["data"]["sessionEvents"]
    assert json.loads(texts[0])["id"] == 'op "1" \\ é'
    assert (event["type"], event["session"]["id"]) == ("NOTE_ADDED", session_id)
    assert event["session"]["status"] == "CONFIRMED" and event["session"]["providerEarnings"] is None


async def test_other_variables_or_another_document_get_frames_of_their_own(live: LiveServer) -> None:
    w, session_id = await confirmed_session(live)
    full, short = {"id": session_id, "full": True}, {"id": session_id, "full": False}
    async with subscribers(live, [(w.member, TRANSPORT, "1", CHOSEN_EVENTS, full),
                                  (w.member, TRANSPORT, "1", CHOSEN_EVENTS, full),
                                  (w.member, TRANSPORT, "1", CHOSEN_EVENTS, short),
                                  (w.member, TRANSPORT, "1", OTHER_EVENTS, full)]) as subscribed:
        await steady(live, w, session_id, subscribed)
        before = await counts(live)
        await note(live, w, session_id, "chosen")
        events = [await each.next_event() for each in subscribed]
        assert grew(before, await counts(live)) == {"shared": 3, "own": 0, "reused": 1}
    assert len({event["id"] for event in events}) == 1
    assert [event.get("session") for event in events] == [
        {"status": "CONFIRMED"}, {"status": "CONFIRMED"}, None, {"id": session_id}]


async def test_member_and_provider_of_one_session_get_frames_of_their_own(live: LiveServer) -> None:
    """One read wakes all three; the provider's two sockets share a frame, the member's is executed apart and
    shows no earnings."""
    w, session_id = await confirmed_session(live)
    variables = {"id": session_id, "after": None}
    async with subscribers(live, [(w.member, TRANSPORT, "m", EVENTS, variables),
                                  (w.provider, TRANSPORT, "p", EVENTS, variables),
                                  (w.provider, LEGACY, "q", EVENTS, variables)]) as subscribed:
        await steady(live, w, session_id, subscribed)
        before = await counts(live)
        await note(live, w, session_id, "for both")
        member, provider, provider_again = [await each.next_event() for each in subscribed]
        assert grew(before, await counts(live)) == {"shared": 2, "own": 0, "reused": 1}
    assert member["id"] == provider["id"] and member["type"] == provider["type"] == "NOTE_ADDED"
    assert member["session"]["providerEarnings"] is None and member["session"]["expectedEarnings"] is None
    assert provider["session"]["providerEarnings"] == {"amount": "0.00", "currency": "GBP"}
    assert provider["session"]["expectedEarnings"] == {"amount": "45.00"}
    assert provider_again == provider


@pytest.mark.parametrize("guard", ["the field list", "the clock read"])
async def test_a_time_dependent_field_is_executed_per_subscriber(live: LiveServer, clock: Any, guard: str,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """`videoRoom` reads the clock. Either guard alone keeps it from being shared: the field in the selection
    (MOMENT_FIELDS), with clock reads going unnoticed; or the clock noting its read during the execution, with
    the list emptied."""
    if guard == "the field list":
        monkeypatch.setattr(moments, "read", lambda what: None)
    else:
        monkeypatch.setattr(moment_fields, "MOMENT_FIELDS", frozenset())
    w, session_id = await confirmed_session(live)
    clock.set(STARTS_AT - timedelta(minutes=5))
    async with subscribers(live, [(w.member, TRANSPORT, "1", VIDEO_EVENTS, {"id": session_id}),
                                  (w.member, LEGACY, "1", VIDEO_EVENTS, {"id": session_id})]) as subscribed:
        await note(live, w, session_id, "warm-up")
        for each in subscribed:
            await each.next_event()
        before = await counts(live)
        await note(live, w, session_id, "in the room")
        events = [await each.next_event() for each in subscribed]
        assert grew(before, await counts(live)) == {"shared": 0, "own": 2, "reused": 0}
    assert events[0] == events[1]
    assert events[0]["session"]["videoRoom"]["joinUrl"].startswith("http")


async def test_a_subscriber_catching_up_from_a_cursor_gets_every_event_once_in_order(live: LiveServer) -> None:
    """Two live subscribers and, after two events, a third of the same shape (the same `after`) that replays
    them from its own read, then shares the next event's frame with the others."""
    w, session_id = await confirmed_session(live)
    edges = (await live.api.gql(TIMELINE, {"id": session_id}, as_=w.member))["session"]["timeline"]["edges"]
    variables = {"id": session_id, "after": edges[-1]["node"]["cursor"]}
    spec = (w.member, TRANSPORT, "1", EVENTS, variables)
    async with subscribers(live, [spec, spec]) as live_ones:
        await note(live, w, session_id, "one")
        await note(live, w, session_id, "two")
        seen = [[(await each.next_event())["id"] for _ in range(2)] for each in live_ones]
        assert seen[0] == seen[1]
        async with subscribers(live, [spec]) as (late,):
            replayed = [await late.next_event() for _ in range(2)]
            before = await counts(live)
            await note(live, w, session_id, "three")
            texts = [await each.next_text() for each in [*live_ones, late]]
            assert grew(before, await counts(live)) == {"shared": 1, "own": 0, "reused": 2}
            await note(live, w, session_id, "four")
            after = [await each.next_event() for each in [*live_ones, late]]
    timeline = (await live.api.gql(TIMELINE, {"id": session_id}, as_=w.member))["session"]["timeline"]["edges"]
    newest = [edge["node"] for edge in timeline[-4:]]
    assert seen[0] == [e["id"] for e in replayed] == [newest[0]["id"], newest[1]["id"]]
    assert [e["cursor"] for e in replayed] == [newest[0]["cursor"], newest[1]["cursor"]]
    assert len(set(texts)) == 1
    assert json.loads(texts[0])["payload"]["data"]["sessionEvents"]["id"] == newest[2]["id"]
    assert [e["id"] for e in after] == [newest[3]["id"]] * 3
