"""updateProfile: one's own profile, or anyone's for an admin; a new time zone moves how times are shown, never a
booked instant. Every refusal is typed and changes nothing."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from sqlalchemy import select

from sessions_gql.db import models as m
from sessions_gql.db.fast import Writer, table_of
from sessions_gql.domain.enums import NotificationKind
from sessions_gql.services.sessions.repository import SessionRepository
from tests.api.factories import gid, until_waiting_on_a_lock
from tests.api.lifecycle_helpers import at, book, request, view, world
from tests.harness.app import START, Api, Person

UPDATE = """mutation($input: UpdateProfileInput!) { updateProfile(input: $input) { __typename
  ... on UserSuccess { user { id displayName timeZone phone member { country } provider { displayName bio timeZone } } }
  ... on UserError { code field message } } }"""
PROFILE = """query($id: ID!) { node(id: $id) { ... on User { displayName timeZone email phone
  member { displayName timeZone phone country } provider { displayName bio timeZone } } } }"""
LISTED = "{ providers(first: 10) { edges { node { displayName } } } }"
AVAILABILITY = """query($id: ID!) { provider(id: $id) { timeZone availability { timeZone
  weeklyRules { weekday start end } } } }"""
SLOTS = """query($p: ID!, $s: ID!, $from: DateTime!, $to: DateTime!) {
  availableSlots(providerId: $p, serviceId: $s, from: $from, to: $to) { startsAt } }"""


def user_gid(person: Person) -> str:
    return gid("User", person.viewer.user_id)


async def update(api: Api, as_: Person, **input_: Any) -> dict[str, Any]:
    return (await api.gql(UPDATE, {"input": input_}, as_=as_))["updateProfile"]  # type: ignore[no-any-return]


async def profile(api: Api, person: Person) -> dict[str, Any]:
    return (await api.gql(PROFILE, {"id": user_gid(person)}, as_=await api.admin()))["node"]  # type: ignore


async def test_a_member_edits_their_own_profile_and_clears_the_phone(api: Api) -> None:
    mia = await api.member("Mia", phone="+49 30 1234567")
    done = await update(api, mia, displayName="  Mia Moon ", timeZone="Asia/Tokyo", phone="+81 3 1234 5678",
                        country="jp")
    assert done == {"__typename": "UserSuccess", "user": {
        "id": user_gid(mia), "displayName": "Mia Moon", "timeZone": "Asia/Tokyo", "phone": "+81 3 1234 5678",
        "member": {"country": "JP"}, "provider": None}}
    seen = await profile(api, mia)
    assert seen["member"] == {"displayName": "Mia Moon", "timeZone": "Asia/Tokyo", "phone": "+81 3 1234 5678",
                              "country": "JP"}
    cleared = await update(api, mia, phone="", country="")
    assert (cleared["user"]["phone"], cleared["user"]["member"], cleared["user"]["displayName"]) == (
        None, {"country": None}, "Mia Moon")  # omitted fields stay as they were


async def test_a_provider_edits_name_bio_and_zone_and_the_listing_follows(api: Api) -> None:
    pat = await api.provider("Pat", tz="Europe/London")
    done = await update(api, pat, displayName="Dr Pat Park", bio=" Sleep and stress. ", timeZone="Europe/Paris")
    assert done["user"]["provider"] == {"displayName": "Dr Pat Park", "bio": "Sleep and stress.",
                                        "timeZone": "Europe/Paris"}
    assert (await api.gql(LISTED, as_=await api.member()))["providers"]["edges"] == [
        {"node": {"displayName": "Dr Pat Park"}}]
    assert (await update(api, pat, bio=""))["user"]["provider"]["bio"] is None


async def test_an_admin_edits_anyones_profile(api: Api) -> None:
    admin, mia, pat = await api.admin(), await api.member("Mia"), await api.provider("Pat")
    for_mia = await update(api, admin, userId=user_gid(mia), displayName="Mia M.", country="DE")
    assert (for_mia["user"]["id"], for_mia["user"]["displayName"], for_mia["user"]["member"]) == (
        user_gid(mia), "Mia M.", {"country": "DE"})
    for_pat = await update(api, admin, userId=user_gid(pat), bio="Coach")
    assert for_pat["user"]["provider"]["bio"] == "Coach"
    own = await update(api, admin, displayName="Operations", timeZone="Europe/Berlin")
    assert (own["user"]["displayName"], own["user"]["timeZone"]) == ("Operations", "Europe/Berlin")


async def test_refusals_name_the_field_and_change_nothing(api: Api) -> None:
    admin, mia, max_, pat = await api.admin(), await api.member("Mia"), await api.member("Max"), \
        await api.provider("Pat")
    cases: list[tuple[Person, dict[str, Any], str, str | None]] = [
        (mia, {"displayName": "   "}, "VALIDATION", "displayName"),
        (mia, {"displayName": "x" * 201}, "VALIDATION", "displayName"),
        (mia, {"timeZone": "Mars/Olympus"}, "VALIDATION", "timeZone"),
        (mia, {"timeZone": "Europe"}, "VALIDATION", "timeZone"),
        (mia, {"phone": "call me"}, "VALIDATION", "phone"),
        (mia, {"country": "Germany"}, "VALIDATION", "country"),
        (mia, {"bio": "I am a member"}, "VALIDATION", "bio"),
        (mia, {"displayName": "Good", "bio": "but a member"}, "VALIDATION", "bio"),
        (pat, {"country": "GB"}, "VALIDATION", "country"),
        (pat, {"bio": "x" * 5001}, "VALIDATION", "bio"),
        (admin, {"country": "GB"}, "VALIDATION", "country"),
        (mia, {"userId": user_gid(max_), "displayName": "Hijacked"}, "FORBIDDEN", "userId"),
        (pat, {"userId": user_gid(mia), "displayName": "Hijacked"}, "FORBIDDEN", "userId"),
        (admin, {"userId": gid("User", uuid.uuid4()), "displayName": "Nobody"}, "NOT_FOUND", "userId"),
        (admin, {"userId": mia.gid, "displayName": "A member id"}, "NOT_FOUND", "userId"),
        (admin, {"userId": "??", "displayName": "Garbage"}, "VALIDATION", "userId"),
    ]
    before = [await profile(api, who) for who in (mia, max_, pat, admin)]
    for who, input_, code, field in cases:
        result = await update(api, who, **input_)
        assert (result["__typename"], result["code"], result["field"]) == ("BasicError", code, field), input_
    assert [await profile(api, who) for who in (mia, max_, pat, admin)] == before
    assert (await update(api, mia, bio="x"))["message"] == "only providers have a bio"
    assert (await update(api, pat, country="GB"))["message"] == "only members have a country"


async def test_a_new_zone_moves_how_times_read_never_the_booked_instants(api: Api) -> None:
    w = await world(api)  # London provider, weekdays 08:00-18:00
    booked, pending = await book(w, at(1, 10)), await request(w, at(2, 10))
    rules = (await api.gql(AVAILABILITY, {"id": w.provider.gid}, as_=w.provider))["provider"]
    assert (await update(api, w.member, timeZone="America/Los_Angeles"))["user"]["timeZone"] == "America/Los_Angeles"
    provider_moved = await update(api, w.provider, timeZone="America/New_York")
    assert provider_moved["user"]["provider"]["timeZone"] == "America/New_York"
    for session, status in ((booked, "CONFIRMED"), (pending, "AWAITING_APPROVAL")):
        for who in (w.member, w.provider):
            seen = await view(w, session["id"], who)
            assert (seen["status"], seen["startsAt"], seen["endsAt"]) == (
                status, session["startsAt"], session["endsAt"])
    after = (await api.gql(AVAILABILITY, {"id": w.provider.gid}, as_=w.provider))["provider"]
    assert after == {"timeZone": "America/New_York", "availability": {
        "timeZone": "America/New_York", "weeklyRules": rules["availability"]["weeklyRules"]}}
    assert rules["availability"]["timeZone"] == "Europe/London"
    # the weekly rules keep their wall-clock hours, now in New York: Thursday 08:00-18:00 there is 13:00-23:00 UTC
    data = await api.gql(SLOTS, {"p": w.provider.gid, "s": w.service_id, "from": at(3, 0), "to": at(4, 0)},
                         as_=w.member)
    starts = [slot["startsAt"] for slot in data["availableSlots"]]
    assert (starts[0], starts[-1], len(starts)) == (at(3, 13), at(3, 22), 37)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)  # SQLite serializes writers anyway
async def test_a_profile_edit_and_a_booking_in_flight_do_not_deadlock(api: Api) -> None:
    """A booking holds its provider and member and then writes rows naming their users (a foreign key check
    takes KEY SHARE on the user). An edit of the provider's profile locks the user, then waits for the provider:
    it locks the user FOR NO KEY UPDATE, which a KEY SHARE does not wait for, so the booking goes on and the edit
    after it (FOR UPDATE made a cycle that PostgreSQL broke by failing one of them)."""
    w = await world(api)
    assert w.member.member_id is not None and w.provider.provider_id is not None
    async with api.deps.sessions() as db:
        service_id = (await db.scalars(select(m.Service.id))).one()

    async with api.deps.uow() as uow:
        await SessionRepository(uow, api.deps).lock_booking(service_id=service_id, provider_id=None,
                                                            member_id=w.member.member_id)
        editing = asyncio.create_task(update(api, w.provider, displayName="Dr Lane-Moss"))
        await until_waiting_on_a_lock(api.deps, editing)  # the edit waits for the provider
        writer = Writer(await uow.session.connection())
        await asyncio.wait_for(writer.insert(table_of(m.Notification), [{  # names the provider's user
            "user_id": w.provider.viewer.user_id, "kind": NotificationKind.SESSION_REQUESTED, "title": "t",
            "body": "b", "created_at": START}]), timeout=20)
        await uow.commit()
    edited = await asyncio.wait_for(editing, timeout=20)
    assert (edited["__typename"], edited["user"]["displayName"]) == ("UserSuccess", "Dr Lane-Moss")
