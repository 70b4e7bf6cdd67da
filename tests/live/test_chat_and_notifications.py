"""conversationEvents and notificationAdded over websockets, with the gql client."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from gql import Client, gql
from gql.transport.websockets import WebsocketsTransport

from tests.api.lifecycle_helpers import REQUEST, World, action, world
from tests.harness.app import START
from tests.harness.live import LiveServer
from tests.live.test_session_events import subscribed

CHAT = gql("""subscription($id: ID, $after: String) { conversationEvents(conversationId: $id, after: $after) {
  __typename
  ... on MessageAdded { message { body sender { displayName } cursor } }
  ... on TypingChanged { typing user { displayName } }
  ... on MessagesRead { readerRole upTo { body } }
} }""")
NOTIFICATIONS = gql("subscription { notificationAdded { kind title session { status } cursor } }")
SEND = """mutation($input: SendMessageInput!) { sendMessage(input: $input) { __typename
  ... on MessageSuccess { chatMessage { id } } } }"""
TYPING = "mutation($id: ID!, $typing: Boolean!) { setTyping(conversationId: $id, typing: $typing) }"
READ = "mutation($id: ID!, $upTo: ID) { markConversationRead(conversationId: $id, upTo: $upTo) { __typename } }"
MESSAGES = "query($id: ID!) { conversation(id: $id) { messages(last: 10) { edges { node { body cursor } } } } }"
CONVERSATION_OF = "query($id: ID!) { session(id: $id) { conversation { id } } }"


async def listen(live: LiveServer, token: str, document: Any, variables: dict[str, Any], count: int,
                 ready: asyncio.Event) -> list[dict[str, Any]]:
    transport = WebsocketsTransport(url=live.ws_url, init_payload={"authorization": f"Bearer {token}"},
                                    subprotocols=["graphql-ws"], connect_timeout=10, close_timeout=1)
    got: list[dict[str, Any]] = []
    async with Client(transport=transport) as session:
        stream = session.subscribe(document, variable_values=variables)
        ready.set()
        async for event in stream:
            got.append(next(iter(event.values())))
            if len(got) == count:
                break
    return got


async def start(live: LiveServer, token: str, document: Any, variables: dict[str, Any], count: int
                ) -> asyncio.Task[list[dict[str, Any]]]:
    ready = asyncio.Event()
    before = live.deps.hub.subscriber_count
    task = asyncio.create_task(listen(live, token, document, variables, count, ready))
    await ready.wait()
    await subscribed(live, before + 1)
    return task


async def booked(live: LiveServer) -> tuple[World, str, str]:
    w = await world(live.api)
    made = await w.run(REQUEST, {"providerId": w.provider.gid, "serviceId": w.service_id,
                                 "startsAt": (START + timedelta(days=1, hours=2)).isoformat(),
                                 "modality": "VIDEO"}, w.member)
    session_id = made["session"]["id"]
    found = await live.api.gql(CONVERSATION_OF, {"id": session_id}, as_=w.member)
    await live.settle()
    return w, session_id, found["session"]["conversation"]["id"]


async def test_messages_typing_and_read_receipts_reach_the_other_party(live: LiveServer) -> None:
    w, _session_id, conversation = await booked(live)
    task = await start(live, w.member.token, CHAT, {"id": conversation}, 3)
    sent = await live.api.gql(SEND, {"input": {"conversationId": conversation, "body": "See you Tuesday",
                                               "clientMessageId": "c-1"}}, as_=w.provider)
    message_id = sent["sendMessage"]["chatMessage"]["id"]
    await live.settle()
    assert await live.api.gql(TYPING, {"id": conversation, "typing": True}, as_=w.provider) == {"setTyping": True}
    await live.settle()
    await live.api.gql(READ, {"id": conversation, "upTo": message_id}, as_=w.member)
    events = await asyncio.wait_for(task, timeout=20)
    assert [e["__typename"] for e in events] == ["MessageAdded", "TypingChanged", "MessagesRead"]
    assert events[0]["message"]["body"] == "See you Tuesday"
    assert events[0]["message"]["sender"] == {"displayName": "Dr Lane"}
    assert (events[1]["typing"], events[1]["user"]) == (True, {"displayName": "Dr Lane"})
    assert (events[2]["readerRole"], events[2]["upTo"]) == ("MEMBER", {"body": "See you Tuesday"})


async def test_resuming_a_conversation_replays_missed_messages_once(live: LiveServer) -> None:
    w, _session_id, conversation = await booked(live)
    for number, body in enumerate(["one", "two", "three"]):
        await live.api.gql(SEND, {"input": {"conversationId": conversation, "body": body,
                                            "clientMessageId": f"m-{number}"}}, as_=w.provider)
    await live.settle()
    listed = await live.api.gql(MESSAGES, {"id": conversation}, as_=w.member)
    nodes = [edge["node"] for edge in listed["conversation"]["messages"]["edges"]]
    assert [n["body"] for n in nodes][-3:] == ["one", "two", "three"]
    after_one = nodes[-3]["cursor"]
    task = await start(live, w.member.token, CHAT, {"id": conversation, "after": after_one}, 3)
    await live.api.gql(SEND, {"input": {"conversationId": conversation, "body": "four",
                                        "clientMessageId": "m-3"}}, as_=w.provider)
    events = await asyncio.wait_for(task, timeout=20)
    assert [e["message"]["body"] for e in events] == ["two", "three", "four"]
    assert len({e["message"]["cursor"] for e in events}) == 3


async def test_notifications_stream_to_their_user(live: LiveServer) -> None:
    w, session_id, _conversation = await booked(live)
    task = await start(live, w.member.token, NOTIFICATIONS, {}, 2)
    await w.run(action("confirmSession"), {"sessionId": session_id}, w.provider)
    await live.api.gql(SEND, {"input": {"recipientId": w.member.gid, "body": "Welcome",
                                        "clientMessageId": "n-1"}}, as_=w.provider)
    events = await asyncio.wait_for(task, timeout=20)
    assert [(e["kind"], e["session"]) for e in events] == [("SESSION_CONFIRMED", {"status": "CONFIRMED"}),
                                                           ("MESSAGE_RECEIVED", None)]
