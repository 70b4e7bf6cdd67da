"""`node(id:)` answers for every type that implements Node, with the visibility of the fields that reach it.

The list of types comes from the exported schema, so a Node type added without a loader (or without a case here)
fails the first test.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from graphql import GraphQLObjectType
from graphql import build_schema as parse_sdl

from sessions_gql.api import ids
from sessions_gql.api.nodes import NODE_LOADERS
from sessions_gql.api.schema import build_schema
from sessions_gql.domain.enums import Role
from tests.api.lifecycle_helpers import REQUEST, World, at, world
from tests.harness.app import Api, Person

NODE = "query($id: ID!) { node(id: $id) { __typename id } }"
CREATE_MEMBER = """mutation($input: CreateMemberInput!) {
  createMember(input: $input) { ... on MemberSuccess { member { id user { id } } } } }"""
CREATE_PROVIDER = """mutation($input: CreateProviderInput!) {
  createProvider(input: $input) { ... on ProviderSuccess { provider { id user { id } } } } }"""
DEACTIVATE = """mutation($id: ID!) { setProviderVisibility(visibility: DEACTIVATED, providerId: $id) {
  ... on ProviderSuccess { provider { visibility } } } }"""
SERVICE = """mutation($input: ServiceInput!) {
  saveService(input: $input) { ... on ServiceSuccess { service { id } } } }"""
GRANT = """mutation($input: GrantCreditsInput!) { grantCredits(input: $input) { __typename } }"""
OVERRIDE = """mutation($input: AddAvailabilityOverrideInput!) { addAvailabilityOverride(input: $input) {
  __typename } }"""
ADD_NOTE = """mutation($input: AddNoteInput!) { addNote(input: $input) { __typename } }"""
SEND = """mutation($input: SendMessageInput!) { sendMessage(input: $input) { __typename } }"""
PURCHASE = """mutation($input: PurchasePackageInput!) { purchasePackage(input: $input) {
  ... on PackageSuccess { package { id sessionsTotal } } } }"""


def node_types(api: Api) -> list[str]:
    """The object types of the exported schema whose interfaces include Node."""
    schema = parse_sdl(str(build_schema(api.deps.settings)))
    return sorted(name for name, kind in schema.type_map.items()
                  if isinstance(kind, GraphQLObjectType) and any(i.name == "Node" for i in kind.interfaces))


@dataclass
class Case:
    id: str
    allowed: Person
    denied: Person


@dataclass
class Nodes:
    """One booked session between a member and a provider, and one outsider of each kind."""

    api: Api
    w: World
    session_id: str
    olga: Person  # a member with no business with the provider
    quinn: Person  # a provider with no business with the member

    async def field(self, query: str, who: Person, *path: str | int) -> Any:
        found: Any = await self.api.gql(query, as_=who)
        for step in path:
            found = found[step]
        return found

    async def person(self, user_id: str, role: Role, member_id: str | None = None,
                     provider_id: str | None = None) -> Person:
        """A Person for a user made through the API (the token as `sessions-gql token` would mint it)."""
        from sessions_gql.auth.context import load_viewer

        viewer = await load_viewer(self.api.deps, ids.decode_uuid(user_id, "User"))
        assert viewer is not None
        return Person(viewer=viewer, token=self.api._token(viewer.user_id, role),
                      member_id=ids.decode_uuid(member_id, "Member") if member_id else None,
                      provider_id=ids.decode_uuid(provider_id, "Provider") if provider_id else None)


async def nodes_world(api: Api) -> Nodes:
    w = await world(api)
    booked = await w.run(REQUEST, {"providerId": w.provider.gid, "serviceId": w.service_id, "modality": "VIDEO",
                                   "startsAt": at(1, 10)}, w.member)
    assert booked["__typename"] == "SessionSuccess", booked
    return Nodes(api=api, w=w, session_id=booked["session"]["id"], olga=await api.member("Olga Outsider"),
                 quinn=await api.provider("Quinn Outsider"))


async def new_member(n: Nodes) -> Person:
    made = await n.api.gql(CREATE_MEMBER, {"input": {"email": f"m.{uuid.uuid4().hex[:8]}@nodes.test",
                                                     "displayName": "Nia New", "timeZone": "UTC"}},
                           as_=await n.api.admin())
    member = made["createMember"]["member"]
    return await n.person(member["user"]["id"], Role.MEMBER, member_id=member["id"])


async def deactivated_provider_with_a_service(n: Nodes) -> tuple[Person, str]:
    admin = await n.api.admin()
    made = await n.api.gql(CREATE_PROVIDER, {"input": {"email": f"p.{uuid.uuid4().hex[:8]}@nodes.test",
                                                       "displayName": "Dee Gone", "timeZone": "UTC"}}, as_=admin)
    provider = made["createProvider"]["provider"]
    dee = await n.person(provider["user"]["id"], Role.PROVIDER, provider_id=provider["id"])
    saved = await n.api.gql(SERVICE, {"input": {
        "name": "Coaching", "skills": ["career"], "durationMinutes": 60, "priceCredits": 10, "fee": "40.00",
        "currency": "EUR", "modalities": ["VIDEO"], "freeInitialConsultation": False}}, as_=dee)
    assert saved["saveService"]["service"]["id"]
    gone = await n.api.gql(DEACTIVATE, {"id": provider["id"]}, as_=admin)
    assert gone == {"setProviderVisibility": {"provider": {"visibility": "DEACTIVATED"}}}
    return dee, saved["saveService"]["service"]["id"]


async def user_case(n: Nodes) -> Case:
    nia = await new_member(n)
    return Case(await n.field("{ viewer { user { id } } }", nia, "viewer", "user", "id"), nia, n.quinn)


async def member_case(n: Nodes) -> Case:
    nia = await new_member(n)
    return Case(await n.field("{ viewer { member { id } } }", nia, "viewer", "member", "id"), nia, n.quinn)


async def provider_case(n: Nodes) -> Case:
    dee, _ = await deactivated_provider_with_a_service(n)
    return Case(await n.field("{ viewer { provider { id } } }", dee, "viewer", "provider", "id"), dee, n.olga)


async def service_case(n: Nodes) -> Case:
    dee, service_id = await deactivated_provider_with_a_service(n)
    found = await n.field("{ viewer { provider { services { id } } } }", dee, "viewer", "provider", "services", 0,
                          "id")
    assert found == service_id
    return Case(found, dee, n.olga)


async def ledger_entry_case(n: Nodes) -> Case:
    sam = n.w.member
    granted = await n.api.gql(GRANT, {"input": {"memberId": sam.gid, "credits": 5, "note": "welcome"}},
                              as_=await n.api.admin())
    assert granted == {"grantCredits": {"__typename": "MemberSuccess"}}
    query = "{ viewer { member { wallet { ledger(first: 1) { edges { node { id credits note } } } } } } }"
    entry = await n.field(query, sam, "viewer", "member", "wallet", "ledger", "edges", 0, "node")
    assert (entry["credits"], entry["note"]) == (5, "welcome")
    return Case(entry["id"], sam, n.w.provider)  # the provider shares a session with Sam, not Sam's wallet


async def availability_override_case(n: Nodes) -> Case:
    lane = n.w.provider
    added = await n.api.gql(OVERRIDE, {"input": {"kind": "BLOCKED", "startsAt": at(3, 9), "endsAt": at(3, 12)}},
                            as_=lane)
    assert added == {"addAvailabilityOverride": {"__typename": "AvailabilitySuccess"}}
    query = "{ viewer { provider { availability { overrides { id } } } } }"
    return Case(await n.field(query, lane, "viewer", "provider", "availability", "overrides", 0, "id"), lane,
                n.w.member)


async def session_case(n: Nodes) -> Case:
    query = "{ sessions(first: 1) { edges { node { id } } } }"
    found = await n.field(query, n.w.member, "sessions", "edges", 0, "node", "id")
    assert found == n.session_id
    return Case(found, n.w.member, n.olga)


async def timeline_event_case(n: Nodes) -> Case:
    query = f'{{ session(id: "{n.session_id}") {{ timeline(first: 1) {{ edges {{ node {{ id }} }} }} }} }}'
    return Case(await n.field(query, n.w.member, "session", "timeline", "edges", 0, "node", "id"), n.w.member,
                n.olga)


async def note_case(n: Nodes) -> Case:
    lane = n.w.provider
    added = await n.api.gql(ADD_NOTE, {"input": {"sessionId": n.session_id, "body": "prefers mornings"}}, as_=lane)
    assert added == {"addNote": {"__typename": "NoteSuccess"}}
    query = f'{{ session(id: "{n.session_id}") {{ privateNotes {{ id body }} }} }}'
    (found,) = await n.field(query, lane, "session", "privateNotes")
    assert found["body"] == "prefers mornings"
    return Case(found["id"], lane, n.w.member)  # the member never reads the provider's notes


async def _chat(n: Nodes) -> None:
    sent = await n.api.gql(SEND, {"input": {"recipientId": n.w.provider.gid, "body": "hello",
                                            "clientMessageId": uuid.uuid4().hex}}, as_=n.w.member)
    assert sent == {"sendMessage": {"__typename": "MessageSuccess"}}


async def conversation_case(n: Nodes) -> Case:
    await _chat(n)
    query = "{ conversations(first: 1) { edges { node { id } } } }"
    return Case(await n.field(query, n.w.member, "conversations", "edges", 0, "node", "id"), n.w.member, n.olga)


async def message_case(n: Nodes) -> Case:
    await _chat(n)
    query = "{ conversations(first: 1) { edges { node { messages(last: 1) { edges { node { id body } } } } } } }"
    found = await n.field(query, n.w.member, "conversations", "edges", 0, "node", "messages", "edges", 0, "node")
    assert found["body"] == "hello"
    return Case(found["id"], n.w.member, n.olga)


async def notification_case(n: Nodes) -> Case:
    query = "{ notifications(first: 50) { edges { node { id kind } } } }"
    edges = await n.field(query, n.w.provider, "notifications", "edges")
    (found,) = [e["node"]["id"] for e in edges if e["node"]["kind"] == "SESSION_REQUESTED"]
    return Case(found, n.w.provider, n.w.member)  # the member's own notifications are others


async def package_case(n: Nodes) -> Case:
    offer = {"name": "Bundle", "skills": ["Sleep"], "durationMinutes": 60, "priceCredits": 60, "fee": "50.00",
             "currency": "GBP", "modalities": ["VIDEO"], "freeInitialConsultation": False,
             "packages": [{"sessions": 3, "priceCredits": 120}]}  # Sam has 140 credits left
    saved = await n.api.gql(SERVICE, {"input": offer}, as_=n.w.provider)
    bought = await n.api.gql(PURCHASE, {"input": {"serviceId": saved["saveService"]["service"]["id"], "sessions": 3}},
                             as_=n.w.member)
    package = bought["purchasePackage"]["package"]
    assert package["sessionsTotal"] == 3
    return Case(package["id"], n.w.member, n.olga)  # the member's own package; another member sees nothing


CASES: dict[str, Callable[[Nodes], Awaitable[Case]]] = {
    "User": user_case,
    "Member": member_case,
    "Provider": provider_case,
    "Service": service_case,
    "LedgerEntry": ledger_entry_case,
    "AvailabilityOverride": availability_override_case,
    "Session": session_case,
    "TimelineEvent": timeline_event_case,
    "Note": note_case,
    "Conversation": conversation_case,
    "Message": message_case,
    "Notification": notification_case,
    "Package": package_case,
}


async def test_node_fetches_every_node_type_for_who_may_see_it_and_null_for_who_may_not(api: Api) -> None:
    names = node_types(api)
    assert len(names) >= 12
    assert sorted(NODE_LOADERS) == names, "every Node type needs a loader in resolvers/nodes.py"
    assert sorted(CASES) == names, "every Node type needs a case here"
    n = await nodes_world(api)
    for name in names:
        case = await CASES[name](n)
        assert ids.split(case.id)[0] == name
        seen = await api.gql(NODE, {"id": case.id}, as_=case.allowed)
        assert seen == {"node": {"__typename": name, "id": case.id}}, name
        assert await api.gql(NODE, {"id": case.id}, as_=case.denied) == {"node": None}, name
        personal = name == "Notification"  # notifications are their recipient's only, admins included
        as_admin = await api.gql(NODE, {"id": case.id}, as_=await api.admin())
        assert as_admin == {"node": None if personal else {"__typename": name, "id": case.id}}, name


async def test_node_finds_a_user_wherever_a_field_reaches_it(api: Api) -> None:
    """A member's user through a conversation (Message.sender) without a shared session, and an admin's user as
    the actor of an event on the viewer's session (TimelineEvent.actor) and the author of a note (Note.author)."""
    n = await nodes_world(api)
    sent = await api.gql(SEND, {"input": {"recipientId": n.quinn.gid, "body": "are you free?",
                                          "clientMessageId": uuid.uuid4().hex}}, as_=n.olga)
    assert sent == {"sendMessage": {"__typename": "MessageSuccess"}}
    query = "{ conversations(first: 1) { edges { node { messages(last: 1) { edges { node { sender { id } } } } } } } }"
    olga_user = await n.field(query, n.quinn, "conversations", "edges", 0, "node", "messages", "edges", 0, "node",
                              "sender", "id")
    assert olga_user == ids.encode("User", n.olga.viewer.user_id)
    assert await api.gql(NODE, {"id": olga_user}, as_=n.quinn) == {"node": {"__typename": "User", "id": olga_user}}
    assert await api.gql(NODE, {"id": olga_user}, as_=n.w.provider) == {"node": None}

    admin = await api.admin()
    added = await api.gql(ADD_NOTE, {"input": {"sessionId": n.session_id, "body": "checked"}}, as_=admin)
    assert added == {"addNote": {"__typename": "NoteSuccess"}}
    query = f'{{ session(id: "{n.session_id}") {{ lastEvent {{ type actor {{ id }} }} }} }}'
    last = await n.field(query, n.w.member, "session", "lastEvent")
    admin_user = ids.encode("User", admin.viewer.user_id)
    assert last == {"type": "NOTE_ADDED", "actor": {"id": admin_user}}
    query = f'{{ session(id: "{n.session_id}") {{ privateNotes {{ author {{ id }} }} }} }}'
    assert await n.field(query, n.w.provider, "session", "privateNotes") == [{"author": {"id": admin_user}}]
    for who in (n.w.member, n.w.provider):
        assert await api.gql(NODE, {"id": admin_user}, as_=who) == {"node": {"__typename": "User", "id": admin_user}}
    for who in (n.olga, n.quinn):
        assert await api.gql(NODE, {"id": admin_user}, as_=who) == {"node": None}
