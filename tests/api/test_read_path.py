"""The read path (readpath/) against the resolvers: the same JSON for every selection it compiles, as every role.

The whole suite runs with SESSIONS_GQL_READ_PATH=verify (tests/harness/app.py), so every query document of the
API tests that compiles is answered both ways and compared. Here, selections generated from the read path's own
handlers cover every field it compiles, through every relation, over sessions in every state, as members,
providers and an admin, and a planted defect shows that a difference fails.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
from graphql import GraphQLInterfaceType, GraphQLList, GraphQLNonNull, GraphQLObjectType, GraphQLSchema
from sqlalchemy import Integer, Numeric, String, column, func, select, values

from sessions_gql.api.schema import build_schema
from sessions_gql.domain import credits
from sessions_gql.domain.enums import Funding
from sessions_gql.readpath import plans
from sessions_gql.readpath.compiler import HANDLERS
from sessions_gql.readpath.objects import expected_earnings, gross_of
from sessions_gql.readpath.plans import ReadPath
from sessions_gql.readpath.roots import BY_ID, CONNECTIONS
from sessions_gql.readpath.sql import const
from sessions_gql.services.people import people_queries
from tests.api.lifecycle_helpers import (
    CANCEL,
    DECLINE,
    END,
    PROPOSE,
    PROPOSE_NEW_TIME,
    REFUND,
    SAVE_SERVICE,
    START_SESSION,
    World,
    at,
    book,
    ok,
    request,
    when,
    world,
)
from tests.harness.app import START, Api, FrozenClock, running_api, settings_for

pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
SEND = """mutation($input: SendMessageInput!) { sendMessage(input: $input) { __typename
  ... on MessageSuccess { chatMessage { id conversation { id } } } } }"""
READ = """mutation($id: ID!, $upTo: ID) { markConversationRead(conversationId: $id, upTo: $upTo) { __typename } }"""
ARCHIVE = """mutation($id: ID!) { archiveService(id: $id) { __typename } }"""
ADD_NOTE = """mutation($input: AddNoteInput!) { addNote(input: $input) { __typename } }"""
PURCHASE = """mutation($input: PurchasePackageInput!) { purchasePackage(input: $input) { __typename
  ... on PackageSuccess { package { id } } } }"""
SERVICE = {"name": "Therapy", "skills": ["Anxiety"], "durationMinutes": 60, "priceCredits": 60, "fee": "50.00",
           "currency": "GBP", "modalities": ["VIDEO", "PHONE", "IN_PERSON"], "freeInitialConsultation": False}
OFFERS = [{"sessions": 3, "priceCredits": 100}, {"sessions": 2, "priceCredits": 110}]
ARGUMENTS = {("Query", "sessions"): "(first: 50)", ("Query", "session"): "(id: $id)",
             ("Provider", "earnings"): '(from: "2026-11-01T01:00:00+01:00", to: "2027-01-01T00:00:00Z")',
             ("Query", "member"): "(id: $member)", ("Query", "provider"): "(id: $provider)",
             ("Query", "conversation"): "(id: $conversation)", ("Query", "conversations"): "(first: 50)",
             ("Member", "sessions"): "(first: 4)", ("Provider", "sessions"): "(first: 4)",
             ("Conversation", "messages"): "(last: 10)", ("Query", "node"): "(id: $id)"}
DEPTH = 5  # 9,800 tokens, 1,464 bound values and a cost over the defaults: `wide_api` allows them


def _named(type_: Any) -> Any:
    while isinstance(type_, GraphQLNonNull | GraphQLList):
        type_ = type_.of_type
    return type_


def selection(schema: GraphQLSchema, type_: GraphQLObjectType, depth: int,
              path: frozenset[tuple[str, str]] = frozenset()) -> str:
    """Every field of `type_` the read path has a handler for, and theirs below, `depth` levels deep; a relation
    already taken on the way here is not taken again (a session's member's sessions' member ... would make the
    document grow past every limit, and adds no new nesting)."""
    parts = ["__typename"]
    compiled = {*HANDLERS.get(type_.name, {}), *CONNECTIONS.get(type_.name, ())}
    for name, field in type_.fields.items():
        needs_arguments = any(isinstance(arg.type, GraphQLNonNull) for arg in field.args.values())
        if name not in compiled or (needs_arguments and (type_.name, name) not in ARGUMENTS):
            continue
        named = _named(field.type)
        arguments = ARGUMENTS.get((type_.name, name), "")
        if isinstance(named, GraphQLInterfaceType):  # node(id:): a fragment per type it compiles, less deep
            fragments = " ".join(f"... on {each.name} {{ {selection(schema, each, min(depth - 1, 2), path)} }}"
                                 for each in schema.get_possible_types(named) if each.name in BY_ID)
            parts.append(f"{name}{arguments} {{ __typename id {fragments} }}")
        elif isinstance(named, GraphQLObjectType):
            relation = (type_.name, name)
            if depth == 0 or relation in path:
                continue
            parts.append(f"{name}{arguments} {{ {selection(schema, named, depth - 1, path | {relation})} }}")
        else:
            parts.append(name + arguments)
    return " ".join(parts)


def everything(schema: GraphQLSchema) -> str:
    query = schema.query_type
    assert query is not None
    return (f"query($id: ID!, $member: ID!, $provider: ID!, $conversation: ID!) "
            f"{{ {selection(schema, query, DEPTH)} }}")


async def _story(api: Api, clock: FrozenClock) -> tuple[World, dict[str, str]]:
    """Sessions in every state the views tell apart, a second member, messages both ways and a system one; and
    what tells the roles apart in the fields below: package offers, an archived service, sessions from a package,
    a free consultation and a partly refunded one, PHONE sessions with a member who asked and one who did not,
    unread messages on either side."""
    w = await world(api, credits=1000)
    other = await api.member("Olu Other", credits=200, phone="+44 20 7946 0001")
    pia = await api.member("Pia Phone", phone="+44 20 7946 0002")
    await api.gql(SAVE_SERVICE, {"input": {**SERVICE, "serviceId": w.service_id, "packages": OFFERS}}, as_=w.provider)
    old = await api.gql(SAVE_SERVICE, {"input": {**SERVICE, "name": "Old therapy"}}, as_=w.provider)
    await api.gql(ARCHIVE, {"id": old["saveService"]["service"]["id"]}, as_=w.provider)
    intro = await api.gql(SAVE_SERVICE, {"input": {**SERVICE, "name": "Intro", "freeInitialConsultation": True}},
                          as_=w.provider)
    confirmed = await book(w, at(24, 10))
    awaiting = await request(w, at(24, 12))
    declined = await request(w, at(25, 9))
    await ok(w, DECLINE, {"sessionId": declined["id"], "reason": "NOT_AVAILABLE", "note": "away"}, w.provider)
    cancelled = await book(w, at(25, 11))
    await ok(w, CANCEL, {"sessionId": cancelled["id"], "reason": "SCHEDULE_CONFLICT", "note": "sorry"}, w.member)
    moving = await book(w, at(24, 14))
    await ok(w, PROPOSE_NEW_TIME, {"sessionId": moving["id"], "startsAt": at(24, 16)}, w.member)
    others = await request(w, at(25, 14), member=other)
    phoned = await request(w, at(28, 9), member=other, modality="PHONE")
    proposed = await ok(w, PROPOSE, {"memberId": pia.gid, "serviceId": w.service_id, "startsAt": at(28, 11),
                                     "durationMinutes": 60, "priceCredits": 60, "modality": "PHONE"}, w.provider)
    bought = await api.gql(PURCHASE, {"input": {"serviceId": w.service_id, "sessions": 3}}, as_=w.member)
    packaged = await book(w, at(28, 13), packageId=bought["purchasePackage"]["package"]["id"])
    free = await request(w, at(28, 15), serviceId=intro["saveService"]["service"]["id"])
    await api.gql(SEND, {"input": {"recipientId": w.member.gid, "body": "See you then", "clientMessageId": "p1"}},
                  as_=w.provider)
    for number in range(3):
        sent = await api.gql(SEND, {"input": {"recipientId": w.provider.gid, "body": f"Thanks {number}",
                                              "clientMessageId": f"m{number}"}}, as_=w.member)
        if number == 0:
            message = sent["sendMessage"]["chatMessage"]
    await api.gql(READ, {"id": message["conversation"]["id"], "upTo": message["id"]}, as_=w.provider)
    for note, author in ({"sessionId": confirmed["id"], "body": "first call"}, w.provider), (
            {"memberId": w.member.gid, "body": "prefers mornings"}, w.provider), (
            {"sessionId": confirmed["id"], "body": "checked the refund"}, await api.admin()):
        assert (await api.gql(ADD_NOTE, {"input": note}, as_=author))["addNote"]["__typename"] == "NoteSuccess"
    refunded = await book(w, at(1, 10))
    clock.set(when(1, 9, 55))
    await ok(w, START_SESSION, {"sessionId": refunded["id"]}, w.provider)
    clock.set(when(1, 11))
    await ok(w, END, {"sessionId": refunded["id"]}, w.provider)
    await ok(w, REFUND, {"sessionId": refunded["id"], "credits": 7}, w.provider)
    clock.set(START)  # back to where the other sessions were made: the requests wait for an answer still
    return w, {"confirmed": confirmed["id"], "awaiting": awaiting["id"], "declined": declined["id"],
               "cancelled": cancelled["id"], "moving": moving["id"], "others": others["id"],
               "other_member": other.gid, "phoned": phoned["id"], "proposed": proposed["id"],
               "packaged": packaged["id"], "free": free["id"], "refunded": refunded["id"]}


def _read_path(api: Api) -> ReadPath:
    found = api.deps.read_path
    assert isinstance(found, ReadPath)
    return found


@pytest.fixture
async def wide_api(database_url: str, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Api]:
    """The API with room for the generated document: more tokens, a higher cost and more bound values than a
    client may send."""
    monkeypatch.setattr(plans, "MAX_PARAMETERS", 2_000)
    async with running_api(settings_for(database_url, max_tokens=20_000, max_query_cost=500_000), clock) as api:
        yield api


async def test_every_compiled_field_answers_like_the_resolvers_for_every_role(wide_api: Api, clock: FrozenClock
                                                                               ) -> None:
    api = wide_api
    w, made = await _story(api, clock)
    schema = build_schema(api.deps.settings)._schema
    document = everything(schema)
    other_provider = await api.provider("Ola Other")  # sells the member a package, shares no session
    theirs = await api.gql(SAVE_SERVICE, {"input": {**SERVICE, "name": "Coaching", "packages": OFFERS[:1]}},
                           as_=other_provider)
    await api.gql(PURCHASE, {"input": {"serviceId": theirs["saveService"]["service"]["id"], "sessions": 3}},
                  as_=w.member)
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
    assert statuses == ["AWAITING_APPROVAL", "AWAITING_APPROVAL", "CANCELLED", "COMPLETED", "CONFIRMED",
                        "CONFIRMED", "DECLINED", "RESCHEDULING"]
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
    assert {key: stranger[key] for key in ("sessions", "session", "notifications", "conversation",
                                           "conversations")} == {
        "sessions": {"__typename": "SessionConnection", "totalCount": 0, "edges": [], "pageInfo": empty_page},
        "session": None, "conversation": None,
        "notifications": {"__typename": "NotificationConnection", "edges": [], "pageInfo": empty_page},
        "conversations": {"__typename": "ConversationConnection", "edges": [], "pageInfo": empty_page}}
    # no session with the member, but a package sold to them: their profile is visible (`can_see_member`)
    assert (stranger["member"]["displayName"], stranger["member"]["sessions"]["edges"]) == ("Sam Member", [])
    assert stranger["provider"]["sessions"]["edges"] == []  # a public profile; no session with this viewer
    assert stranger["provider"]["displayName"] == "Dr Lane"
    member_sees = answers[("member", "confirmed")]
    own = member_sees["sessions"]  # a member's `sessions` are their own: Member.sessions of themself lists the same
    assert member_sees["member"]["sessions"]["totalCount"] == own["totalCount"] == 8
    assert [edge["node"]["id"] for edge in member_sees["member"]["sessions"]["edges"]] == [
        edge["node"]["id"] for edge in own["edges"][:4]]  # the first 4, in time order
    assert member_sees["provider"]["sessions"]["pageInfo"]["hasNextPage"] is True
    shown = member_sees["conversation"]["messages"]
    assert shown["edges"][-1]["node"]["id"] == member_sees["conversation"]["lastMessage"]["id"]  # oldest first
    assert "See you then" in [edge["node"]["body"] for edge in shown["edges"]]
    assert member_sees["conversations"]["edges"][0]["node"]["id"] == member_sees["conversation"]["id"]
    assert answers[("provider", "others")]["member"]["displayName"] == "Olu Other"  # shares a session
    assert answers[("member", "others")]["member"] is None  # another member
    assert answers[("member", "others")]["node"] is None  # another member's session, by node(id:) too
    node, session = answers[("provider", "moving")]["node"], answers[("provider", "moving")]["session"]
    assert (node["__typename"], node["id"], node["status"]) == ("Session", session["id"], "RESCHEDULING")
    kinds = [edge["node"]["kind"] for edge in answers[("provider", "others")]["notifications"]["edges"]]
    assert kinds == ["SESSION_REQUESTED", *["MESSAGE_RECEIVED"] * 3, *["SESSION_REQUESTED"] * 4, "NEW_TIME_PROPOSED",
                     "SESSION_REQUESTED", "SESSION_CANCELLED", *["SESSION_REQUESTED"] * 4]  # newest first
    cancelled = answers[("provider", "cancelled")]["session"]
    assert [edge["node"]["type"] for edge in cancelled["timeline"]["edges"]] == [
        "REQUESTED", "APPROVED_BY_MEMBER", "FUNDS_HELD", "APPROVED_BY_PROVIDER", "VIDEO_ROOM_CREATED",
        "CANCELLED_BY_MEMBER", "FUNDS_RETURNED", "VIDEO_ROOM_CANCELLED"]
    assert cancelled["lastEvent"]["type"] == "VIDEO_ROOM_CANCELLED"
    assert cancelled["lastEvent"]["session"]["id"] == made["cancelled"]
    assert [edge["node"]["session"]["id"] for edge in cancelled["timeline"]["edges"]] == [made["cancelled"]] * 8
    moving = answers[("provider", "moving")]["session"]
    assert (moving["status"], moving["awaitingResponseFrom"], moving["proposal"]["startsAt"]) == (
        "RESCHEDULING", "PROVIDER", "2026-12-17T16:00:00+00:00")
    assert answers[("admin", "others")]["sessions"]["totalCount"] == 11
    _the_fields_below_tell_the_roles_apart(answers, made)


def _the_fields_below_tell_the_roles_apart(answers: dict[tuple[str, str], Any], made: dict[str, str]) -> None:
    """What the story set up for each field is there, and differs between the roles as the rules say."""
    labels = ("member", "provider", "admin")
    lists = [{edge["node"]["id"]: edge["node"] for edge in answers[(label, "confirmed")]["sessions"]["edges"]}
             for label in labels]
    mine, theirs, admins = (answers[(label, "confirmed")]["session"] for label in labels)

    def earned(view: dict[str, Any], name: str) -> str | None:
        money = view[made[name]]["expectedEarnings"]
        return None if money is None else money["amount"]

    names = ("confirmed", "refunded", "packaged", "free", "proposed")  # the member's own, then Pia's
    assert [earned(lists[0], name) for name in names[:-1]] == [None] * 4
    assert [[earned(view, name) for name in names] for view in lists[1:]] == [
        ["45.00", "39.75", "24.75", "0.00", None]] * 2
    # 53 of 60 credits kept; a package place's fee; a free consultation; not yet funded
    assert [[view[made[name]]["phoneNumber"] for name in ("confirmed", "phoned", "proposed")] for view in lists[1:]
            ] == [[None, "+44 20 7946 0001", None], [None, "+44 20 7946 0001", "+44 20 7946 0002"]]
    # a VIDEO session; Olu asked for one; Pia never asked for or agreed to a session with the provider
    assert {view["phoneNumber"] for view in lists[0].values()} == {None}
    assert [view[made["packaged"]]["package"]["sessionsTotal"] for view in lists] == [3, 3, 3]
    assert {view[made["confirmed"]]["package"] for view in lists} == {None}

    def services(view: dict[str, Any]) -> list[tuple[str, bool, list[tuple[int, int]]]]:
        return [(service["name"], service["archived"], [(offer["sessions"], offer["priceCredits"])
                                                        for offer in service["packages"]])
                for service in view["provider"]["services"]]

    offered = ("Therapy", False, [(2, 110), (3, 100)])
    assert services(theirs) == services(admins) == [offered, ("Old therapy", True, []), ("Intro", False, [])]
    assert services(mine) == [offered, ("Intro", False, [])]
    assert {view["provider"]["commissionRate"] for view in (mine, theirs, admins)} == {0.1}
    assert [view["conversation"]["unreadCount"] for view in (mine, theirs, admins)] == [18, 5, 0]
    # the provider read up to the member's first message; admins read on no side
    last = theirs["conversation"]["lastMessage"]
    assert (last["sender"], last["session"]["id"]) == (None, made["refunded"])  # the system's word on the refund
    assert last["conversation"]["id"] == theirs["conversation"]["id"]
    notices = answers[("provider", "confirmed")]["notifications"]["edges"]
    assert {edge["node"]["session"] is None for edge in notices} == {True, False}  # messages have no session
    feed = [view["provider"]["calendarFeedUrl"] for view in (mine, theirs, admins)]
    assert (feed[0], feed[1].startswith("http://") and feed[1].endswith(".ics"), feed[2]) == (None, True, None)
    assert [view["provider"]["earnings"] for view in (mine, theirs, admins)] == [None, *[{
        "__typename": "Earnings", "from": "2026-11-01T01:00:00+01:00", "to": "2027-01-01T00:00:00+00:00",
        "sessions": 1, **{key: {"__typename": "Money", "amount": amount, "currency": "GBP"} for key, amount in (
            ("gross", "44.17"), ("commission", "4.42"), ("net", "39.75"))}}] * 2]  # 53/60 of 50.00, 10 % of it
    assert [[note["body"] for note in view["privateNotes"]] for view in (mine, theirs, admins)] == [
        [], ["first call", "checked the refund"], ["first call", "checked the refund"]]
    assert [[note["body"] for note in view["member"]["privateNotes"]] for view in (mine, theirs, admins)] == [
        [], ["first call", "prefers mornings", "checked the refund"],
        ["first call", "prefers mornings", "checked the refund"]]
    assert [[package["provider"]["displayName"] for package in view["member"]["packages"]]
            for view in (mine, theirs, admins)] == [["Dr Lane", "Ola Other"], ["Dr Lane"], ["Dr Lane", "Ola Other"]]
    assert [view["member"]["wallet"] is not None for view in (mine, theirs, admins)] == [True, False, True]
    for view in (mine, theirs, admins):
        assert (view["member"]["user"]["member"]["id"], view["provider"]["user"]["provider"]["id"],
                view["member"]["user"]["provider"]) == (view["member"]["id"], view["provider"]["id"], None)


async def test_pages_views_and_cursors_match_the_resolvers(api: Api, clock: FrozenClock) -> None:
    w, _made = await _story(api, clock)
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
    assert len(kinds) == 15
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


HARD_EARNINGS = [("180.84", "0.1250", 3, 2), ("236.70", "0.0500", 3, 2), ("386.80", "0.1250", 70, 51),
                 ("239.13", "0.1250", 9, 5), ("237.05", "0.1000", 11, 6), ("23.16", "0.1250", 6, 4),
                 ("9999999999.99", "0.0001", 2147483647, 1), ("0.01", "0.9999", 1073741824, 536870911),
                 ("50.00", "0.1000", 60, 7), ("50.00", "0.1000", 60, 60), ("50.00", "0.1000", 60, 61),
                 ("0.00", "0.1000", 60, 1), ("50.00", "1.0000", 3, 1), ("50.00", "0.0000", 7, 1)]
"""Values where the exact result rounded half up to cents is not what Python's decimal context gives (52.74 where
the exact result is 52.745: the share not refunded is rounded to 28 digits first), found by searching; the
largest integers; full and over-full refunds; no fee, no commission, all commission."""


def _half_cents() -> list[tuple[Decimal, Decimal, int, int]]:
    """(fee, commission rate, price, refunded) whose exact expected earnings end in half a cent, with shares that
    no decimal writes exactly: which way they round is decided by the digits the share was rounded to."""
    found = []
    for price in (3, 7, 9, 11, 13, 17, 19, 21, 23, 27, 49, 97, 999):
        for kept in (kept for kept in (1, 2, 3, 4, 5, 8, 25) if kept < price):
            for odd in (1, 3, 7, 9, 21, 99):  # fee in cents * 10,000 (1 - rate) * kept = 5,000 * price * odd
                product, rest = divmod(5000 * price * odd, kept)
                for share in (price * times for times in (1, 2, 4, 5, 8, 10) if price * times <= 10000):
                    if rest == 0 and product % share == 0:
                        found.append((Decimal(product // share) / 100, (10000 - Decimal(share)) / 10000, price,
                                      price - kept))
    return found


async def test_amounts_in_sql_are_pythons_decimal_arithmetic(api: Api) -> None:
    """`readpath.objects.expected_earnings` against `credits.expected_earnings` and `objects.gross_of` against
    `people_queries.gross_of`, every funding, over the values above, the half cents, small fees over small prices
    (half cents to round to even) and a few thousand random ones."""
    generator = random.Random(12)
    cases = [(Funding.CREDITS, Decimal(fee), Decimal(rate), price, refunded)
             for fee, rate, price, refunded in HARD_EARNINGS]
    cases += [(Funding.PACKAGE, *case) for case in _half_cents()]
    for _ in range(3000):
        price = generator.choice([1, 2, 3, 6, 7, 9, 11, 12, 13, 30, 60, 90, 97, generator.randint(1, 10**6)])
        cases.append((generator.choice([*Funding, None]), Decimal(generator.randint(0, 10**7)) / 100,
                      Decimal(generator.randint(0, 10**4)) / 10**4, price, generator.randint(0, price)))
    for _ in range(1000):
        price = generator.randint(1, 16)
        cases.append((Funding.CREDITS, Decimal(generator.randint(0, 100)) / 100, Decimal("0.1000"), price,
                      generator.randint(0, price)))
    found = []
    async with api.deps.engine.connect() as connection:
        for first in range(0, len(cases), 2000):  # within asyncpg's 32,767 bound values
            rows = values(column("n", Integer), column("funding", String), column("fee", Numeric(12, 2)),
                          column("rate", Numeric(5, 4)), column("price", Integer), column("refunded", Integer),
                          name="cases").data([(index, funding.name if funding else None, fee, rate, price, refunded)
                                              for index, (funding, fee, rate, price, refunded)
                                              in enumerate(cases[first:first + 2000], start=first)])
            earned = expected_earnings(funding=rows.c.funding, fee=rows.c.fee, commission_rate=rows.c.rate,
                                       price_credits=rows.c.price, refunded=rows.c.refunded)
            gross = gross_of(rows.c.fee, captured=rows.c.price,
                             refunded=func.least(rows.c.refunded, rows.c.price))
            found += (await connection.execute(select(rows.c.n, earned, gross).order_by(rows.c.n))).all()
    assert len(found) == len(cases) > 6000
    assert [row[1] for row in found] == [
        credits.expected_earnings(funding=funding, fee=fee, commission_rate=rate, price_credits=price,
                                  refunded=refunded) for funding, fee, rate, price, refunded in cases]
    assert [row[2] for row in found] == [people_queries.gross_of(fee, captured=price, refunded=min(refunded, price))
                                         for _funding, fee, _rate, price, refunded in cases]


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


async def test_a_field_without_sql_takes_the_resolvers(api: Api, clock: FrozenClock) -> None:
    w, made = await _story(api, clock)
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


async def test_in_sql_mode_the_statement_alone_answers(sql_api: Api, clock: FrozenClock) -> None:
    w, made = await _story(sql_api, clock)
    data = await sql_api.gql("query($id: ID!) { session(id: $id) { status member { displayName } } }",
                             {"id": made["confirmed"]}, as_=w.provider)
    assert data == {"session": {"status": "CONFIRMED", "member": {"displayName": "Sam Member"}}}
    path = _read_path(sql_api)
    assert (path.compiled, path.answered, path.failed) == (1, 1, 0)
