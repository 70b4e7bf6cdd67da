"""The read path (readpath/) against the resolvers: the same JSON for every selection it compiles, as every role.

The whole suite runs with SESSIONS_GQL_READ_PATH=verify (tests/harness/app.py), so every query document of the
API tests that compiles is answered both ways and compared. Here, selections generated from the read path's own
handlers cover every field it compiles, through every relation, over sessions in every state, as members,
providers and an admin, and a planted defect shows that a difference fails.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from graphql import GraphQLInterfaceType, GraphQLList, GraphQLNonNull, GraphQLObjectType, GraphQLSchema

from sessions_gql.api.schema import build_schema
from sessions_gql.readpath.compiler import HANDLERS
from sessions_gql.readpath.plans import ReadPath
from sessions_gql.readpath.roots import BY_ID, CONNECTIONS
from sessions_gql.readpath.sql import const
from tests.api.lifecycle_helpers import (
    CANCEL,
    DECLINE,
    PROPOSE_NEW_TIME,
    World,
    at,
    book,
    ok,
    request,
    world,
)
from tests.harness.app import Api, FrozenClock, running_api, settings_for

pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
SEND = """mutation($input: SendMessageInput!) { sendMessage(input: $input) { __typename } }"""
ARGUMENTS = {("Query", "sessions"): "(first: 50)", ("Query", "session"): "(id: $id)",
             ("Query", "member"): "(id: $member)", ("Query", "provider"): "(id: $provider)",
             ("Query", "conversation"): "(id: $conversation)", ("Query", "conversations"): "(first: 50)",
             ("Member", "sessions"): "(first: 4)", ("Provider", "sessions"): "(first: 4)",
             ("Conversation", "messages"): "(last: 10)", ("Query", "node"): "(id: $id)"}
DEPTH = 6


def _named(type_: Any) -> Any:
    while isinstance(type_, GraphQLNonNull | GraphQLList):
        type_ = type_.of_type
    return type_


def selection(schema: GraphQLSchema, type_: GraphQLObjectType, depth: int) -> str:
    """Every field of `type_` the read path has a handler for, and theirs below, `depth` levels deep."""
    parts = ["__typename"]
    compiled = {*HANDLERS.get(type_.name, {}), *CONNECTIONS.get(type_.name, ())}
    for name, field in type_.fields.items():
        needs_arguments = any(isinstance(arg.type, GraphQLNonNull) for arg in field.args.values())
        if name not in compiled or (needs_arguments and (type_.name, name) not in ARGUMENTS):
            continue
        named = _named(field.type)
        arguments = ARGUMENTS.get((type_.name, name), "")
        if isinstance(named, GraphQLInterfaceType):  # node(id:): a fragment per type it compiles, less deep
            fragments = " ".join(f"... on {each.name} {{ {selection(schema, each, min(depth - 1, 2))} }}"
                                 for each in schema.get_possible_types(named) if each.name in BY_ID)
            parts.append(f"{name}{arguments} {{ __typename id {fragments} }}")
        elif isinstance(named, GraphQLObjectType):
            if depth == 0:
                continue
            parts.append(f"{name}{arguments} {{ {selection(schema, named, depth - 1)} }}")
        else:
            parts.append(name + arguments)
    return " ".join(parts)


def everything(schema: GraphQLSchema) -> str:
    query = schema.query_type
    assert query is not None
    return (f"query($id: ID!, $member: ID!, $provider: ID!, $conversation: ID!) "
            f"{{ {selection(schema, query, DEPTH)} }}")


async def _story(api: Api) -> tuple[World, dict[str, str]]:
    """Sessions in every state the views tell apart, a second member, messages both ways and a system one."""
    w = await world(api)
    other = await api.member("Olu Other", credits=200)
    confirmed = await book(w, at(24, 10))
    awaiting = await request(w, at(24, 12))
    declined = await request(w, at(25, 9))
    await ok(w, DECLINE, {"sessionId": declined["id"], "reason": "NOT_AVAILABLE", "note": "away"}, w.provider)
    cancelled = await book(w, at(25, 11))
    await ok(w, CANCEL, {"sessionId": cancelled["id"], "reason": "SCHEDULE_CONFLICT", "note": "sorry"}, w.member)
    moving = await book(w, at(24, 14))
    await ok(w, PROPOSE_NEW_TIME, {"sessionId": moving["id"], "startsAt": at(24, 16)}, w.member)
    others = await request(w, at(25, 14), member=other)
    await api.gql(SEND, {"input": {"recipientId": w.member.gid, "body": "See you then", "clientMessageId": "p1"}},
                  as_=w.provider)
    return w, {"confirmed": confirmed["id"], "awaiting": awaiting["id"], "declined": declined["id"],
               "cancelled": cancelled["id"], "moving": moving["id"], "others": others["id"],
               "other_member": other.gid}


def _read_path(api: Api) -> ReadPath:
    found = api.deps.read_path
    assert isinstance(found, ReadPath)
    return found


async def test_every_compiled_field_answers_like_the_resolvers_for_every_role(api: Api) -> None:
    w, made = await _story(api)
    schema = build_schema(api.deps.settings)._schema
    document = everything(schema)
    other_provider = await api.provider("Ola Other")
    viewers = {"member": w.member, "provider": w.provider, "admin": await api.admin(),
               "other provider": other_provider}
    conversation = (await api.gql("{ conversations { edges { node { id } } } }", as_=w.member)
                    )["conversations"]["edges"][0]["node"]["id"]
    members = {"confirmed": w.member.gid, "cancelled": made["other_member"], "moving": w.member.gid,
               "others": made["other_member"]}
    providers = {"confirmed": w.provider.gid, "cancelled": other_provider.gid, "moving": w.provider.gid,
                 "others": w.provider.gid}
    answers = {}
    for label, viewer in viewers.items():
        for session in ("confirmed", "cancelled", "moving", "others"):
            variables = {"id": made[session], "member": members[session], "provider": providers[session],
                         "conversation": conversation}
            data = await api.gql(document, variables, as_=viewer)  # verify mode: a difference fails
            answers[(label, session)] = data
    path = _read_path(api)
    assert (path.failed, path.refused) == (0, 0)
    # a plan per viewer shape (both providers share one) and set of variables, and the conversation lookup's: none
    # fell back
    assert path.compiled == 3 * 4 + 1
    assert path.answered == len(viewers) * 4 + 1
    member_view = answers[("member", "cancelled")]
    statuses = sorted(edge["node"]["status"] for edge in member_view["sessions"]["edges"])
    assert statuses == ["AWAITING_APPROVAL", "CANCELLED", "CONFIRMED", "DECLINED", "RESCHEDULING"]
    assert member_view["session"]["cancellation"] == {"__typename": "Cancellation", "by": "MEMBER",
                                                      "reason": "SCHEDULE_CONFLICT", "note": "sorry",
                                                      "at": "2026-11-23T08:00:00+00:00", "late": False}
    assert member_view["session"]["providerEarnings"] is None
    assert answers[("provider", "cancelled")]["session"]["providerEarnings"] is not None
    assert answers[("provider", "others")]["session"]["member"]["displayName"] == "Olu Other"
    assert answers[("member", "others")]["session"] is None  # another member's session
    empty_page = {"__typename": "PageInfo", "hasNextPage": False, "hasPreviousPage": False, "startCursor": None,
                  "endCursor": None}
    stranger = answers[("other provider", "confirmed")]
    assert {key: stranger[key] for key in ("sessions", "session", "notifications", "member", "conversation",
                                           "conversations")} == {
        "sessions": {"__typename": "SessionConnection", "totalCount": 0, "edges": [], "pageInfo": empty_page},
        "session": None, "member": None, "conversation": None,
        "notifications": {"__typename": "NotificationConnection", "edges": [], "pageInfo": empty_page},
        "conversations": {"__typename": "ConversationConnection", "edges": [], "pageInfo": empty_page}}
    assert stranger["provider"]["sessions"]["edges"] == []  # a public profile; no session with this viewer
    assert stranger["provider"]["displayName"] == "Dr Lane"
    member_sees = answers[("member", "confirmed")]
    assert member_sees["member"]["sessions"]["totalCount"] == 5
    assert [edge["node"]["status"] for edge in member_sees["member"]["sessions"]["edges"]] == [
        "CONFIRMED", "AWAITING_APPROVAL", "RESCHEDULING", "DECLINED"]  # first 4, in time order
    assert member_sees["provider"]["sessions"]["pageInfo"]["hasNextPage"] is True
    assert [edge["node"]["body"] for edge in member_sees["conversation"]["messages"]["edges"]][-1] == "See you then"
    assert member_sees["conversations"]["edges"][0]["node"]["id"] == member_sees["conversation"]["id"]
    assert answers[("provider", "others")]["member"]["displayName"] == "Olu Other"  # shares a session
    assert answers[("member", "others")]["member"] is None  # another member
    assert answers[("member", "others")]["node"] is None  # another member's session, by node(id:) too
    node, session = answers[("provider", "moving")]["node"], answers[("provider", "moving")]["session"]
    assert (node["__typename"], node["id"], node["status"]) == ("Session", session["id"], "RESCHEDULING")
    kinds = [edge["node"]["kind"] for edge in answers[("provider", "others")]["notifications"]["edges"]]
    assert kinds == ["SESSION_REQUESTED", "NEW_TIME_PROPOSED", "SESSION_REQUESTED", "SESSION_CANCELLED",
                     *["SESSION_REQUESTED"] * 4]  # newest first
    cancelled = answers[("provider", "cancelled")]["session"]
    assert [edge["node"]["type"] for edge in cancelled["timeline"]["edges"]] == [
        "REQUESTED", "APPROVED_BY_MEMBER", "FUNDS_HELD", "APPROVED_BY_PROVIDER", "VIDEO_ROOM_CREATED",
        "CANCELLED_BY_MEMBER", "FUNDS_RETURNED", "VIDEO_ROOM_CANCELLED"]
    assert cancelled["lastEvent"]["type"] == "VIDEO_ROOM_CANCELLED"
    moving = answers[("provider", "moving")]["session"]
    assert (moving["status"], moving["awaitingResponseFrom"], moving["proposal"]["startsAt"]) == (
        "RESCHEDULING", "PROVIDER", "2026-12-17T16:00:00+00:00")
    last = moving["conversation"]["lastMessage"]
    assert (last["body"], last["sender"]["displayName"]) == ("See you then", "Dr Lane")
    assert answers[("admin", "others")]["sessions"]["totalCount"] == 6


async def test_pages_views_and_cursors_match_the_resolvers(api: Api) -> None:
    w, _made = await _story(api)
    page = """query($after: String, $filter: SessionFilter) { sessions(first: 2, after: $after, filter: $filter) {
      totalCount edges { cursor node { id startsAt } } pageInfo { hasNextPage hasPreviousPage startCursor
      endCursor } } }"""
    for viewer in (w.member, w.provider, await api.admin()):
        for view in (None, "UPCOMING", "PAST", "AWAITING_MY_RESPONSE", "AWAITING_THEIR_RESPONSE"):
            after, walked = None, []
            while True:
                data = (await api.gql(page, {"after": after, "filter": {"view": view} if view else None},
                                      as_=viewer))["sessions"]
                walked += [edge["node"]["id"] for edge in data["edges"]]
                if not data["pageInfo"]["hasNextPage"]:
                    break
                after = data["pageInfo"]["endCursor"]
            assert len(walked) == len(set(walked)) == data["totalCount"]
    notices = """query($after: String) { notifications(first: 3, after: $after) { edges { cursor node { id kind } }
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }"""
    timeline = """query($id: ID!, $after: String) { session(id: $id) { timeline(first: 3, after: $after) {
      edges { cursor node { type } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } } }"""
    after, kinds = None, []
    while True:
        page_of = (await api.gql(notices, {"after": after}, as_=w.provider))["notifications"]
        kinds += [edge["node"]["kind"] for edge in page_of["edges"]]
        if not page_of["pageInfo"]["hasNextPage"]:
            break
        after = page_of["pageInfo"]["endCursor"]
    assert len(kinds) == 8
    after, types = None, []
    while True:
        events = (await api.gql(timeline, {"id": _made["cancelled"], "after": after}, as_=w.member))["session"]
        types += [edge["node"]["type"] for edge in events["timeline"]["edges"]]
        if not events["timeline"]["pageInfo"]["hasNextPage"]:
            break
        after = events["timeline"]["pageInfo"]["endCursor"]
    assert types[-1] == "VIDEO_ROOM_CANCELLED" and len(types) == 8
    path = _read_path(api)
    assert path.failed == 0 and path.compiled > 0 and path.refused == 0


async def test_a_difference_from_the_resolvers_is_an_error(database_url: str, clock: FrozenClock,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """A planted defect (every session CONFIRMED) is caught by verify mode: the suite cannot pass over one."""
    monkeypatch.setitem(HANDLERS["Session"], "status", lambda _c, _row, _details: const("CONFIRMED"))
    async with running_api(settings_for(database_url), clock) as api:
        w = await world(api)
        await request(w, at(24, 12))
        answer = await api.post("{ sessions { edges { node { status } } } }", token=w.member.token)
    assert answer == {"data": None, "errors": [{"message": "the read path's answer differs from the resolvers'",
                                                "extensions": {"code": "READ_PATH_MISMATCH"}}]}


async def test_a_field_without_sql_takes_the_resolvers(api: Api) -> None:
    w, made = await _story(api)
    data = await api.gql("query($id: ID!) { session(id: $id) { status allowedActions } }",
                         {"id": made["awaiting"]}, as_=w.provider)
    assert data == {"session": {"status": "AWAITING_APPROVAL", "allowedActions": [
        "CONFIRM", "DECLINE", "PROPOSE_NEW_TIME", "ADD_NOTE", "SEND_MESSAGE"]}}
    path = _read_path(api)
    assert (path.refused, path.failed) == (1, 0)


@pytest.fixture
async def sql_api(database_url: str, clock: FrozenClock) -> AsyncIterator[Api]:
    async with running_api(settings_for(database_url, read_path="sql"), clock) as api:
        yield api


async def test_in_sql_mode_the_statement_alone_answers(sql_api: Api) -> None:
    w, made = await _story(sql_api)
    data = await sql_api.gql("query($id: ID!) { session(id: $id) { status member { displayName } } }",
                             {"id": made["confirmed"]}, as_=w.provider)
    assert data == {"session": {"status": "CONFIRMED", "member": {"displayName": "Sam Member"}}}
    path = _read_path(sql_api)
    assert (path.compiled, path.answered, path.failed) == (1, 1, 0)
