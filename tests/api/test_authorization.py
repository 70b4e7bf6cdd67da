"""Each role against each read: what a viewer may not see is null (or missing from lists), never an error."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from sessions_gql.domain.enums import SessionStatus
from tests.api.factories import gid, insert_service, insert_session, set_calendar_token
from tests.harness.app import START, Api, Person

MEMBER = "query($id: ID!) { member(id: $id) { id displayName email user { email } wallet { availableCredits } } }"
PROVIDER = """query($id: ID!) { provider(id: $id) { id displayName user { email } availability { timeZone }
  earnings(from: "2026-01-01T00:00:00Z", to: "2027-01-01T00:00:00Z") { sessions net { amount currency } }
  calendarFeedUrl } }"""
SESSION = """query($id: ID!) { session(id: $id) { id status member { id wallet { availableCredits } }
  provider { id } providerEarnings { amount } } }"""
SESSIONS = "{ sessions(first: 50) { totalCount edges { node { id } } } }"
NODE = "query($id: ID!) { node(id: $id) { __typename id } }"
SLOTS = """query($p: ID!, $s: ID!) { availableSlots(providerId: $p, serviceId: $s, from: "2026-11-30T00:00:00Z",
  to: "2026-12-01T00:00:00Z") { startsAt } }"""
PROVIDERS = "{ providers { edges { node { id } } } }"
VIEWER = "{ viewer { user { id } } }"
VIEWER_EMAIL = "{ viewer { user { email } } }"
FEED = "http://127.0.0.1:8000/calendar/{}.ics"


@dataclass
class World:
    admin: Person
    mia: Person
    max: Person
    pat: Person
    quinn: Person
    pat_service_id: uuid.UUID
    max_with_quinn: str

    async def share_session(self, api: Api) -> str:
        """Mia and Pat share a (completed) session from now on."""
        assert self.mia.member_id and self.pat.provider_id
        session_id = await insert_session(api.deps, self.mia.member_id, self.pat.provider_id, self.pat_service_id,
                                          START + timedelta(days=3), SessionStatus.COMPLETED)
        return gid("Session", session_id)


@pytest.fixture
async def world(api: Api) -> World:
    admin = await api.admin()
    mia, max_ = await api.member("Mia", credits=5), await api.member("Max", credits=9)
    pat, quinn = await api.provider("Pat"), await api.provider("Quinn", tz="America/New_York")
    assert mia.member_id and max_.member_id and pat.provider_id and quinn.provider_id
    pat_service = await insert_service(api.deps, pat.provider_id)
    quinn_service = await insert_service(api.deps, quinn.provider_id)
    await set_calendar_token(api.deps, pat.provider_id, "pat-secret")
    await set_calendar_token(api.deps, quinn.provider_id, "quinn-secret")
    max_with_quinn = await insert_session(api.deps, max_.member_id, quinn.provider_id, quinn_service,
                                          START + timedelta(days=2), SessionStatus.CONFIRMED)
    return World(admin, mia, max_, pat, quinn, pat_service, gid("Session", max_with_quinn))


async def email_of(api: Api, person: Person) -> str:
    data = await api.gql(VIEWER_EMAIL, as_=person)
    return str(data["viewer"]["user"]["email"])


async def test_member_sees_own_wallet_and_not_another_member(api: Api, world: World) -> None:
    mine = await api.gql(MEMBER, {"id": world.mia.gid}, as_=world.mia)
    email = await email_of(api, world.mia)
    assert mine["member"] == {"id": world.mia.gid, "displayName": "Mia", "email": email, "user": {"email": email},
                              "wallet": {"availableCredits": 5}}
    assert await api.gql(MEMBER, {"id": world.max.gid}, as_=world.mia) == {"member": None}
    assert await api.gql(NODE, {"id": world.max.gid}, as_=world.mia) == {"node": None}
    assert await api.gql(NODE, {"id": world.mia.gid}, as_=world.mia) == {"node": {"__typename": "Member",
                                                                                    "id": world.mia.gid}}


async def test_provider_sees_a_member_only_after_sharing_a_session_and_never_the_wallet(api: Api,
                                                                                       world: World) -> None:
    assert await api.gql(MEMBER, {"id": world.mia.gid}, as_=world.pat) == {"member": None}
    assert await api.gql(NODE, {"id": world.mia.gid}, as_=world.pat) == {"node": None}
    await world.share_session(api)
    email = await email_of(api, world.mia)
    seen = await api.gql(MEMBER, {"id": world.mia.gid}, as_=world.pat)
    assert seen["member"] == {"id": world.mia.gid, "displayName": "Mia", "email": email, "user": {"email": email},
                              "wallet": None}
    assert await api.gql(NODE, {"id": world.mia.gid}, as_=world.pat) == {"node": {"__typename": "Member",
                                                                                   "id": world.mia.gid}}
    assert await api.gql(MEMBER, {"id": world.mia.gid}, as_=world.quinn) == {"member": None}


async def test_provider_sees_own_availability_earnings_and_feed_but_not_another_providers(api: Api,
                                                                                          world: World) -> None:
    own = await api.gql(PROVIDER, {"id": world.pat.gid}, as_=world.pat)
    assert own["provider"] == {
        "id": world.pat.gid, "displayName": "Pat", "user": {"email": await email_of(api, world.pat)},
        "availability": {"timeZone": "Europe/London"},
        "earnings": {"sessions": 0, "net": {"amount": "0.00", "currency": "EUR"}},
        "calendarFeedUrl": FEED.format("pat-secret")}
    other = await api.gql(PROVIDER, {"id": world.quinn.gid}, as_=world.pat)
    assert other["provider"] == {"id": world.quinn.gid, "displayName": "Quinn", "user": {"email": None},
                                 "availability": None, "earnings": None, "calendarFeedUrl": None}


async def test_member_sees_provider_profile_without_private_fields(api: Api, world: World) -> None:
    seen = await api.gql(PROVIDER, {"id": world.pat.gid}, as_=world.mia)
    assert seen["provider"] == {"id": world.pat.gid, "displayName": "Pat", "user": {"email": None},
                                "availability": None, "earnings": None, "calendarFeedUrl": None}


async def test_admin_sees_availability_and_earnings_but_not_the_secret_feed(api: Api, world: World) -> None:
    seen = await api.gql(PROVIDER, {"id": world.quinn.gid}, as_=world.admin)
    assert seen["provider"] == {
        "id": world.quinn.gid, "displayName": "Quinn", "user": {"email": await email_of(api, world.quinn)},
        "availability": {"timeZone": "America/New_York"},
        "earnings": {"sessions": 0, "net": {"amount": "0.00", "currency": "EUR"}}, "calendarFeedUrl": None}
    member = await api.gql(MEMBER, {"id": world.max.gid}, as_=world.admin)
    assert member["member"]["wallet"] == {"availableCredits": 9}


async def test_session_is_seen_by_its_parties_and_admins_only(api: Api, world: World) -> None:
    session_id = world.max_with_quinn
    expected = {"id": session_id, "status": "CONFIRMED", "provider": {"id": world.quinn.gid}}
    quinn = await api.gql(SESSION, {"id": session_id}, as_=world.quinn)
    assert quinn["session"] == {**expected, "member": {"id": world.max.gid, "wallet": None},
                                "providerEarnings": {"amount": "0.00"}}
    mine = await api.gql(SESSION, {"id": session_id}, as_=world.max)
    assert mine["session"] == {**expected, "member": {"id": world.max.gid, "wallet": {"availableCredits": 9}},
                               "providerEarnings": None}
    admin = await api.gql(SESSION, {"id": session_id}, as_=world.admin)
    assert admin["session"]["member"] == {"id": world.max.gid, "wallet": {"availableCredits": 9}}
    for outsider in (world.pat, world.mia):
        assert await api.gql(SESSION, {"id": session_id}, as_=outsider) == {"session": None}
        assert await api.gql(NODE, {"id": session_id}, as_=outsider) == {"node": None}
    assert await api.gql(NODE, {"id": session_id}, as_=world.quinn) == {"node": {"__typename": "Session",
                                                                                 "id": session_id}}


async def test_session_lists_are_scoped_to_the_viewer(api: Api, world: World) -> None:
    shared, other = await world.share_session(api), world.max_with_quinn
    admin = await api.gql(SESSIONS, as_=world.admin)
    assert admin["sessions"] == {"totalCount": 2, "edges": [{"node": {"id": other}}, {"node": {"id": shared}}]}
    for person, seen in ((world.pat, shared), (world.mia, shared), (world.quinn, other), (world.max, other)):
        data = await api.gql(SESSIONS, as_=person)
        assert data["sessions"] == {"totalCount": 1, "edges": [{"node": {"id": seen}}]}, person.viewer.role


async def test_deactivated_provider_is_hidden_from_others_but_not_from_itself_or_admins(api: Api,
                                                                                        world: World) -> None:
    await api.gql("""mutation($id: ID) { setProviderVisibility(visibility: DEACTIVATED, providerId: $id) {
      __typename } }""", {"id": world.quinn.gid}, as_=world.admin)
    for outsider in (world.mia, world.pat):
        assert await api.gql(PROVIDER, {"id": world.quinn.gid}, as_=outsider) == {"provider": None}
        assert await api.gql(NODE, {"id": world.quinn.gid}, as_=outsider) == {"node": None}
    for insider in (world.quinn, world.admin):
        seen = await api.gql(NODE, {"id": world.quinn.gid}, as_=insider)
        assert seen == {"node": {"__typename": "Provider", "id": world.quinn.gid}}
    listed = await api.gql(PROVIDERS, as_=world.mia)
    assert listed["providers"]["edges"] == [{"node": {"id": world.pat.gid}}]


async def test_admin_resolves_every_node_type(api: Api, world: World) -> None:
    for type_name, node_id in (("Member", world.mia.gid), ("Provider", world.pat.gid),
                               ("Session", world.max_with_quinn)):
        data = await api.gql(NODE, {"id": node_id}, as_=world.admin)
        assert data == {"node": {"__typename": type_name, "id": node_id}}


async def test_unauthenticated_reads_are_refused(api: Api, world: World) -> None:
    reads: list[tuple[str, dict[str, Any], Any]] = [
        (MEMBER, {"id": world.mia.gid}, {"member": None}),
        (PROVIDER, {"id": world.pat.gid}, {"provider": None}),
        (SESSION, {"id": world.max_with_quinn}, {"session": None}),
        (NODE, {"id": world.max_with_quinn}, {"node": None}),
        (NODE, {"id": world.mia.gid}, {"node": None}),
        (SESSIONS, {}, None),
        (PROVIDERS, {}, None),
        (VIEWER, {}, None),
        (SLOTS, {"p": world.pat.gid, "s": gid("Service", world.pat_service_id)}, None),
    ]
    for document, variables, data in reads:
        body = await api.post(document, variables)
        assert body["data"] == data, document
        assert [e["extensions"]["code"] for e in body["errors"]] == ["UNAUTHENTICATED"], document
