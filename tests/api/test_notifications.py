"""In-app notifications: the viewer's own, newest first, unread filter, marking read, someone else's ids."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import update

from sessions_gql.api import ids
from sessions_gql.api.cursors import encode_cursor
from sessions_gql.db import models as m
from tests.api.lifecycle_helpers import at, request, world
from tests.harness.app import START, Api, Person

NOTIFICATIONS = """query($first: Int, $after: String, $unreadOnly: Boolean) {
  notifications(first: $first, after: $after, unreadOnly: $unreadOnly) {
    edges { node { id kind title body readAt createdAt session { id } } }
    pageInfo { hasNextPage hasPreviousPage endCursor } } }"""
MARK = """mutation($upTo: ID) { markNotificationsRead(upTo: $upTo) { __typename
  ... on ReadSuccess { unread } ... on BasicError { code field } } }"""
SEND = """mutation($input: SendMessageInput!) { sendMessage(input: $input) { __typename } }"""
NODE = "query($id: ID!) { node(id: $id) { id ... on Notification { kind cursor } } }"
UNREAD = "{ viewer { unreadNotifications } }"
NOW = START.isoformat()


async def listed(api: Api, who: Person, **variables: Any) -> dict[str, Any]:
    return (await api.gql(NOTIFICATIONS, variables, as_=who))["notifications"]  # type: ignore[no-any-return]


def kinds(page: dict[str, Any]) -> list[str]:
    return [edge["node"]["kind"] for edge in page["edges"]]


async def message(api: Api, sender: Person, to: Person, body: str) -> None:
    data = await api.gql(SEND, {"input": {"recipientId": to.gid, "body": body, "clientMessageId": body}}, as_=sender)
    assert data == {"sendMessage": {"__typename": "MessageSuccess"}}


async def test_a_message_notifies_only_its_recipient(api: Api) -> None:
    member, provider = await api.member("Sam Member"), await api.provider("Dr Lane")
    await message(api, member, provider, "Hello there")
    (edge,) = (await listed(api, provider))["edges"]
    assert ids.split(edge["node"].pop("id"))[0] == "Notification"
    assert edge["node"] == {"kind": "MESSAGE_RECEIVED", "title": "New message", "body": "Sam Member: Hello there",
                            "readAt": None, "createdAt": NOW, "session": None}
    assert await listed(api, member) == {"edges": [], "pageInfo": {"hasNextPage": False, "hasPreviousPage": False,
                                                                   "endCursor": None}}


async def test_newest_first_pages_unread_only_and_mark_read(api: Api) -> None:
    w = await world(api)
    session = await request(w, at(1, 10))
    await message(api, w.member, w.provider, "first")
    await message(api, w.member, w.provider, "second")
    page = await listed(api, w.provider, first=2)
    assert (kinds(page), [e["node"]["body"] for e in page["edges"]], page["pageInfo"]["hasNextPage"]) == (
        ["MESSAGE_RECEIVED", "MESSAGE_RECEIVED"], ["Sam Member: second", "Sam Member: first"], True)
    rest = await listed(api, w.provider, first=2, after=page["pageInfo"]["endCursor"])
    requested = rest["edges"][0]["node"]
    assert (kinds(rest), requested["session"], rest["pageInfo"]) == (
        ["SESSION_REQUESTED"], {"id": session["id"]},
        {"hasNextPage": False, "hasPreviousPage": True, "endCursor": rest["pageInfo"]["endCursor"]})
    assert await api.gql(UNREAD, as_=w.provider) == {"viewer": {"unreadNotifications": 3}}
    api.deps.clock.advance(timedelta(minutes=5))
    marked = await api.gql(MARK, {"upTo": requested["id"]}, as_=w.provider)
    assert marked == {"markNotificationsRead": {"__typename": "ReadSuccess", "unread": 2}}
    assert kinds(await listed(api, w.provider, unreadOnly=True)) == ["MESSAGE_RECEIVED", "MESSAGE_RECEIVED"]
    assert [e["node"]["readAt"] for e in (await listed(api, w.provider))["edges"]] == [
        None, None, api.deps.clock.now().isoformat()]
    assert await api.gql(MARK, {}, as_=w.provider) == {"markNotificationsRead": {"__typename": "ReadSuccess",
                                                                                "unread": 0}}
    assert (await listed(api, w.provider, unreadOnly=True))["edges"] == []
    assert await api.gql(UNREAD, as_=w.provider) == {"viewer": {"unreadNotifications": 0}}


async def test_someone_elses_notification_is_not_found(api: Api) -> None:
    member, provider = await api.member("Sam Member"), await api.provider("Dr Lane")
    await message(api, member, provider, "Hello")
    theirs = (await listed(api, provider))["edges"][0]["node"]["id"]
    stranger = await api.member("Stranger")
    assert await api.gql(MARK, {"upTo": theirs}, as_=stranger) == {"markNotificationsRead": {
        "__typename": "BasicError", "code": "NOT_FOUND", "field": "upTo"}}
    assert await api.gql(MARK, {"upTo": ids.encode("Notification", 999_999)}, as_=provider) == {
        "markNotificationsRead": {"__typename": "BasicError", "code": "NOT_FOUND", "field": "upTo"}}
    assert await api.gql(NODE, {"id": theirs}, as_=stranger) == {"node": None}
    assert await api.gql(UNREAD, as_=provider) == {"viewer": {"unreadNotifications": 1}}
    body = await api.post(MARK, {"upTo": "not-an-id"}, token=provider.token)
    assert body["data"]["markNotificationsRead"] == {"__typename": "BasicError", "code": "VALIDATION", "field": "upTo"}


async def test_notification_cursor_is_the_relay_position_once_sequenced(api: Api) -> None:
    member, provider = await api.member("Sam Member"), await api.provider("Dr Lane")
    await message(api, member, provider, "Hello")
    theirs = (await listed(api, provider))["edges"][0]["node"]["id"]
    key = int(ids.split(theirs)[1])
    async with api.deps.sessions() as db, db.begin():
        await db.execute(update(m.Notification).values(position=None))
    assert await api.gql(NODE, {"id": theirs}, as_=provider) == {"node": {
        "id": theirs, "kind": "MESSAGE_RECEIVED", "cursor": encode_cursor(f"i{key}")}}
    async with api.deps.sessions() as db, db.begin():
        await db.execute(update(m.Notification).values(position=7))
    assert (await api.gql(NODE, {"id": theirs}, as_=provider))["node"]["cursor"] == encode_cursor(7)
