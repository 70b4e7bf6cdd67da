"""Messaging: one conversation per pair, who may write, idempotent retries, limits, read marks, system messages."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from sessions_gql.api import ids
from sessions_gql.api.cursors import encode_cursor
from sessions_gql.db import models as m
from sessions_gql.domain.enums import SessionStatus
from tests.api.factories import count_rows, gid, insert_service, insert_session
from tests.api.lifecycle_helpers import CONFIRM, PROPOSE_NEW_TIME, at, ok, request, world
from tests.harness.app import START, Api, Person

MESSAGE = "id body clientMessageId sentAt readByRecipientAt sender { displayName } session { id } conversation { id }"
SEND = f"""mutation($input: SendMessageInput!) {{ sendMessage(input: $input) {{ __typename
  ... on MessageSuccess {{ chatMessage {{ {MESSAGE} }} }} ... on BasicError {{ code field }} }} }}"""
READ = """mutation($id: ID!, $upTo: ID) { markConversationRead(conversationId: $id, upTo: $upTo) { __typename
  ... on ReadSuccess { unread } ... on BasicError { code field } } }"""
TYPING = "mutation($id: ID!, $typing: Boolean!) { setTyping(conversationId: $id, typing: $typing) }"
CONVERSATION = """query($id: ID!, $last: Int, $before: String) { conversation(id: $id) {
  id unreadCount member { id } provider { id } lastMessage { body }
  messages(last: $last, before: $before) { edges { cursor node { id cursor body readByRecipientAt
    sender { displayName } } } pageInfo { hasPreviousPage hasNextPage startCursor endCursor } } } }"""
CONVERSATIONS = """query($first: Int, $after: String) { conversations(first: $first, after: $after) {
  edges { node { id unreadCount lastMessage { body } } } pageInfo { hasNextPage hasPreviousPage endCursor } } }"""
SESSION_CHAT = """query($id: ID!) { session(id: $id) { conversation { id unreadCount
  messages { edges { node { body sender { id } session { id } } } } } } }"""
BAD_CURSOR = 'query($id: ID!) { conversation(id: $id) { messages(before: "nonsense") { edges { cursor } } } }'
UNREAD = "{ viewer { unreadMessages unreadNotifications } }"
VISIBILITY = "mutation($v: ProviderVisibility!) { setProviderVisibility(visibility: $v) { __typename } }"
NOW = START.isoformat()


async def pair(api: Api, *, shared: bool = True) -> tuple[Person, Person]:
    """A member and a provider; with `shared`, a confirmed session between them (no system messages)."""
    member, provider = await api.member("Sam Member"), await api.provider("Dr Lane")
    if shared:
        assert member.member_id and provider.provider_id
        service = await insert_service(api.deps, provider.provider_id)
        await insert_session(api.deps, member.member_id, provider.provider_id, service, START + timedelta(days=1),
                             SessionStatus.CONFIRMED)
    return member, provider


async def send(api: Api, who: Person, body: str, *, to: Person | None = None, conversation: str | None = None,
               client_id: str | None = None, **extra: Any) -> dict[str, Any]:
    input = {"body": body, "clientMessageId": client_id or uuid.uuid4().hex, **extra}
    if to is not None:
        input["recipientId"] = to.gid
    if conversation is not None:
        input["conversationId"] = conversation
    return (await api.gql(SEND, {"input": input}, as_=who))["sendMessage"]  # type: ignore[no-any-return]


async def sent(api: Api, who: Person, body: str, **kwargs: Any) -> dict[str, Any]:
    result = await send(api, who, body, **kwargs)
    assert result["__typename"] == "MessageSuccess", result
    return result["chatMessage"]  # type: ignore[no-any-return]


async def chat(api: Api, who: Person, conversation: str, **variables: Any) -> dict[str, Any]:
    data = await api.gql(CONVERSATION, {"id": conversation, **variables}, as_=who)
    return data["conversation"]  # type: ignore[no-any-return]


def key_of(global_id: str) -> str:
    """The database key inside a global id."""
    return ids.split(global_id)[1]


def bodies(conversation: dict[str, Any]) -> list[str]:
    return [edge["node"]["body"] for edge in conversation["messages"]["edges"]]


async def test_member_and_provider_write_both_ways_in_one_conversation(api: Api) -> None:
    member, provider = await pair(api)
    first = await sent(api, member, "  Hello, see you tomorrow?  ", to=provider, client_id="c-1")
    assert first == {"id": first["id"], "body": "Hello, see you tomorrow?", "clientMessageId": "c-1", "sentAt": NOW,
                     "readByRecipientAt": None, "sender": {"displayName": "Sam Member"}, "session": None,
                     "conversation": {"id": first["conversation"]["id"]}}
    conversation = first["conversation"]["id"]
    await sent(api, provider, "Yes, 10:00.", conversation=conversation)
    again = await sent(api, provider, "Bring notes.", to=member)
    assert again["conversation"]["id"] == conversation
    view = await chat(api, member, conversation)
    assert bodies(view) == ["Hello, see you tomorrow?", "Yes, 10:00.", "Bring notes."]
    assert [e["node"]["sender"]["displayName"] for e in view["messages"]["edges"]] == ["Sam Member", "Dr Lane",
                                                                                      "Dr Lane"]
    assert (view["member"]["id"], view["provider"]["id"], view["lastMessage"]) == (
        member.gid, provider.gid, {"body": "Bring notes."})
    assert await count_rows(api.deps, m.Conversation) == 1


async def test_provider_opens_conversations_only_with_members_with_a_shared_session(api: Api) -> None:
    member, provider = await pair(api, shared=False)
    assert await send(api, provider, "Hi", to=member) == {"__typename": "BasicError", "code": "NOT_FOUND",
                                                          "field": "recipientId"}
    assert (await count_rows(api.deps, m.Conversation), await count_rows(api.deps, m.Message)) == (0, 0)
    conversation = (await sent(api, member, "Do you work with teens?", to=provider))["conversation"]["id"]
    answer = await sent(api, provider, "Yes", conversation=conversation)  # an enquiry is answered (tests/api/
    assert answer["conversation"]["id"] == conversation                   # test_enquiries.py has the rest)
    assert await count_rows(api.deps, m.Message) == 2


async def test_members_write_to_active_providers_and_admins_never_write(api: Api) -> None:
    member, provider = await pair(api, shared=False)
    client = await api.member("Casey Client")
    assert client.member_id and provider.provider_id
    service = await insert_service(api.deps, provider.provider_id)
    await insert_session(api.deps, client.member_id, provider.provider_id, service, START + timedelta(days=1),
                         SessionStatus.CONFIRMED)
    await api.gql(VISIBILITY, {"v": "INVISIBLE"}, as_=provider)
    assert await send(api, member, "Hi", to=provider) == {"__typename": "BasicError", "code": "FORBIDDEN",
                                                          "field": "recipientId"}
    assert await send(api, await api.admin(), "Hi", to=provider) == {"__typename": "BasicError", "code": "FORBIDDEN",
                                                                     "field": None}
    assert await send(api, member, "Hi", to=client) == {"__typename": "BasicError", "code": "NOT_FOUND",
                                                        "field": "recipientId"}
    assert await count_rows(api.deps, m.Message) == 0
    on_a_break = await sent(api, client, "About our session", to=provider)  # their own provider, on a break
    assert on_a_break["body"] == "About our session"


async def test_a_retry_with_the_same_client_message_id_returns_the_first_message(api: Api) -> None:
    member, provider = await pair(api)
    first = await sent(api, member, "Running late", to=provider, client_id="retry-1")
    retry = await sent(api, member, "Running late (edited)", to=provider, client_id="retry-1")
    assert (retry["id"], retry["body"]) == (first["id"], "Running late")
    reply = await sent(api, provider, "No problem", to=member, client_id="retry-1")  # another sender's id space
    assert reply["id"] != first["id"]
    assert (await count_rows(api.deps, m.Message), await count_rows(api.deps, m.Notification)) == (2, 2)


async def test_a_message_about_a_session_of_the_pair_names_it(api: Api) -> None:
    member, provider = await pair(api)
    assert member.member_id and provider.provider_id
    service = await insert_service(api.deps, provider.provider_id)
    ours = gid("Session", await insert_session(api.deps, member.member_id, provider.provider_id, service,
                                               START + timedelta(days=2), SessionStatus.CONFIRMED))
    other, _ = await pair(api)
    assert other.member_id
    theirs = gid("Session", await insert_session(api.deps, other.member_id, provider.provider_id, service,
                                                 START + timedelta(days=3), SessionStatus.CONFIRMED))
    about = await sent(api, member, "Can we use the whiteboard?", to=provider, sessionId=ours)
    assert about["session"] == {"id": ours}
    assert await send(api, member, "Hi", to=provider, sessionId=theirs) == {
        "__typename": "BasicError", "code": "NOT_FOUND", "field": "sessionId"}


async def test_concurrent_retries_and_a_booking_open_one_conversation_and_write_once(api: Api) -> None:
    w = await world(api)
    retries = [send(api, w.member, "See you Tuesday", to=w.provider, client_id="same") for _ in range(4)]
    booking = request(w, at(1, 10))
    *results, _session = await asyncio.gather(*retries, booking)
    assert {r["chatMessage"]["id"] for r in results} == {results[0]["chatMessage"]["id"]}
    assert (await count_rows(api.deps, m.Conversation), await count_rows(api.deps, m.Message)) == (1, 2)


async def test_body_client_id_and_addressing_limits(api: Api) -> None:
    member, provider = await pair(api)
    cases = [
        ({"body": "   "}, "body"), ({"body": "x" * 4001}, "body"), ({"clientMessageId": ""}, "clientMessageId"),
        ({"clientMessageId": "k" * 101}, "clientMessageId"), ({"conversationId": gid("Conversation", uuid.uuid4())},
                                                              "conversationId"),
    ]
    for changes, field in cases:
        input = {"body": "Hi", "clientMessageId": "k", "recipientId": provider.gid, **changes}
        data = await api.gql(SEND, {"input": input}, as_=member)
        assert data["sendMessage"] == {"__typename": "BasicError", "code": "VALIDATION", "field": field}, changes
    assert await send(api, member, "Hi") == {"__typename": "BasicError", "code": "VALIDATION",
                                             "field": "conversationId"}
    assert await count_rows(api.deps, m.Message) == 0
    longest = await sent(api, member, "x" * 4000, to=provider, client_id="k" * 100)
    assert len(longest["body"]) == 4000


async def test_the_31st_message_in_a_minute_is_rate_limited(api: Api) -> None:
    member, provider = await pair(api)
    for number in range(30):
        await sent(api, member, f"message {number}", to=provider)
    assert await send(api, member, "one too many", to=provider) == {"__typename": "BasicError",
                                                                    "code": "RATE_LIMITED", "field": None}
    api.deps.clock.advance(timedelta(seconds=60))
    assert (await sent(api, member, "a minute later", to=provider))["body"] == "a minute later"
    assert await count_rows(api.deps, m.Message) == 31


async def test_unread_counts_and_read_marks_that_never_move_back(api: Api) -> None:
    member, provider = await pair(api)
    sent_ids = [(await sent(api, member, f"m{n}", to=provider))["id"] for n in range(3)]
    reply = await sent(api, provider, "reply", to=member)
    key = reply["conversation"]["id"]
    assert ((await chat(api, provider, key))["unreadCount"], (await chat(api, member, key))["unreadCount"]) == (3, 1)
    assert await api.gql(UNREAD, as_=provider) == {"viewer": {"unreadMessages": 3, "unreadNotifications": 3}}
    assert (await api.gql(READ, {"id": key, "upTo": sent_ids[1]}, as_=provider))["markConversationRead"] == {
        "__typename": "ReadSuccess", "unread": 1}
    assert (await api.gql(READ, {"id": key, "upTo": sent_ids[0]}, as_=provider))["markConversationRead"] == {
        "__typename": "ReadSuccess", "unread": 1}
    seen = await chat(api, member, key)
    assert [e["node"]["readByRecipientAt"] for e in seen["messages"]["edges"]] == [NOW, NOW, None, None]
    assert (await api.gql(READ, {"id": key}, as_=provider))["markConversationRead"] == {
        "__typename": "ReadSuccess", "unread": 0}
    assert (await api.gql(UNREAD, as_=provider))["viewer"]["unreadMessages"] == 0
    assert (await api.gql(UNREAD, as_=member))["viewer"]["unreadMessages"] == 1
    async with api.deps.sessions() as db:
        read = (await db.scalars(select(m.OutboxEvent).order_by(m.OutboxEvent.id.desc()))).first()
    assert read is not None and read.payload["ephemeral"] == {
        "type": "read", "conversation_id": key_of(key), "reader_role": "PROVIDER",
        "reader_user_id": str(provider.viewer.user_id), "up_to": int(key_of(reply["id"])), "at": NOW}
    assert read.channels == sorted([f"conversation:{key_of(key)}", f"user:{member.viewer.user_id}",
                                    f"user:{provider.viewer.user_id}"])


async def test_someone_elses_conversation_is_null_and_refused(api: Api) -> None:
    member, provider = await pair(api)
    key = (await sent(api, member, "private", to=provider))["conversation"]["id"]
    stranger, admin = await api.member("Stranger"), await api.admin()
    assert await api.gql(CONVERSATION, {"id": key}, as_=stranger) == {"conversation": None}
    assert (await chat(api, admin, key))["id"] == key
    assert (await api.gql(READ, {"id": key}, as_=stranger))["markConversationRead"] == {
        "__typename": "BasicError", "code": "NOT_FOUND", "field": "conversationId"}
    assert (await api.gql(READ, {"id": key}, as_=admin))["markConversationRead"] == {
        "__typename": "BasicError", "code": "FORBIDDEN", "field": "conversationId"}
    assert await send(api, stranger, "hi", conversation=key) == {"__typename": "BasicError", "code": "NOT_FOUND",
                                                                 "field": "conversationId"}
    for who, code in ((stranger, "NOT_FOUND"), (admin, "FORBIDDEN")):
        body = await api.post(TYPING, {"id": key, "typing": True}, token=who.token)
        assert (body["data"], [e["extensions"]["code"] for e in body["errors"]]) == (None, [code])
    assert await api.gql(CONVERSATIONS, as_=stranger) == {"conversations": {"edges": [], "pageInfo": {
        "hasNextPage": False, "hasPreviousPage": False, "endCursor": None}}}


async def test_typing_is_live_only(api: Api) -> None:
    member, provider = await pair(api)
    key = (await sent(api, member, "hi", to=provider))["conversation"]["id"]
    assert await api.gql(TYPING, {"id": key, "typing": True}, as_=provider) == {"setTyping": True}
    async with api.deps.sessions() as db:
        row = (await db.scalars(select(m.OutboxEvent).order_by(m.OutboxEvent.id.desc()))).first()
    conversation_id = key_of(key)
    assert row is not None and (row.channels, row.payload) == (
        sorted([f"conversation:{conversation_id}", f"user:{member.viewer.user_id}"]),
        {"timeline_ids": [], "notification_ids": [], "message_ids": [], "ephemeral": {
            "type": "typing", "conversation_id": conversation_id, "user_id": str(provider.viewer.user_id),
            "typing": True, "at": NOW}})
    assert await count_rows(api.deps, m.Message) == 1


async def test_messages_page_backwards_oldest_first_within_a_page(api: Api) -> None:
    member, provider = await pair(api)
    key = ""
    for n in range(1, 6):
        key = (await sent(api, member, f"m{n}", to=provider))["conversation"]["id"]
    newest = await chat(api, member, key, last=2)
    assert (bodies(newest), newest["messages"]["pageInfo"]["hasPreviousPage"],
            newest["messages"]["pageInfo"]["hasNextPage"]) == (["m4", "m5"], True, False)
    middle = await chat(api, member, key, last=2, before=newest["messages"]["pageInfo"]["startCursor"])
    assert (bodies(middle), middle["messages"]["pageInfo"]["hasPreviousPage"],
            middle["messages"]["pageInfo"]["hasNextPage"]) == (["m2", "m3"], True, True)
    oldest = await chat(api, member, key, last=2, before=middle["messages"]["pageInfo"]["startCursor"])
    assert (bodies(oldest), oldest["messages"]["pageInfo"]["hasPreviousPage"]) == (["m1"], False)
    body = await api.post(BAD_CURSOR, {"id": key}, token=member.token)
    assert (body["data"], [(e["extensions"]["code"], e["extensions"]["field"]) for e in body["errors"]]) == (
        {"conversation": None}, [("VALIDATION", "before")])


async def test_message_cursor_is_the_relay_position_once_sequenced(api: Api) -> None:
    member, provider = await pair(api)
    first, second = [await sent(api, member, body, to=provider) for body in ("a", "b")]
    async with api.deps.sessions() as db, db.begin():
        await db.execute(update(m.Message).values(position=None))
        await db.execute(update(m.Message).where(m.Message.id == int(key_of(second["id"]))).values(position=42))
    edges = (await chat(api, member, first["conversation"]["id"]))["messages"]["edges"]
    assert [e["node"]["cursor"] for e in edges] == [encode_cursor(f"i{key_of(first['id'])}"), encode_cursor(42)]


async def test_conversations_newest_activity_first(api: Api) -> None:
    member = await api.member("Sam Member")
    providers = [await api.provider(f"Provider {n}") for n in range(3)]
    for provider in providers:
        await sent(api, member, f"to {provider.viewer.user_id}", to=provider)
        api.deps.clock.advance(timedelta(minutes=1))
    page = (await api.gql(CONVERSATIONS, {"first": 2}, as_=member))["conversations"]
    rest = (await api.gql(CONVERSATIONS, {"first": 2, "after": page["pageInfo"]["endCursor"]}, as_=member))
    order = [e["node"]["lastMessage"]["body"] for e in page["edges"] + rest["conversations"]["edges"]]
    assert order == [f"to {p.viewer.user_id}" for p in reversed(providers)]
    assert (page["pageInfo"]["hasNextPage"], rest["conversations"]["pageInfo"]["hasNextPage"]) == (True, False)
    await sent(api, member, "back to the first", to=providers[0])
    top = (await api.gql(CONVERSATIONS, {"first": 1}, as_=member))["conversations"]["edges"][0]["node"]
    assert top["lastMessage"] == {"body": "back to the first"}


async def test_booking_events_post_system_messages(api: Api) -> None:
    w = await world(api)
    session = await request(w, at(1, 10))
    await ok(w, CONFIRM, {"sessionId": session["id"]}, w.provider)
    await ok(w, PROPOSE_NEW_TIME, {"sessionId": session["id"], "startsAt": at(2, 11)}, w.member)
    view = (await api.gql(SESSION_CHAT, {"id": session["id"]}, as_=w.provider))["session"]["conversation"]
    assert [e["node"] for e in view["messages"]["edges"]] == [
        {"body": body, "sender": None, "session": {"id": session["id"]}} for body in (
            "Session requested for Tue 24 Nov 11:00 (Europe/Berlin) / Tue 24 Nov 10:00 (Europe/London)",
            "Session confirmed for Tue 24 Nov 11:00 (Europe/Berlin) / Tue 24 Nov 10:00 (Europe/London)",
            "New time proposed: Wed 25 Nov 12:00 (Europe/Berlin) / Wed 25 Nov 11:00 (Europe/London) "
            "(was Tue 24 Nov 11:00 (Europe/Berlin) / Tue 24 Nov 10:00 (Europe/London))")]
    assert view["unreadCount"] == 3
    await sent(api, w.provider, "Works for me", conversation=view["id"])
    member_view = (await api.gql(SESSION_CHAT, {"id": session["id"]}, as_=w.member))["session"]["conversation"]
    assert (member_view["id"], member_view["unreadCount"]) == (view["id"], 4)
    async with api.deps.sessions() as db:
        rows = list((await db.scalars(select(m.OutboxEvent).order_by(m.OutboxEvent.id))).all())
    booked = [row for row in rows if row.payload["message_ids"] and row.payload["timeline_ids"]]
    assert [len(row.payload["message_ids"]) for row in booked] == [1, 1, 1]
    assert all(f"conversation:{key_of(view['id'])}" in row.channels for row in booked)
