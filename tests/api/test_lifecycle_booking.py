"""Booking: request, propose, confirm, decline, withdraw; versions, idempotency keys, refusals that change nothing."""

from __future__ import annotations

from sessions_gql.clock import FrozenClock
from tests.api.lifecycle_helpers import (
    CONFIRM,
    DECLINE,
    MEMBER_SESSIONS,
    PROPOSE,
    REQUEST,
    WITHDRAW,
    at,
    balance,
    error,
    ledger,
    moved,
    ok,
    provider_state,
    request,
    snapshot,
    types,
    view,
    when,
    world,
)
from tests.harness.app import Api

BLOCK = """mutation($input: AddAvailabilityOverrideInput!) { addAvailabilityOverride(input: $input) { __typename } }"""
SPONSOR = """mutation($input: GrantSponsorshipInput!) { grantSponsorship(input: $input) {
  __typename ... on MemberSuccess { member { sponsoredHoursRemaining } } } }"""
HOURS = "query($id: ID!) { member(id: $id) { sponsoredHoursRemaining } }"
REQUEST_ACTIONS = ["CONFIRM", "DECLINE", "PROPOSE_NEW_TIME", "ADD_NOTE", "SEND_MESSAGE"]
REQUESTER_ACTIONS = ["WITHDRAW", "PROPOSE_NEW_TIME", "SEND_MESSAGE"]


async def test_request_holds_the_funds_and_waits_for_the_provider(api: Api) -> None:
    w = await world(api)
    session = await request(w, at(1, 10), memberNote="first time")
    assert (session["status"], session["version"], session["paymentStatus"], session["funding"]) == (
        "AWAITING_APPROVAL", 1, "HELD", "CREDITS")
    assert (session["approvals"], session["awaitingResponseFrom"]) == ({"member": True, "provider": False}, "PROVIDER")
    assert session["respondBy"] == at(1, 8)  # now + 24 h, before the start
    assert moved(session) == [("FUNDS_HELD", 60)] and types(session) == ["REQUESTED", "APPROVED_BY_MEMBER",
                                                                        "FUNDS_HELD"]
    assert session["allowedActions"] == REQUESTER_ACTIONS
    wallet = await w.wallet()
    assert (balance(wallet), ledger(wallet)) == ((140, 60), [("HOLD", 60), ("GRANT", 200)])
    theirs = await view(w, session["id"], w.provider)
    assert (theirs["status"], theirs["awaitingResponseFrom"]) == ("AWAITING_APPROVAL", "PROVIDER")
    assert theirs["allowedActions"] == REQUEST_ACTIONS
    soon = await request(w, at(0, 14))  # respondBy never lies after the start
    assert soon["respondBy"] == at(0, 14)


async def test_request_refusals_name_the_reason_and_change_nothing(api: Api) -> None:
    w = await world(api, credits=50)
    other = await api.member("Other", credits=200)
    await api.gql(BLOCK, {"input": {"kind": "BLOCKED", "startsAt": at(2, 9), "endsAt": at(2, 12)}}, as_=w.provider)
    base = {"providerId": w.provider.gid, "serviceId": w.service_id, "modality": "VIDEO"}
    cases = [
        (at(0, 9, 30), other, ("BasicError", "TOO_LATE", "startsAt")),  # inside the 2 h minimum notice
        (at(91, 10), other, ("BasicError", "TOO_EARLY", "startsAt")),  # beyond the 90-day horizon
        (at(1, 19), other, ("BasicError", "SLOT_UNAVAILABLE", "startsAt")),  # outside 08:00-18:00
        (at(5, 10), other, ("BasicError", "SLOT_UNAVAILABLE", "startsAt")),  # a Saturday
        (at(2, 10), other, ("BasicError", "SLOT_UNAVAILABLE", "startsAt")),  # blocked
        (at(1, 10), w.member, ("InsufficientFundsError", "INSUFFICIENT_FUNDS", None)),
    ]
    for starts_at, who, expected in cases:
        result = await w.run(REQUEST, {**base, "startsAt": starts_at}, who)
        assert error(result) == expected, (starts_at, result)
    funds = await w.run(REQUEST, {**base, "startsAt": at(1, 10)}, w.member)
    assert (funds["requiredCredits"], funds["availableCredits"]) == (60, 50)
    await request(w, at(1, 10), member=other)
    taken = await w.run(REQUEST, {**base, "startsAt": at(1, 10, 30)}, await api.member("Third", credits=100))
    assert error(taken) == ("BasicError", "SLOT_UNAVAILABLE", "startsAt")  # the provider holds 10:00-11:00
    assert balance(await w.wallet()) == (50, 0)
    for who in (w.member, other):
        count = (await api.gql(MEMBER_SESSIONS, {"id": who.gid}, as_=who))["member"]["sessions"]["totalCount"]
        assert count == (0 if who is w.member else 1)


async def test_free_initial_consultation_once_per_member_and_provider(api: Api) -> None:
    w = await world(api, free_consultation=True)
    free = await request(w, at(1, 10))
    assert (free["funding"], free["paymentStatus"]) == ("FREE_CONSULTATION", "NONE")
    assert types(free) == ["REQUESTED", "APPROVED_BY_MEMBER"]
    assert balance(await w.wallet()) == (200, 0)
    paid = await request(w, at(1, 12))
    assert (paid["funding"], paid["paymentStatus"]) == ("CREDITS", "HELD")
    assert balance(await w.wallet()) == (140, 60)
    newcomer = await api.member("New", credits=0)
    assert (await request(w, at(1, 14), member=newcomer))["funding"] == "FREE_CONSULTATION"
    await ok(w, WITHDRAW, {"sessionId": free["id"]}, w.member)  # an unused consultation is not spent
    assert (await request(w, at(2, 10)))["funding"] == "FREE_CONSULTATION"


async def test_sponsored_hours_pay_before_credits(api: Api) -> None:
    w = await world(api)
    granted = await api.gql(SPONSOR, {"input": {"memberId": w.member.gid, "sponsor": "Acme", "hours": 1.0}},
                            as_=await api.admin())
    assert granted["grantSponsorship"]["member"]["sponsoredHoursRemaining"] == 1.0
    sponsored = await request(w, at(1, 10))
    assert (sponsored["funding"], sponsored["paymentStatus"]) == ("SPONSORED", "HELD")
    wallet = await w.wallet()
    assert balance(wallet) == (200, 0)
    assert wallet["ledger"]["edges"][0]["node"] == {"kind": "HOLD", "credits": 0, "sponsoredMinutes": 60}
    hours = await api.gql(HOURS, {"id": w.member.gid}, as_=w.provider)
    assert hours["member"]["sponsoredHoursRemaining"] == 0.0  # shown to the provider; held hours count as used
    paid = await request(w, at(1, 12))
    assert (paid["funding"], balance(await w.wallet())) == ("CREDITS", (140, 60))
    await ok(w, WITHDRAW, {"sessionId": sponsored["id"]}, w.member)
    wallet = await w.wallet()
    assert wallet["ledger"]["edges"][0]["node"] == {"kind": "RELEASE", "credits": 0, "sponsoredMinutes": 60}
    assert (await api.gql(HOURS, {"id": w.member.gid}, as_=w.member))["member"]["sponsoredHoursRemaining"] == 1.0


async def test_admin_books_phone_and_in_person_sessions_for_a_member(api: Api) -> None:
    w = await world(api)
    admin = await api.admin()
    caller = await api.member("Caller", credits=100, phone="+44 20 7946 0000")
    base = {"providerId": w.provider.gid, "serviceId": w.service_id}
    missing = await w.run(REQUEST, {**base, "startsAt": at(1, 10), "modality": "PHONE"}, admin)
    assert error(missing) == ("BasicError", "VALIDATION", "memberId")
    phone = await ok(w, REQUEST, {**base, "startsAt": at(1, 10), "modality": "PHONE", "memberId": caller.gid}, admin)
    assert phone["timeline"]["edges"][0]["node"]["actorRole"] == "ADMIN"
    assert balance(await w.wallet(caller)) == (40, 60)
    assert (await view(w, phone["id"], w.provider))["phoneNumber"] == "+44 20 7946 0000"
    mine = await view(w, phone["id"], caller)
    assert (mine["phoneNumber"], mine["createdBy"], mine["status"]) == (None, "ADMIN", "AWAITING_APPROVAL")
    no_place = await w.run(REQUEST, {**base, "startsAt": at(1, 14), "modality": "IN_PERSON",
                                     "memberId": w.member.gid}, admin)
    assert error(no_place) == ("BasicError", "VALIDATION", "location")
    in_person = await ok(w, REQUEST, {**base, "startsAt": at(1, 14), "modality": "IN_PERSON",
                                      "memberId": w.member.gid, "location": "1 High St, London"}, admin)
    assert (await view(w, in_person["id"], w.member))["location"] == "1 High St, London"
    assert (await view(w, in_person["id"], w.provider))["phoneNumber"] is None


async def test_proposal_charges_nothing_until_the_member_confirms(api: Api) -> None:
    w = await world(api)
    proposal = {"memberId": w.member.gid, "serviceId": w.service_id, "startsAt": at(1, 19),  # outside availability
                "durationMinutes": 45, "priceCredits": 45, "modality": "VIDEO"}
    session = await ok(w, PROPOSE, proposal, w.provider)
    assert (session["status"], session["paymentStatus"], session["funding"]) == ("AWAITING_APPROVAL", "NONE", None)
    assert session["approvals"] == {"member": False, "provider": True}
    assert types(session) == ["PROPOSED", "APPROVED_BY_PROVIDER"]
    assert session["allowedActions"] == ["WITHDRAW", "PROPOSE_NEW_TIME", "ADD_NOTE", "SEND_MESSAGE"]
    assert balance(await w.wallet()) == (200, 0)
    theirs = await view(w, session["id"], w.member)
    assert (theirs["awaitingResponseFrom"], theirs["priceCredits"]) == ("MEMBER", 45)
    assert theirs["allowedActions"] == ["CONFIRM", "DECLINE", "PROPOSE_NEW_TIME", "SEND_MESSAGE"]
    assert error(await w.run(CONFIRM, {"sessionId": session["id"]}, w.provider)) == (
        "BasicError", "FORBIDDEN", None)
    confirmed = await ok(w, CONFIRM, {"sessionId": session["id"]}, w.member)
    assert (confirmed["status"], confirmed["paymentStatus"], confirmed["funding"]) == ("CONFIRMED", "HELD", "CREDITS")
    assert types(confirmed)[2:] == ["APPROVED_BY_MEMBER", "FUNDS_HELD", "VIDEO_ROOM_CREATED"]
    wallet = await w.wallet()
    assert (balance(wallet), ledger(wallet)) == ((155, 45), [("HOLD", 45), ("GRANT", 200)])
    assert (await view(w, session["id"], w.provider))["status"] == "CONFIRMED"


async def test_admin_proposes_for_a_provider_and_proposals_never_overlap_a_held_slot(api: Api) -> None:
    w = await world(api)
    admin = await api.admin()
    base = {"memberId": w.member.gid, "serviceId": w.service_id, "durationMinutes": 60, "priceCredits": 60,
            "modality": "VIDEO"}
    by_admin = await ok(w, PROPOSE, {**base, "startsAt": at(1, 10), "providerId": w.provider.gid}, admin)
    assert [e["node"]["actorRole"] for e in by_admin["timeline"]["edges"]] == ["ADMIN", "ADMIN"]
    assert (await view(w, by_admin["id"], w.provider))["approvals"] == {"member": False, "provider": True}
    other = await api.member("Other", credits=100)
    clash = await w.run(PROPOSE, {**base, "memberId": other.gid, "startsAt": at(1, 10, 30)}, w.provider)
    assert error(clash) == ("ScheduleConflictError", "SCHEDULE_CONFLICT", "startsAt")
    assert clash["conflicts"] == [{"startsAt": at(1, 10), "endsAt": at(1, 11)}]
    poor = await api.member("Poor", credits=10)
    offer = await ok(w, PROPOSE, {**base, "memberId": poor.gid, "startsAt": at(1, 14)}, w.provider)
    before = await snapshot(w, offer["id"])
    short = await w.run(CONFIRM, {"sessionId": offer["id"]}, poor)
    assert error(short) == ("InsufficientFundsError", "INSUFFICIENT_FUNDS", None)
    assert (short["requiredCredits"], short["availableCredits"]) == (60, 10)
    assert await snapshot(w, offer["id"]) == before


async def test_confirm_by_the_awaited_party_only_and_before_respond_by(api: Api, clock: FrozenClock) -> None:
    w = await world(api)
    session = await request(w, at(2, 10))
    stranger = await api.provider("Stranger")
    before = await snapshot(w, session["id"])
    for who, expected in [(w.member, "FORBIDDEN"), (await api.admin(), "FORBIDDEN"), (stranger, "NOT_FOUND")]:
        refused = await w.run(CONFIRM, {"sessionId": session["id"]}, who)
        assert refused["__typename"] == "BasicError" and refused["code"] == expected, refused
    assert await snapshot(w, session["id"]) == before
    clock.set(when(0, 9, 30))
    confirmed = await ok(w, CONFIRM, {"sessionId": session["id"]}, w.provider)
    assert (confirmed["status"], confirmed["version"], confirmed["respondBy"]) == ("CONFIRMED", 2, None)
    assert confirmed["approvals"] == {"member": True, "provider": True}
    assert confirmed["awaitingResponseFrom"] is None
    assert types(confirmed) == ["REQUESTED", "APPROVED_BY_MEMBER", "FUNDS_HELD", "APPROVED_BY_PROVIDER",
                                "VIDEO_ROOM_CREATED"]
    assert balance(await w.wallet()) == (140, 60)
    reliability = (await provider_state(w))["reliability"]
    assert (reliability["averageResponseMinutes"], reliability["lateResponses"]) == (90.0, 0)
    again = await w.run(CONFIRM, {"sessionId": session["id"]}, w.provider)
    assert error(again) == ("BasicError", "INVALID_TRANSITION", None)
    late = await request(w, at(2, 12))
    clock.set(when(1, 9, 31))  # respondBy was 09:30 + 24 h
    assert error(await w.run(CONFIRM, {"sessionId": late["id"]}, w.provider)) == ("BasicError", "TOO_LATE", None)


async def test_decline_with_reason_and_note_returns_the_funds(api: Api) -> None:
    w = await world(api)
    session = await request(w, at(1, 10))
    own = await w.run(DECLINE, {"sessionId": session["id"], "reason": "PERSONAL"}, w.member)
    assert error(own) == ("BasicError", "FORBIDDEN", None)
    declined = await ok(w, DECLINE, {"sessionId": session["id"], "reason": "NOT_AVAILABLE", "note": "On leave"},
                        w.provider)
    assert (declined["status"], declined["paymentStatus"], declined["version"]) == ("DECLINED", "RETURNED", 2)
    assert types(declined)[3:] == ["DECLINED", "FUNDS_RETURNED"]
    assert declined["timeline"]["edges"][3]["node"]["reason"] == "NOT_AVAILABLE"
    assert declined["allowedActions"] == ["PROPOSE_NEW_TIME", "ADD_NOTE", "SEND_MESSAGE"]
    theirs = await view(w, session["id"], w.member)
    assert (theirs["declineReason"], theirs["declineNote"], theirs["status"]) == ("NOT_AVAILABLE", "On leave",
                                                                                  "DECLINED")
    assert theirs["allowedActions"] == ["SEND_MESSAGE"]
    wallet = await w.wallet()
    assert (balance(wallet), ledger(wallet)) == ((200, 0), [("RELEASE", 60), ("HOLD", 60), ("GRANT", 200)])
    offer = await ok(w, PROPOSE, {"memberId": w.member.gid, "serviceId": w.service_id, "startsAt": at(1, 14),
                                  "durationMinutes": 60, "priceCredits": 60, "modality": "VIDEO"}, w.provider)
    no = await ok(w, DECLINE, {"sessionId": offer["id"], "reason": "NOT_A_GOOD_FIT"}, w.member)
    assert types(no) == ["PROPOSED", "APPROVED_BY_PROVIDER", "DECLINED"]
    assert balance(await w.wallet()) == (200, 0)


async def test_withdraw_by_the_approver_before_start(api: Api, clock: FrozenClock) -> None:
    w = await world(api)
    session = await request(w, at(1, 10))
    assert error(await w.run(WITHDRAW, {"sessionId": session["id"]}, w.provider)) == ("BasicError", "FORBIDDEN",
                                                                                     None)
    withdrawn = await ok(w, WITHDRAW, {"sessionId": session["id"]}, w.member)
    assert (withdrawn["status"], withdrawn["paymentStatus"]) == ("CANCELLED", "RETURNED")
    assert withdrawn["cancellation"] == {"by": "MEMBER", "reason": None, "late": False}
    assert types(withdrawn)[3:] == ["WITHDRAWN", "FUNDS_RETURNED"]
    assert balance(await w.wallet()) == (200, 0)
    assert (await view(w, session["id"], w.provider))["allowedActions"] == ["ADD_NOTE", "SEND_MESSAGE"]
    offer = await ok(w, PROPOSE, {"memberId": w.member.gid, "serviceId": w.service_id, "startsAt": at(0, 14),
                                  "durationMinutes": 60, "priceCredits": 60, "modality": "VIDEO"}, w.provider)
    clock.set(when(0, 14, 1))
    assert error(await w.run(WITHDRAW, {"sessionId": offer["id"]}, w.provider)) == ("BasicError", "TOO_LATE", None)
    clock.set(when(0, 13))
    back = await ok(w, WITHDRAW, {"sessionId": offer["id"]}, w.provider)
    assert types(back) == ["PROPOSED", "APPROVED_BY_PROVIDER", "WITHDRAWN"]
    assert back["cancellation"] == {"by": "PROVIDER", "reason": None, "late": False}


async def test_expected_version_refuses_a_stale_change_and_changes_nothing(api: Api) -> None:
    w = await world(api)
    session = await request(w, at(1, 10))
    before = await snapshot(w, session["id"])
    stale = await w.run(CONFIRM, {"sessionId": session["id"], "expectedVersion": 5}, w.provider)
    assert error(stale) == ("BasicError", "STALE_VERSION", "expectedVersion")
    assert await snapshot(w, session["id"]) == before
    confirmed = await ok(w, CONFIRM, {"sessionId": session["id"], "expectedVersion": 1}, w.provider)
    assert confirmed["version"] == 2
    late = await w.run(WITHDRAW, {"sessionId": session["id"], "expectedVersion": 1}, w.member)
    assert error(late) == ("BasicError", "STALE_VERSION", "expectedVersion")


async def test_idempotency_key_replays_the_first_answer_once(api: Api) -> None:
    w = await world(api)
    first_input = {"providerId": w.provider.gid, "serviceId": w.service_id, "startsAt": at(1, 10),
                   "modality": "VIDEO", "idempotencyKey": "book-1"}
    first = await ok(w, REQUEST, first_input, w.member)
    again = await ok(w, REQUEST, first_input, w.member)
    assert again["id"] == first["id"] and again["version"] == 1
    reused = await w.run(REQUEST, {**first_input, "startsAt": at(1, 12)}, w.member)
    assert error(reused) == ("BasicError", "IDEMPOTENCY_KEY_REUSED", "idempotencyKey")
    sessions = await api.gql(MEMBER_SESSIONS, {"id": w.member.gid}, as_=w.member)
    assert sessions["member"]["sessions"]["totalCount"] == 1
    assert ledger(await w.wallet()) == [("HOLD", 60), ("GRANT", 200)]
    confirm = {"sessionId": first["id"], "idempotencyKey": "ok-1"}
    assert (await ok(w, CONFIRM, confirm, w.provider))["version"] == 2
    replayed = await ok(w, CONFIRM, confirm, w.provider)
    assert (replayed["status"], replayed["version"]) == ("CONFIRMED", 2)
    assert types(replayed).count("APPROVED_BY_PROVIDER") == 1
    other = await w.run(DECLINE, {"sessionId": first["id"], "reason": "OTHER", "idempotencyKey": "ok-1"}, w.provider)
    assert error(other) == ("BasicError", "IDEMPOTENCY_KEY_REUSED", "idempotencyKey")
    place = {**first_input, "startsAt": at(2, 10), "modality": "IN_PERSON", "location": "Room 1",
             "idempotencyKey": "place"}
    in_room = await ok(w, REQUEST, place, w.member)
    assert (await view(w, in_room["id"], w.provider))["location"] == "Room 1"
    moved_room = await w.run(REQUEST, {**place, "location": "Room 2"}, w.member)
    assert error(moved_room) == ("BasicError", "IDEMPOTENCY_KEY_REUSED", "idempotencyKey")


CONTACT = """query($id: ID!) { member(id: $id) { displayName email phone user { email } } }"""


async def test_a_proposal_shows_the_member_but_not_their_contact_details_until_they_agree(api: Api) -> None:
    """A provider may propose to any member; that alone must not reveal the member's email and phone."""
    w = await world(api)
    phoebe = await api.member("Phoebe", credits=200, phone="+44 20 7946 0000")
    own = (await api.gql(CONTACT, {"id": phoebe.gid}, as_=phoebe))["member"]
    assert own["phone"] == "+44 20 7946 0000" and own["email"] == own["user"]["email"] is not None
    hidden = {"displayName": "Phoebe", "email": None, "phone": None, "user": {"email": None}}
    proposal = {"memberId": phoebe.gid, "serviceId": w.service_id, "startsAt": at(1, 10), "durationMinutes": 60,
                "priceCredits": 60, "modality": "PHONE"}
    session = await ok(w, PROPOSE, proposal, w.provider)
    assert (await api.gql(CONTACT, {"id": phoebe.gid}, as_=w.provider))["member"] == hidden
    assert (await view(w, session["id"], w.provider))["phoneNumber"] is None
    assert (await view(w, session["id"], await api.admin()))["phoneNumber"] == "+44 20 7946 0000"
    declined = await w.run(DECLINE, {"sessionId": session["id"], "reason": "PERSONAL"}, phoebe)
    assert declined["__typename"] == "SessionSuccess", declined
    assert (await api.gql(CONTACT, {"id": phoebe.gid}, as_=w.provider))["member"] == hidden
    again = await ok(w, PROPOSE, {**proposal, "startsAt": at(2, 10)}, w.provider)
    await ok(w, CONFIRM, {"sessionId": again["id"]}, phoebe)
    assert (await api.gql(CONTACT, {"id": phoebe.gid}, as_=w.provider))["member"] == own
    assert (await view(w, again["id"], w.provider))["phoneNumber"] == "+44 20 7946 0000"
    assert (await view(w, session["id"], w.provider))["phoneNumber"] == "+44 20 7946 0000"  # the pair's rule


async def test_a_members_own_request_shares_contact_details_with_that_provider_only(api: Api) -> None:
    w = await world(api)
    other = await api.provider("Dr Other")
    await request(w, at(1, 10), modality="PHONE")
    seen = (await api.gql(CONTACT, {"id": w.member.gid}, as_=w.provider))["member"]
    assert seen["email"] == seen["user"]["email"] is not None
    assert await api.gql(CONTACT, {"id": w.member.gid}, as_=other) == {"member": None}
