"""New times: propose (reschedule, counter-offer, re-propose), accept, reject, withdraw, and expiry at the start."""

from __future__ import annotations

from sessions_gql.clock import FrozenClock
from tests.api.lifecycle_helpers import (
    ACCEPT_NEW_TIME,
    BOOKED,
    CONFIRM,
    DECLINE,
    PROPOSE,
    PROPOSE_NEW_TIME,
    REJECT_NEW_TIME,
    REQUEST,
    WITHDRAW_NEW_TIME,
    World,
    advance,
    at,
    balance,
    book,
    error,
    ledger,
    ok,
    request,
    snapshot,
    types,
    view,
    when,
    world,
)
from tests.harness.app import Api, Person


async def try_request(w: World, starts_at: str, member: Person) -> dict[str, object]:
    return await w.run(REQUEST, {"providerId": w.provider.gid, "serviceId": w.service_id, "startsAt": starts_at,
                                 "modality": "VIDEO"}, member)


async def test_member_proposes_a_new_time_holding_both_and_the_provider_accepts(api: Api) -> None:
    w = await world(api)
    other = await api.member("Other", credits=200)
    session = await book(w, at(3, 10))
    outside = await w.run(PROPOSE_NEW_TIME, {"sessionId": session["id"], "startsAt": at(3, 19)}, w.member)
    assert error(outside) == ("BasicError", "SLOT_UNAVAILABLE", "startsAt")  # a member keeps to availability
    moving = await ok(w, PROPOSE_NEW_TIME, {"sessionId": session["id"], "startsAt": at(3, 14)}, w.member)
    assert (moving["status"], moving["startsAt"], moving["version"]) == ("RESCHEDULING", at(3, 10), 3)
    assert moving["proposal"] == {"startsAt": at(3, 14), "proposedBy": "MEMBER"}
    assert (moving["approvals"], moving["awaitingResponseFrom"]) == ({"member": True, "provider": False}, "PROVIDER")
    assert types(moving) == [*BOOKED, "NEW_TIME_PROPOSED", "APPROVED_BY_MEMBER"]
    detail = (await view(w, session["id"], w.member))["timelineDetail"]["edges"][-2]["node"]
    assert (detail["previousStartsAt"], detail["newStartsAt"]) == (at(3, 10), at(3, 14))
    assert moving["allowedActions"] == ["CANCEL", "PROPOSE_NEW_TIME", "WITHDRAW_NEW_TIME", "SEND_MESSAGE"]
    theirs = await view(w, session["id"], w.provider)
    assert theirs["allowedActions"] == ["CANCEL", "PROPOSE_NEW_TIME", "ACCEPT_NEW_TIME", "REJECT_NEW_TIME",
                                        "ADD_NOTE", "SEND_MESSAGE"]
    for held in (at(3, 10), at(3, 14)):  # the original time stays valid until accepted
        assert error(await try_request(w, held, other)) == ("BasicError", "SLOT_UNAVAILABLE", "startsAt")
    before = await snapshot(w, session["id"])
    own = await w.run(ACCEPT_NEW_TIME, {"sessionId": session["id"]}, w.member)
    assert error(own) == ("BasicError", "FORBIDDEN", None)
    assert await snapshot(w, session["id"]) == before
    accepted = await ok(w, ACCEPT_NEW_TIME, {"sessionId": session["id"]}, w.provider)
    assert (accepted["status"], accepted["startsAt"], accepted["endsAt"]) == ("CONFIRMED", at(3, 14), at(3, 15))
    assert (accepted["proposal"], accepted["approvals"]) == (None, {"member": True, "provider": True})
    assert types(accepted) == [*BOOKED, "NEW_TIME_PROPOSED", "APPROVED_BY_MEMBER", "NEW_TIME_ACCEPTED"]
    assert (await view(w, session["id"], w.member))["startsAt"] == at(3, 14)
    wallet = await w.wallet()
    assert (balance(wallet), ledger(wallet)) == ((140, 60), [("HOLD", 60), ("GRANT", 200)])
    assert (await try_request(w, at(3, 10), other))["__typename"] == "SessionSuccess"  # the original slot is free


async def test_provider_proposes_outside_availability_and_the_member_rejects(api: Api) -> None:
    w = await world(api)
    other = await api.member("Other", credits=200)
    session = await book(w, at(3, 10))
    moving = await ok(w, PROPOSE_NEW_TIME, {"sessionId": session["id"], "startsAt": at(3, 7)}, w.provider)
    assert (moving["status"], moving["proposal"]) == ("RESCHEDULING", {"startsAt": at(3, 7), "proposedBy": "PROVIDER"})
    newer = await ok(w, PROPOSE_NEW_TIME, {"sessionId": session["id"], "startsAt": at(3, 12)}, w.provider)
    assert newer["proposal"] == {"startsAt": at(3, 12), "proposedBy": "PROVIDER"}  # replaces the older one
    assert error(await try_request(w, at(3, 12), other)) == ("BasicError", "SLOT_UNAVAILABLE", "startsAt")
    missing = await w.run(REJECT_NEW_TIME, {"sessionId": session["id"], "reason": "OTHER"}, w.provider)
    assert error(missing) == ("BasicError", "FORBIDDEN", None)
    rejected = await ok(w, REJECT_NEW_TIME, {"sessionId": session["id"], "reason": "NOT_AVAILABLE",
                                             "note": "mornings only"}, w.member)
    assert (rejected["status"], rejected["startsAt"], rejected["proposal"]) == ("CONFIRMED", at(3, 10), None)
    assert types(rejected) == [*BOOKED, "NEW_TIME_PROPOSED", "APPROVED_BY_PROVIDER", "NEW_TIME_PROPOSED",
                              "APPROVED_BY_PROVIDER", "NEW_TIME_REJECTED"]
    last = rejected["timeline"]["edges"][-1]["node"]
    assert (last["reason"], last["actorRole"], last["fromStatus"], last["toStatus"]) == (
        "NOT_AVAILABLE", "MEMBER", "RESCHEDULING", "CONFIRMED")
    assert (await view(w, session["id"], w.provider))["status"] == "CONFIRMED"
    assert (await try_request(w, at(3, 12), other))["__typename"] == "SessionSuccess"  # the proposed slot is free
    assert balance(await w.wallet()) == (140, 60)


async def test_the_proposer_withdraws_a_new_time(api: Api) -> None:
    w = await world(api)
    session = await book(w, at(3, 10))
    await ok(w, PROPOSE_NEW_TIME, {"sessionId": session["id"], "startsAt": at(3, 15)}, w.provider)
    not_mine = await w.run(WITHDRAW_NEW_TIME, {"sessionId": session["id"]}, w.member)
    assert error(not_mine) == ("BasicError", "FORBIDDEN", None)
    withdrawn = await ok(w, WITHDRAW_NEW_TIME, {"sessionId": session["id"]}, w.provider)
    assert (withdrawn["status"], withdrawn["startsAt"], withdrawn["proposal"]) == ("CONFIRMED", at(3, 10), None)
    assert types(withdrawn)[-1] == "NEW_TIME_WITHDRAWN"
    assert withdrawn["approvals"] == {"member": True, "provider": True}
    again = await w.run(WITHDRAW_NEW_TIME, {"sessionId": session["id"]}, w.provider)
    assert error(again) == ("BasicError", "INVALID_TRANSITION", None)
    assert (await view(w, session["id"], w.member))["allowedActions"] == ["CANCEL", "PROPOSE_NEW_TIME",
                                                                          "SEND_MESSAGE"]


async def test_counter_offer_replaces_the_time_of_a_pending_request(api: Api) -> None:
    w = await world(api)
    session = await request(w, at(3, 10))
    same = await w.run(PROPOSE_NEW_TIME, {"sessionId": session["id"], "startsAt": at(3, 10)}, w.provider)
    assert error(same) == ("BasicError", "VALIDATION", "startsAt")
    countered = await ok(w, PROPOSE_NEW_TIME, {"sessionId": session["id"], "startsAt": at(3, 15)}, w.provider)
    assert (countered["status"], countered["startsAt"], countered["proposal"]) == ("AWAITING_APPROVAL", at(3, 15),
                                                                                   None)
    assert (countered["approvals"], countered["awaitingResponseFrom"]) == (
        {"member": False, "provider": True}, "MEMBER")
    assert countered["respondBy"] == at(1, 8)
    assert types(countered) == ["REQUESTED", "APPROVED_BY_MEMBER", "FUNDS_HELD", "NEW_TIME_PROPOSED",
                                "APPROVED_BY_PROVIDER"]
    assert (await view(w, session["id"], w.member))["allowedActions"] == ["CONFIRM", "DECLINE", "PROPOSE_NEW_TIME",
                                                                          "SEND_MESSAGE"]
    confirmed = await ok(w, CONFIRM, {"sessionId": session["id"]}, w.member)
    assert (confirmed["status"], confirmed["startsAt"]) == ("CONFIRMED", at(3, 15))
    assert types(confirmed)[5:] == ["APPROVED_BY_MEMBER", "VIDEO_ROOM_CREATED"]  # nothing held twice
    wallet = await w.wallet()
    assert (balance(wallet), ledger(wallet)) == ((140, 60), [("HOLD", 60), ("GRANT", 200)])


async def test_provider_reproposes_a_declined_session_and_the_member_pays_on_accepting(api: Api) -> None:
    w = await world(api)
    session = await request(w, at(3, 10))
    await ok(w, DECLINE, {"sessionId": session["id"], "reason": "NOT_AVAILABLE"}, w.provider)
    member_try = await w.run(PROPOSE_NEW_TIME, {"sessionId": session["id"], "startsAt": at(3, 12)}, w.member)
    assert error(member_try) == ("BasicError", "FORBIDDEN", None)
    again = await ok(w, PROPOSE_NEW_TIME, {"sessionId": session["id"], "startsAt": at(3, 12)}, w.provider)
    assert (again["status"], again["startsAt"], again["paymentStatus"], again["funding"]) == (
        "AWAITING_APPROVAL", at(3, 12), "NONE", None)
    assert again["approvals"] == {"member": False, "provider": True}
    assert types(again)[5:] == ["NEW_TIME_PROPOSED", "APPROVED_BY_PROVIDER"]
    assert balance(await w.wallet()) == (200, 0)
    confirmed = await ok(w, CONFIRM, {"sessionId": session["id"]}, w.member)
    assert (confirmed["status"], confirmed["paymentStatus"], confirmed["funding"]) == ("CONFIRMED", "HELD", "CREDITS")
    assert types(confirmed)[7:] == ["APPROVED_BY_MEMBER", "FUNDS_HELD", "VIDEO_ROOM_CREATED"]
    wallet = await w.wallet()
    assert (balance(wallet), ledger(wallet)) == ((140, 60), [("HOLD", 60), ("RELEASE", 60), ("HOLD", 60),
                                                             ("GRANT", 200)])


async def test_new_time_refusals(api: Api, clock: FrozenClock) -> None:
    w = await world(api)
    elsewhere = await world(api)
    await request(elsewhere, at(3, 14), member=w.member)
    session = await book(w, at(1, 10))
    before = await snapshot(w, session["id"])
    clash = await w.run(PROPOSE_NEW_TIME, {"sessionId": session["id"], "startsAt": at(3, 14, 30)}, w.member)
    assert error(clash) == ("ScheduleConflictError", "SCHEDULE_CONFLICT", "startsAt")
    assert clash["conflicts"] == [{"startsAt": at(3, 14), "endsAt": at(3, 15)}]
    their_clash = await w.run(PROPOSE_NEW_TIME, {"sessionId": session["id"], "startsAt": at(3, 14)}, w.provider)
    assert error(their_clash) == ("BasicError", "SLOT_UNAVAILABLE", "startsAt")  # the member is busy then
    past = await w.run(PROPOSE_NEW_TIME, {"sessionId": session["id"], "startsAt": at(0, 7)}, w.provider)
    assert error(past) == ("BasicError", "VALIDATION", "startsAt")
    assert await snapshot(w, session["id"]) == before
    await ok(w, PROPOSE_NEW_TIME, {"sessionId": session["id"], "startsAt": at(2, 10)}, w.member)
    clock.set(when(1, 10))
    for document, who, extra in [(ACCEPT_NEW_TIME, w.provider, {}), (REJECT_NEW_TIME, w.provider,
                                                                     {"reason": "OTHER"}),
                                 (WITHDRAW_NEW_TIME, w.member, {}), (PROPOSE_NEW_TIME, w.member,
                                                                     {"startsAt": at(2, 12)})]:
        late = await w.run(document, {"sessionId": session["id"], **extra}, who)
        assert error(late) == ("BasicError", "TOO_LATE", None), document


async def test_a_pending_new_time_expires_at_the_original_start(api: Api) -> None:
    w = await world(api)
    session = await book(w, at(1, 10))
    await ok(w, PROPOSE_NEW_TIME, {"sessionId": session["id"], "startsAt": at(2, 10)}, w.member)
    assert await advance(api, 26 * 60 - 1) == at(1, 9, 59)
    assert (await view(w, session["id"], w.member))["status"] == "RESCHEDULING"
    assert await advance(api, 6) == at(1, 10, 5)
    expired = await view(w, session["id"], w.provider)
    assert (expired["status"], expired["startsAt"], expired["proposal"]) == ("CONFIRMED", at(1, 10), None)
    assert types(expired) == [*BOOKED, "NEW_TIME_PROPOSED", "APPROVED_BY_MEMBER", "REMINDER_SENT", "REMINDER_SENT",
                             "EXPIRED"]
    last = expired["timeline"]["edges"][-1]["node"]
    assert (last["actorRole"], last["reason"], last["fromStatus"], last["toStatus"]) == (
        None, "PROPOSAL", "RESCHEDULING", "CONFIRMED")
    assert balance(await w.wallet()) == (140, 60)
    other = await api.member("Other", credits=200)
    assert (await try_request(w, at(2, 10), other))["__typename"] == "SessionSuccess"


async def test_provider_accepts_the_members_counter_offer_to_a_proposal_and_funds_are_held(api: Api) -> None:
    w = await world(api)
    offer = await ok(w, PROPOSE, {"memberId": w.member.gid, "serviceId": w.service_id, "startsAt": at(3, 19),
                                  "durationMinutes": 60, "priceCredits": 50, "modality": "VIDEO"}, w.provider)
    countered = await ok(w, PROPOSE_NEW_TIME, {"sessionId": offer["id"], "startsAt": at(3, 11)}, w.member)
    assert (countered["status"], countered["startsAt"], countered["awaitingResponseFrom"]) == (
        "AWAITING_APPROVAL", at(3, 11), "PROVIDER")
    assert (countered["paymentStatus"], balance(await w.wallet())) == ("NONE", (200, 0))
    confirmed = await ok(w, CONFIRM, {"sessionId": offer["id"]}, w.provider)
    assert (confirmed["status"], confirmed["paymentStatus"], confirmed["funding"]) == ("CONFIRMED", "HELD", "CREDITS")
    assert types(confirmed) == ["PROPOSED", "APPROVED_BY_PROVIDER", "NEW_TIME_PROPOSED", "APPROVED_BY_MEMBER",
                                "APPROVED_BY_PROVIDER", "FUNDS_HELD", "VIDEO_ROOM_CREATED"]
    wallet = await w.wallet()
    assert (balance(wallet), ledger(wallet)) == ((150, 50), [("HOLD", 50), ("GRANT", 200)])


async def test_a_new_time_may_overlap_the_sessions_own_original_time(api: Api) -> None:
    w = await world(api)
    session = await book(w, at(3, 10))
    await ok(w, PROPOSE_NEW_TIME, {"sessionId": session["id"], "startsAt": at(3, 10, 30)}, w.member)
    accepted = await ok(w, ACCEPT_NEW_TIME, {"sessionId": session["id"]}, w.provider)
    assert (accepted["status"], accepted["startsAt"], accepted["endsAt"]) == ("CONFIRMED", at(3, 10, 30),
                                                                              at(3, 11, 30))
