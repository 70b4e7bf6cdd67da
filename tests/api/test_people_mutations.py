"""Mutations on people, wallets and services: the result, the typed error, and nothing written on refusal."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest

from sessions_gql.db import models as m
from tests.api.factories import count_rows, gid, refused
from tests.harness.app import START, Api, Person

ERROR = "... on BasicError { code field }"
CREATE_MEMBER = f"""mutation($input: CreateMemberInput!) {{ createMember(input: $input) {{ __typename
  ... on MemberSuccess {{ member {{ displayName email timeZone phone country
      wallet {{ availableCredits heldCredits }} }} }}
  {ERROR} }} }}"""
CREATE_PROVIDER = f"""mutation($input: CreateProviderInput!) {{ createProvider(input: $input) {{ __typename
  ... on ProviderSuccess {{ provider {{ displayName bio timeZone visibility commissionRate services {{ id }} }} }}
  {ERROR} }} }}"""
WALLET = "wallet { availableCredits heldCredits ledger { edges { node { kind credits sponsoredMinutes note } } } }"
GRANT_CREDITS = f"""mutation($input: GrantCreditsInput!) {{ grantCredits(input: $input) {{ __typename
  ... on MemberSuccess {{ member {{ {WALLET} }} }} {ERROR} }} }}"""
GRANT_SPONSORSHIP = f"""mutation($input: GrantSponsorshipInput!) {{ grantSponsorship(input: $input) {{ __typename
  ... on MemberSuccess {{ member {{ sponsorships {{ sponsor hoursGranted hoursRemaining validUntil }}
      sponsoredHoursRemaining {WALLET} }} }} {ERROR} }} }}"""
SERVICE_FIELDS = "name skills durationMinutes priceCredits fee { amount currency } modalities freeInitialConsultation"
SAVE_SERVICE = f"""mutation($input: ServiceInput!) {{ saveService(input: $input) {{ __typename
  ... on ServiceSuccess {{ service {{ {SERVICE_FIELDS} provider {{ id }} }} }} {ERROR} }} }}"""
SET_VISIBILITY = f"""mutation($visibility: ProviderVisibility!, $providerId: ID) {{
  setProviderVisibility(visibility: $visibility, providerId: $providerId) {{ __typename
    ... on ProviderSuccess {{ provider {{ id visibility }} }} {ERROR} }} }}"""
MEMBER_STATE = f"query($id: ID!) {{ member(id: $id) {{ sponsorships {{ sponsor }} {WALLET} }} }}"
PROVIDER_STATE = f"query($id: ID!) {{ provider(id: $id) {{ visibility services {{ id {SERVICE_FIELDS} }} }} }}"
ALL_PROVIDERS = "{ providers(first: 100) { edges { node { id displayName } } } }"


def service_input(**changes: Any) -> dict[str, Any]:
    return {"name": "Career coaching", "skills": ["career", "leadership"], "durationMinutes": 60, "priceCredits": 10,
            "fee": "45.5", "currency": "eur", "modalities": ["PHONE", "VIDEO"], "freeInitialConsultation": True,
            **changes}


async def test_admin_creates_member_with_normalised_email_and_empty_wallet(api: Api) -> None:
    data = await api.gql(CREATE_MEMBER, {"input": {"email": " Ana@Example.COM ", "displayName": "Ana",
                                                   "timeZone": "Asia/Tokyo", "phone": "+49 30 1234567",
                                                   "country": "de"}}, as_=await api.admin())
    assert data["createMember"] == {"__typename": "MemberSuccess", "member": {
        "displayName": "Ana", "email": "ana@example.com", "timeZone": "Asia/Tokyo", "phone": "+49 30 1234567",
        "country": "DE", "wallet": {"availableCredits": 0, "heldCredits": 0}}}


MEMBER_CASES = [
    ({"email": "not-an-email"}, "email"), ({"email": "TAKEN@example.com"}, "email"),
    *(({"timeZone": zone}, "timeZone") for zone in ("Mars/Olympus", "Europe", "localtime")),
    ({"displayName": "   "}, "displayName"), ({"country": "Germany"}, "country"), ({"phone": "call me"}, "phone"),
]


async def test_create_member_refuses_bad_input_and_writes_nothing(api: Api) -> None:
    admin = await api.admin()
    valid = {"email": "taken@example.com", "displayName": "First", "timeZone": "UTC"}
    await api.gql(CREATE_MEMBER, {"input": valid}, as_=admin)
    for changes, field in MEMBER_CASES:
        data = await api.gql(CREATE_MEMBER, {"input": {**valid, "email": "new@example.com", **changes}}, as_=admin)
        assert data["createMember"] == refused("VALIDATION", field), changes
        assert (await count_rows(api.deps, m.User), await count_rows(api.deps, m.Member)) == (2, 1), changes


async def test_admin_creates_provider_with_default_and_given_commission(api: Api) -> None:
    admin = await api.admin()
    first = await api.gql(CREATE_PROVIDER, {"input": {"email": "p1@example.com", "displayName": "Dr. One",
                                                      "timeZone": "Europe/London"}}, as_=admin)
    second = await api.gql(CREATE_PROVIDER, {"input": {"email": "p2@example.com", "displayName": "Dr. Two",
                                                       "timeZone": "America/New_York", "bio": " Calm. ",
                                                       "commissionRate": 0.25}}, as_=admin)
    assert first["createProvider"] == {"__typename": "ProviderSuccess", "provider": {
        "displayName": "Dr. One", "bio": None, "timeZone": "Europe/London", "visibility": "ACTIVE",
        "commissionRate": 0.1, "services": []}}
    assert second["createProvider"]["provider"]["bio"] == "Calm."
    assert second["createProvider"]["provider"]["commissionRate"] == 0.25


PROVIDER_CASES = [
    ({"email": "bad@"}, "email"), ({"email": "Taken@Example.com"}, "email"),
    *(({"timeZone": zone}, "timeZone") for zone in ("Nowhere/Land", "America", "Factory")),
    ({"displayName": ""}, "displayName"), ({"commissionRate": 1.5}, "commissionRate"),
    ({"commissionRate": -0.1}, "commissionRate"),
]


async def test_create_provider_refuses_bad_input_and_writes_nothing(api: Api) -> None:
    admin = await api.admin()
    await api.provider("Existing")
    await api.gql(CREATE_MEMBER, {"input": {"email": "taken@example.com", "displayName": "T", "timeZone": "UTC"}},
                  as_=admin)
    before = await api.gql(ALL_PROVIDERS, as_=admin)
    for changes, field in PROVIDER_CASES:
        data = await api.gql(CREATE_PROVIDER, {"input": {"email": "fresh@example.com", "displayName": "Dr. New",
                                                         "timeZone": "UTC", **changes}}, as_=admin)
        assert data["createProvider"] == refused("VALIDATION", field), changes
        assert await api.gql(ALL_PROVIDERS, as_=admin) == before, changes
    assert await count_rows(api.deps, m.User) == 3  # the admin, the provider and the member


async def test_grant_credits_adds_to_wallet_and_writes_one_grant(api: Api) -> None:
    mia = await api.member("Mia", credits=5)
    data = await api.gql(GRANT_CREDITS, {"input": {"memberId": mia.gid, "credits": 20, "note": "welcome"}},
                         as_=await api.admin())
    assert data["grantCredits"] == {"__typename": "MemberSuccess", "member": {"wallet": {
        "availableCredits": 25, "heldCredits": 0, "ledger": {"edges": [
            {"node": {"kind": "GRANT", "credits": 20, "sponsoredMinutes": 0, "note": "welcome"}},
            {"node": {"kind": "GRANT", "credits": 5, "sponsoredMinutes": 0, "note": None}}]}}}}


async def test_grant_credits_retried_with_same_key_answers_the_same_and_writes_once(api: Api) -> None:
    admin, mia = await api.admin(), await api.member("Mia")
    grant = {"memberId": mia.gid, "credits": 7, "idempotencyKey": "grant-1"}
    first = await api.gql(GRANT_CREDITS, {"input": grant}, as_=admin)
    again = await api.gql(GRANT_CREDITS, {"input": grant}, as_=admin)
    assert again == first
    assert first["grantCredits"]["member"]["wallet"]["availableCredits"] == 7
    assert len(first["grantCredits"]["member"]["wallet"]["ledger"]["edges"]) == 1
    assert await count_rows(api.deps, m.LedgerEntry) == 1


async def test_grant_credits_with_same_key_and_other_input_is_refused(api: Api) -> None:
    admin, mia = await api.admin(), await api.member("Mia")
    await api.gql(GRANT_CREDITS, {"input": {"memberId": mia.gid, "credits": 7, "idempotencyKey": "k"}}, as_=admin)
    data = await api.gql(GRANT_CREDITS, {"input": {"memberId": mia.gid, "credits": 8, "idempotencyKey": "k"}},
                         as_=admin)
    assert data["grantCredits"] == refused("IDEMPOTENCY_KEY_REUSED", "idempotencyKey")
    state = await api.gql(MEMBER_STATE, {"id": mia.gid}, as_=admin)
    assert state["member"]["wallet"]["availableCredits"] == 7
    assert len(state["member"]["wallet"]["ledger"]["edges"]) == 1


CREDIT_CASES = [
    ({"credits": 0}, "VALIDATION", "credits"), ({"credits": -5}, "VALIDATION", "credits"),
    ({"credits": 1_000_001}, "VALIDATION", "credits"), ({"memberId": "nope"}, "VALIDATION", "memberId"),
    ({"memberId": gid("Member", uuid.uuid4())}, "NOT_FOUND", "memberId"),
    ({"memberId": gid("Provider", uuid.uuid4())}, "NOT_FOUND", "memberId"),
    ({"idempotencyKey": ""}, "VALIDATION", "idempotencyKey"),
]


async def test_grant_credits_refuses_bad_input_and_writes_nothing(api: Api) -> None:
    admin, mia = await api.admin(), await api.member("Mia", credits=3)
    before = await api.gql(MEMBER_STATE, {"id": mia.gid}, as_=admin)
    for changes, code, field in CREDIT_CASES:
        data = await api.gql(GRANT_CREDITS, {"input": {"memberId": mia.gid, "credits": 10, **changes}}, as_=admin)
        assert data["grantCredits"] == refused(code, field), changes
        assert await api.gql(MEMBER_STATE, {"id": mia.gid}, as_=admin) == before, changes
    assert await count_rows(api.deps, m.LedgerEntry) == 1


async def test_grant_sponsorship_shows_hours_and_a_sponsored_grant(api: Api) -> None:
    mia = await api.member("Mia")
    data = await api.gql(GRANT_SPONSORSHIP, {"input": {"memberId": mia.gid, "sponsor": "Acme", "hours": 1.5,
                                                       "validUntil": "2027-01-01T00:00:00+01:00"}},
                         as_=await api.admin())
    assert data["grantSponsorship"] == {"__typename": "MemberSuccess", "member": {
        "sponsorships": [{"sponsor": "Acme", "hoursGranted": 1.5, "hoursRemaining": 1.5,
                          "validUntil": "2026-12-31T23:00:00+00:00"}],
        "sponsoredHoursRemaining": 1.5, "wallet": {"availableCredits": 0, "heldCredits": 0, "ledger": {"edges": [
            {"node": {"kind": "GRANT", "credits": 0, "sponsoredMinutes": 90, "note": "sponsored by Acme"}}]}}}}


SPONSORSHIP_CASES = [
    ({"hours": 0}, "VALIDATION", "hours"), ({"hours": -2}, "VALIDATION", "hours"),
    ({"hours": 1001}, "VALIDATION", "hours"), ({"sponsor": " "}, "VALIDATION", "sponsor"),
    ({"validUntil": (START - timedelta(days=1)).isoformat()}, "VALIDATION", "validUntil"),
    ({"validUntil": START.isoformat()}, "VALIDATION", "validUntil"),
    ({"memberId": "!!"}, "VALIDATION", "memberId"),
    ({"memberId": gid("Session", uuid.uuid4())}, "NOT_FOUND", "memberId"),
]


async def test_grant_sponsorship_refuses_bad_input_and_writes_nothing(api: Api) -> None:
    admin, mia = await api.admin(), await api.member("Mia", credits=3)
    before = await api.gql(MEMBER_STATE, {"id": mia.gid}, as_=admin)
    for changes, code, field in SPONSORSHIP_CASES:
        data = await api.gql(GRANT_SPONSORSHIP, {"input": {"memberId": mia.gid, "sponsor": "Acme", "hours": 2,
                                                           **changes}}, as_=admin)
        assert data["grantSponsorship"] == refused(code, field), changes
        assert await api.gql(MEMBER_STATE, {"id": mia.gid}, as_=admin) == before, changes
    assert await count_rows(api.deps, m.Sponsorship) == 0


async def test_members_and_providers_may_not_call_admin_mutations(api: Api) -> None:
    mia, pat = await api.member("Mia"), await api.provider("Pat")
    calls = [(CREATE_MEMBER, "createMember", {"email": "x@example.com", "displayName": "X", "timeZone": "UTC"}),
             (CREATE_PROVIDER, "createProvider", {"email": "x@example.com", "displayName": "X", "timeZone": "UTC"}),
             (GRANT_CREDITS, "grantCredits", {"memberId": mia.gid, "credits": 5}),
             (GRANT_SPONSORSHIP, "grantSponsorship", {"memberId": mia.gid, "sponsor": "Acme", "hours": 1})]
    for caller in (mia, pat):
        for document, name, given in calls:
            data = await api.gql(document, {"input": given}, as_=caller)
            assert data[name] == refused("FORBIDDEN", None), (caller.viewer.role, name)
    assert await count_rows(api.deps, m.User) == 3
    assert (await count_rows(api.deps, m.LedgerEntry), await count_rows(api.deps, m.Sponsorship)) == (0, 0)


async def test_provider_creates_then_updates_own_service(api: Api) -> None:
    pat = await api.provider("Pat")
    created = await api.gql(SAVE_SERVICE, {"input": service_input()}, as_=pat)
    assert created["saveService"] == {"__typename": "ServiceSuccess", "service": {
        "name": "Career coaching", "skills": ["career", "leadership"], "durationMinutes": 60, "priceCredits": 10,
        "fee": {"amount": "45.50", "currency": "EUR"}, "modalities": ["VIDEO", "PHONE"],
        "freeInitialConsultation": True, "provider": {"id": pat.gid}}}
    service_id = (await api.gql(PROVIDER_STATE, {"id": pat.gid}, as_=pat))["provider"]["services"][0]["id"]
    updated = await api.gql(SAVE_SERVICE, {"input": service_input(
        serviceId=service_id, name="Leadership", skills=["leadership", "leadership"], durationMinutes=45, fee="0",
        modalities=["IN_PERSON"], freeInitialConsultation=False)}, as_=pat)
    assert updated["saveService"]["service"] == {
        "name": "Leadership", "skills": ["leadership"], "durationMinutes": 45, "priceCredits": 10,
        "fee": {"amount": "0.00", "currency": "EUR"}, "modalities": ["IN_PERSON"], "freeInitialConsultation": False,
        "provider": {"id": pat.gid}}
    services = (await api.gql(PROVIDER_STATE, {"id": pat.gid}, as_=pat))["provider"]["services"]
    assert [s["id"] for s in services] == [service_id]


async def service_of(api: Api, provider: Person) -> tuple[str, dict[str, Any]]:
    await api.gql(SAVE_SERVICE, {"input": service_input()}, as_=provider)
    state = await api.gql(PROVIDER_STATE, {"id": provider.gid}, as_=await api.admin())
    return state["provider"]["services"][0]["id"], state


async def test_provider_updating_another_providers_service_gets_not_found(api: Api) -> None:
    pat, quinn = await api.provider("Pat"), await api.provider("Quinn")
    service_id, before = await service_of(api, pat)
    data = await api.gql(SAVE_SERVICE, {"input": service_input(serviceId=service_id, name="Mine now")}, as_=quinn)
    assert data["saveService"] == refused("NOT_FOUND", "serviceId")
    assert await api.gql(PROVIDER_STATE, {"id": pat.gid}, as_=await api.admin()) == before


SERVICE_CASES = [
    *(({"durationMinutes": minutes}, "VALIDATION", "durationMinutes") for minutes in (7, 62, 250)),
    *(({"fee": fee}, "VALIDATION", "fee") for fee in ("abc", "-1", "1.234")),
    ({"currency": "EURO"}, "VALIDATION", "currency"), ({"modalities": []}, "VALIDATION", "modalities"),
    ({"skills": []}, "VALIDATION", "skills"), ({"skills": [" "]}, "VALIDATION", "skills"),
    ({"name": ""}, "VALIDATION", "name"), ({"priceCredits": -1}, "VALIDATION", "priceCredits"),
    ({"serviceId": "%%%"}, "VALIDATION", "serviceId"),
    ({"serviceId": gid("Provider", uuid.uuid4())}, "NOT_FOUND", "serviceId"),
    ({"providerId": gid("Member", uuid.uuid4())}, "NOT_FOUND", "providerId"),
]


@pytest.mark.parametrize("mode", ["create", "update"])
async def test_save_service_refuses_bad_input_and_writes_nothing(api: Api, mode: str) -> None:
    pat = await api.provider("Pat")
    service_id, before = await service_of(api, pat)
    given = {"serviceId": service_id} if mode == "update" else {}
    for changes, code, field in SERVICE_CASES:
        data = await api.gql(SAVE_SERVICE, {"input": service_input(**{**given, **changes})}, as_=pat)
        assert data["saveService"] == refused(code, field), changes
        assert await api.gql(PROVIDER_STATE, {"id": pat.gid}, as_=await api.admin()) == before, changes


async def test_save_service_role_rules(api: Api) -> None:
    admin, mia, pat, quinn = await api.admin(), await api.member("Mia"), await api.provider("Pat"), \
        await api.provider("Quinn")
    for caller, given, expected in ((mia, {}, refused("FORBIDDEN", None)),
                                    (pat, {"providerId": quinn.gid}, refused("FORBIDDEN", "providerId")),
                                    (admin, {}, refused("VALIDATION", "providerId"))):
        data = await api.gql(SAVE_SERVICE, {"input": service_input(**given)}, as_=caller)
        assert data["saveService"] == expected, caller.viewer.role
    assert (await api.gql(PROVIDER_STATE, {"id": quinn.gid}, as_=admin))["provider"]["services"] == []
    done = await api.gql(SAVE_SERVICE, {"input": service_input(providerId=quinn.gid)}, as_=admin)
    assert done["saveService"]["service"]["provider"] == {"id": quinn.gid}


async def test_provider_goes_invisible_and_back_to_active(api: Api) -> None:
    pat, mia = await api.provider("Pat"), await api.member("Mia")
    away = await api.gql(SET_VISIBILITY, {"visibility": "INVISIBLE"}, as_=pat)
    assert away["setProviderVisibility"] == {"__typename": "ProviderSuccess",
                                             "provider": {"id": pat.gid, "visibility": "INVISIBLE"}}
    assert (await api.gql(ALL_PROVIDERS, as_=mia))["providers"]["edges"] == []
    back = await api.gql(SET_VISIBILITY, {"visibility": "ACTIVE"}, as_=pat)
    assert back["setProviderVisibility"]["provider"] == {"id": pat.gid, "visibility": "ACTIVE"}
    assert (await api.gql(ALL_PROVIDERS, as_=mia))["providers"]["edges"] == [
        {"node": {"id": pat.gid, "displayName": "Pat"}}]


async def test_visibility_refusals_change_nothing(api: Api) -> None:
    admin, pat, quinn, mia = await api.admin(), await api.provider("Pat"), await api.provider("Quinn"), \
        await api.member("Mia")
    cases = [
        (pat, {"visibility": "DEACTIVATED"}, refused("FORBIDDEN", "visibility")),
        (pat, {"visibility": "INVISIBLE", "providerId": quinn.gid}, refused("FORBIDDEN", "providerId")),
        (mia, {"visibility": "INVISIBLE"}, refused("FORBIDDEN", None)),
        (admin, {"visibility": "INVISIBLE"}, refused("VALIDATION", "providerId")),
        (admin, {"visibility": "INVISIBLE", "providerId": mia.gid}, refused("NOT_FOUND", "providerId")),
    ]
    for caller, variables, expected in cases:
        assert (await api.gql(SET_VISIBILITY, variables, as_=caller))["setProviderVisibility"] == expected
    assert [e["node"]["id"] for e in (await api.gql(ALL_PROVIDERS, as_=mia))["providers"]["edges"]] == \
        [pat.gid, quinn.gid]


async def test_admin_deactivates_a_provider_who_then_cannot_reactivate_itself(api: Api) -> None:
    admin, pat = await api.admin(), await api.provider("Pat")
    done = await api.gql(SET_VISIBILITY, {"visibility": "DEACTIVATED", "providerId": pat.gid}, as_=admin)
    assert done["setProviderVisibility"]["provider"] == {"id": pat.gid, "visibility": "DEACTIVATED"}
    again = await api.gql(SET_VISIBILITY, {"visibility": "ACTIVE"}, as_=pat)
    assert again["setProviderVisibility"] == refused("FORBIDDEN", "visibility")
    assert (await api.gql(PROVIDER_STATE, {"id": pat.gid}, as_=admin))["provider"]["visibility"] == "DEACTIVATED"
