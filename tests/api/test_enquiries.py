"""Enquiries before booking (seeds 002, 003; DOMAIN "Messaging"): a member writes first to an active provider, the
provider reads and answers in that conversation, live too; opening a conversation stays limited to members the
provider shares a session with, and an enquiry shows the provider the member's name and time zone, no more."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from gql import Client
from gql.transport.exceptions import TransportQueryError
from sqlalchemy import update

from sessions_gql.db import models as m
from tests.api.factories import count_rows
from tests.api.lifecycle_helpers import World, at, request, world
from tests.harness.app import Api, Person
from tests.harness.live import LiveServer
from tests.live.test_chat_and_notifications import CHAT, start
from tests.live.test_session_events import transport

SEND = """mutation($input: SendMessageInput!) { sendMessage(input: $input) { __typename
  ... on MessageSuccess { chatMessage { body sender { displayName } conversation { id } } }
  ... on BasicError { code message field } } }"""
MEMBER_VIEW = """id displayName timeZone country email phone wallet { availableCredits } sponsorships { sponsor }
  sponsoredHoursRemaining privateNotes { body } sessions { totalCount }
  user { displayName timeZone email member { id } }"""
CONVERSATION = f"""query($id: ID!) {{ conversation(id: $id) {{ id unreadCount member {{ {MEMBER_VIEW} }}
  provider {{ displayName }} messages {{ edges {{ node {{ body sender {{ displayName }} }} }} }} }} }}"""
CONVERSATIONS = "{ conversations { edges { node { id unreadCount lastMessage { body } member { displayName } } } } }"
READ = """mutation($id: ID!) { markConversationRead(conversationId: $id) { __typename
  ... on ReadSuccess { unread } ... on BasicError { code field } } }"""
NOTIFICATIONS = "{ notifications(first: 20) { edges { node { kind title body } } } }"
SPONSOR = """mutation($input: GrantSponsorshipInput!) { grantSponsorship(input: $input) { __typename } }"""
MEMBER = f"query($id: ID!) {{ member(id: $id) {{ {MEMBER_VIEW} }} }}"


async def send(api: Api, who: Person, body: str, client_id: str, **address: str) -> dict[str, Any]:
    input = {"body": body, "clientMessageId": client_id, **address}
    return (await api.gql(SEND, {"input": input}, as_=who))["sendMessage"]  # type: ignore[no-any-return]


async def sent(api: Api, who: Person, body: str, client_id: str, **address: str) -> dict[str, Any]:
    result = await send(api, who, body, client_id, **address)
    assert result["__typename"] == "MessageSuccess", result
    return result["chatMessage"]  # type: ignore[no-any-return]


async def enquirer(api: Api) -> World:
    """Dr Lane's world, and a member from Germany with sponsored hours and a phone, who has booked nothing."""
    w = await world(api)
    assert w.member.member_id is not None
    async with api.deps.sessions() as db, db.begin():
        await db.execute(update(m.Member).where(m.Member.id == w.member.member_id).values(country="DE"))
        await db.execute(update(m.User).where(m.User.id == w.member.viewer.user_id).values(phone="+49 30 1234567"))
    granted = await api.gql(SPONSOR, {"input": {"memberId": w.member.gid, "sponsor": "Acme", "hours": 2.0}},
                            as_=await api.admin())
    assert granted["grantSponsorship"]["__typename"] == "MemberSuccess"
    return w


def enquiring_member(w: World) -> dict[str, Any]:
    """What an enquiry shows the provider: the name and time zone, nothing a shared session would entitle."""
    return {"id": w.member.gid, "displayName": "Sam Member", "timeZone": "Europe/Berlin", "country": None,
            "email": None, "phone": None, "wallet": None, "sponsorships": [], "sponsoredHoursRemaining": 0.0,
            "privateNotes": [], "sessions": {"totalCount": 0},
            "user": {"displayName": "Sam Member", "timeZone": "Europe/Berlin", "email": None, "member": None}}


async def test_the_provider_reads_and_answers_an_enquiry_before_any_booking(api: Api) -> None:
    w = await enquirer(api)
    first = await sent(api, w.member, "Do you treat insomnia?", "q-1", recipientId=w.provider.gid)
    conversation = first["conversation"]["id"]
    assert await api.gql(CONVERSATIONS, as_=w.provider) == {"conversations": {"edges": [{"node": {
        "id": conversation, "unreadCount": 1, "lastMessage": {"body": "Do you treat insomnia?"},
        "member": {"displayName": "Sam Member"}}}]}}
    seen = (await api.gql(CONVERSATION, {"id": conversation}, as_=w.provider))["conversation"]
    assert seen == {"id": conversation, "unreadCount": 1, "member": enquiring_member(w),
                    "provider": {"displayName": "Dr Lane"},
                    "messages": {"edges": [{"node": {"body": "Do you treat insomnia?",
                                                     "sender": {"displayName": "Sam Member"}}}]}}
    assert await api.gql(MEMBER, {"id": w.member.gid}, as_=w.provider) == {"member": None}  # no profile by id
    answer = await sent(api, w.provider, "Yes, I do.", "a-1", conversationId=conversation)
    assert answer == {"body": "Yes, I do.", "sender": {"displayName": "Dr Lane"},
                      "conversation": {"id": conversation}}
    by_name = await sent(api, w.provider, "When would suit you?", "a-2", recipientId=w.member.gid)
    assert by_name["conversation"]["id"] == conversation  # the pair's conversation exists: answering, not opening
    assert (await api.gql(READ, {"id": conversation}, as_=w.provider))["markConversationRead"] == {
        "__typename": "ReadSuccess", "unread": 0}
    mine = (await api.gql(CONVERSATION, {"id": conversation}, as_=w.member))["conversation"]
    assert [(e["node"]["body"], e["node"]["sender"]["displayName"]) for e in mine["messages"]["edges"]] == [
        ("Do you treat insomnia?", "Sam Member"), ("Yes, I do.", "Dr Lane"), ("When would suit you?", "Dr Lane")]
    assert mine["unreadCount"] == 2
    told = (await api.gql(NOTIFICATIONS, as_=w.member))["notifications"]["edges"]
    assert [e["node"] for e in told] == [
        {"kind": "MESSAGE_RECEIVED", "title": "New message", "body": "Dr Lane: When would suit you?"},
        {"kind": "MESSAGE_RECEIVED", "title": "New message", "body": "Dr Lane: Yes, I do."}]
    assert (await count_rows(api.deps, m.Conversation), await count_rows(api.deps, m.Message)) == (1, 3)


async def test_sharing_a_session_shows_the_provider_the_member_details(api: Api) -> None:
    w = await enquirer(api)
    conversation = (await sent(api, w.member, "Hello", "q-1", recipientId=w.provider.gid))["conversation"]["id"]
    await request(w, at(1, 10))  # the member asks for a session: sponsored, one of the two hours held
    seen = (await api.gql(CONVERSATION, {"id": conversation}, as_=w.provider))["conversation"]["member"]
    email = seen["user"]["email"]
    assert email is not None and email.endswith("@member.test")
    assert seen == {**enquiring_member(w), "country": "DE", "email": email, "phone": "+49 30 1234567",
                    "sponsorships": [{"sponsor": "Acme"}], "sponsoredHoursRemaining": 1.0,
                    "sessions": {"totalCount": 1},
                    "user": {"displayName": "Sam Member", "timeZone": "Europe/Berlin", "email": email,
                             "member": {"id": w.member.gid}}}


async def test_opening_a_conversation_stays_limited_and_refusals_change_nothing(api: Api) -> None:
    w = await enquirer(api)
    stranger = await api.member("Quiet Member")
    other = await api.provider("Dr Other")
    conversation = (await sent(api, w.member, "Do you treat insomnia?", "q-1",
                               recipientId=w.provider.gid))["conversation"]["id"]
    before = (await count_rows(api.deps, m.Conversation), await count_rows(api.deps, m.Message),
              await count_rows(api.deps, m.Notification))
    opening = "providers open a conversation only with members they share a session with"
    assert await send(api, w.provider, "Hi", "o-1", recipientId=stranger.gid) == {
        "__typename": "BasicError", "code": "NOT_FOUND", "message": opening, "field": "recipientId"}
    assert await send(api, other, "I treat insomnia too", "o-2", recipientId=w.member.gid) == {
        "__typename": "BasicError", "code": "NOT_FOUND", "message": opening, "field": "recipientId"}
    assert await send(api, other, "Hello", "o-3", conversationId=conversation) == {
        "__typename": "BasicError", "code": "NOT_FOUND", "message": "no such conversation", "field": "conversationId"}
    assert await api.gql(CONVERSATION, {"id": conversation}, as_=other) == {"conversation": None}
    assert await api.gql(CONVERSATION, {"id": conversation}, as_=stranger) == {"conversation": None}
    assert (await api.gql(READ, {"id": conversation}, as_=other))["markConversationRead"] == {
        "__typename": "BasicError", "code": "NOT_FOUND", "field": "conversationId"}
    assert await api.gql(CONVERSATIONS, as_=other) == {"conversations": {"edges": []}}
    after = (await count_rows(api.deps, m.Conversation), await count_rows(api.deps, m.Message),
             await count_rows(api.deps, m.Notification))
    assert (after, after[:2]) == (before, (1, 1))
    unread = (await api.gql(CONVERSATION, {"id": conversation}, as_=w.provider))["conversation"]["unreadCount"]
    assert unread == 1


async def listen_once(live: LiveServer, who: Person, variables: dict[str, Any]) -> list[dict[str, Any]]:
    """The first conversation event `who` receives, or the refusal."""
    async with Client(transport=transport(live, who.token, "graphql-transport-ws")) as session:
        async for event in session.subscribe(CHAT, variable_values=variables):
            return [event["conversationEvents"]]
    return []


async def test_an_enquiry_streams_live_to_the_provider_and_the_answer_to_the_member(live: LiveServer) -> None:
    w = await enquirer(live.api)
    conversation = (await sent(live.api, w.member, "Do you treat insomnia?", "q-1",
                               recipientId=w.provider.gid))["conversation"]["id"]
    await live.settle()
    to_provider = await start(live, w.provider.token, CHAT, {"id": conversation}, 1)
    await sent(live.api, w.member, "I sleep four hours a night.", "q-2", conversationId=conversation)
    (enquiry,) = await asyncio.wait_for(to_provider, timeout=20)
    assert (enquiry["__typename"], enquiry["message"]["body"], enquiry["message"]["sender"]) == (
        "MessageAdded", "I sleep four hours a night.", {"displayName": "Sam Member"})
    everything = await start(live, w.member.token, CHAT, {}, 1)  # all of the member's conversations
    await sent(live.api, w.provider, "Yes, I can help.", "a-1", conversationId=conversation)
    (answer,) = await asyncio.wait_for(everything, timeout=20)
    assert (answer["__typename"], answer["message"]["body"], answer["message"]["sender"]) == (
        "MessageAdded", "Yes, I can help.", {"displayName": "Dr Lane"})
    other = await live.api.provider("Dr Other")
    with pytest.raises(TransportQueryError) as refused:
        await asyncio.wait_for(listen_once(live, other, {"id": conversation}), timeout=20)
    assert refused.value.errors is not None
    assert [(e["message"], e["extensions"]) for e in refused.value.errors] == [
        ("no such conversation", {"code": "NOT_FOUND", "field": "conversationId"})]
