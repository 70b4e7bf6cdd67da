"""Cancelling a confirmed session: the member's and the provider's late rules, refund choices, reliability."""

from __future__ import annotations

from sessions_gql.clock import FrozenClock
from tests.api.lifecycle_helpers import (
    BOOKED,
    CANCEL,
    END,
    PROPOSE_NEW_TIME,
    REQUEST,
    START_SESSION,
    at,
    balance,
    book,
    error,
    ledger,
    moved,
    ok,
    provider_state,
    snapshot,
    types,
    view,
    when,
    world,
)
from tests.harness.app import Api

MEMBER_CONSEQUENCE = ("Cancelling less than 24 hours before the start: the 60 credits held for this session "
                      "will not be returned and the provider is paid.")
PROVIDER_CONSEQUENCE = ("Cancelling less than 48 hours before the start: it counts as a late cancellation against "
                        "your reliability, and the member gets the 60 credits held for this session back.")
CLOSED = ["ADD_NOTE", "SEND_MESSAGE"]


def earnings(session: dict[str, object]) -> object:
    money = session["providerEarnings"]
    return money["amount"] if isinstance(money, dict) else money


async def test_member_cancels_24_hours_or_more_ahead_and_gets_everything_back(api: Api, clock: FrozenClock) -> None:
    w = await world(api)
    session = await book(w, at(3, 10))
    assert session["allowedActions"] == ["CANCEL", "PROPOSE_NEW_TIME", "ADD_NOTE", "SEND_MESSAGE"]
    assert (await view(w, session["id"], w.member))["allowedActions"] == ["CANCEL", "PROPOSE_NEW_TIME",
                                                                          "SEND_MESSAGE"]
    clock.set(when(2, 10))  # exactly 24 h before: not late
    refund = await w.run(CANCEL, {"sessionId": session["id"], "refund": {"kind": "NONE"}}, w.member)
    assert error(refund) == ("BasicError", "VALIDATION", "refund")  # members do not choose a refund
    cancelled = await ok(w, CANCEL, {"sessionId": session["id"], "reason": "SCHEDULE_CONFLICT"}, w.member)
    assert (cancelled["status"], cancelled["paymentStatus"], cancelled["version"]) == ("CANCELLED", "RETURNED", 3)
    assert cancelled["cancellation"] == {"by": "MEMBER", "reason": "SCHEDULE_CONFLICT", "late": False}
    assert types(cancelled) == [*BOOKED, "CANCELLED_BY_MEMBER", "FUNDS_RETURNED", "VIDEO_ROOM_CANCELLED"]
    wallet = await w.wallet()
    assert (balance(wallet), ledger(wallet)) == ((200, 0), [("RELEASE", 60), ("HOLD", 60), ("GRANT", 200)])
    theirs = await view(w, session["id"], w.provider)
    assert (theirs["status"], theirs["allowedActions"], earnings(theirs)) == ("CANCELLED", CLOSED, "0.00")
    assert (await provider_state(w))["reliability"]["consecutiveCancellations"] == 0


async def test_member_late_cancellation_needs_acknowledgement_and_pays_the_provider(api: Api, clock: FrozenClock
                                                                                   ) -> None:
    w = await world(api)
    session = await book(w, at(1, 10))
    clock.set(when(0, 10, 1))  # 23 h 59 min before the start
    before = await snapshot(w, session["id"])
    refused = await w.run(CANCEL, {"sessionId": session["id"]}, w.member)
    assert error(refused) == ("LateCancellationError", "LATE_CANCELLATION_UNACKNOWLEDGED",
                              "acknowledgeLateCancellation")
    assert (refused["windowHours"], refused["creditsAtStake"], refused["consequence"]) == (24, 60, MEMBER_CONSEQUENCE)
    assert await snapshot(w, session["id"]) == before
    cancelled = await ok(w, CANCEL, {"sessionId": session["id"], "acknowledgeLateCancellation": True}, w.member)
    assert (cancelled["status"], cancelled["paymentStatus"]) == ("CANCELLED", "CAPTURED")
    assert cancelled["cancellation"] == {"by": "MEMBER", "reason": None, "late": True}
    assert types(cancelled)[5:] == ["CANCELLED_BY_MEMBER", "FUNDS_CAPTURED", "VIDEO_ROOM_CANCELLED"]
    assert moved(cancelled)[-1] == ("FUNDS_CAPTURED", 60)
    wallet = await w.wallet()
    assert (balance(wallet), ledger(wallet)) == ((140, 0), [("CAPTURE", 60), ("HOLD", 60), ("GRANT", 200)])
    assert cancelled["allowedActions"] == ["SEND_MESSAGE"]
    assert earnings(await view(w, session["id"], w.member)) is None
    theirs = await view(w, session["id"], w.provider)
    assert theirs["providerEarnings"] == {"amount": "45.00", "currency": "GBP"}  # 50.00 less 10 % commission
    assert theirs["allowedActions"] == ["REFUND", "ADD_NOTE", "SEND_MESSAGE"]
    assert (await provider_state(w))["reliability"]["consecutiveCancellations"] == 0


async def test_member_cannot_cancel_after_the_start(api: Api, clock: FrozenClock) -> None:
    w = await world(api)
    session = await book(w, at(1, 10))
    clock.set(when(1, 10))
    before = await snapshot(w, session["id"])
    assert "CANCEL" not in before[1]["allowedActions"]
    late = await w.run(CANCEL, {"sessionId": session["id"], "acknowledgeLateCancellation": True}, w.member)
    assert error(late) == ("BasicError", "TOO_LATE", None)
    assert await snapshot(w, session["id"]) == before


async def test_provider_cancels_48_hours_or_more_ahead_with_a_reason(api: Api) -> None:
    w = await world(api)
    session = await book(w, at(3, 10))  # 74 h ahead
    before = await snapshot(w, session["id"])
    no_reason = await w.run(CANCEL, {"sessionId": session["id"]}, w.provider)
    assert error(no_reason) == ("BasicError", "VALIDATION", "reason")
    assert await snapshot(w, session["id"]) == before
    cancelled = await ok(w, CANCEL, {"sessionId": session["id"], "reason": "ILLNESS", "note": "flu"}, w.provider)
    assert (cancelled["status"], cancelled["paymentStatus"]) == ("CANCELLED", "RETURNED")
    assert cancelled["cancellation"] == {"by": "PROVIDER", "reason": "ILLNESS", "late": False}
    assert types(cancelled)[5:] == ["CANCELLED_BY_PROVIDER", "FUNDS_RETURNED", "VIDEO_ROOM_CANCELLED"]
    assert cancelled["timeline"]["edges"][5]["node"]["reason"] == "ILLNESS"
    assert balance(await w.wallet()) == (200, 0)
    assert (await view(w, session["id"], w.member))["cancellation"]["by"] == "PROVIDER"
    reliability = (await provider_state(w))["reliability"]
    assert (reliability["consecutiveCancellations"], reliability["lateCancellations"], reliability["flagged"]) == (
        1, 0, False)


async def test_provider_late_cancellation_needs_acknowledgement_and_counts_as_late(api: Api, clock: FrozenClock
                                                                                   ) -> None:
    w = await world(api)
    session = await book(w, at(2, 10))
    clock.set(when(0, 10, 1))  # 47 h 59 min ahead
    before = await snapshot(w, session["id"])
    refused = await w.run(CANCEL, {"sessionId": session["id"], "reason": "EMERGENCY"}, w.provider)
    assert error(refused) == ("LateCancellationError", "LATE_CANCELLATION_UNACKNOWLEDGED",
                              "acknowledgeLateCancellation")
    assert (refused["windowHours"], refused["creditsAtStake"], refused["consequence"]) == (
        48, 60, PROVIDER_CONSEQUENCE)
    assert await snapshot(w, session["id"]) == before
    cancelled = await ok(w, CANCEL, {"sessionId": session["id"], "reason": "EMERGENCY",
                                     "acknowledgeLateCancellation": True}, w.provider)
    assert (cancelled["paymentStatus"], cancelled["cancellation"]) == (
        "RETURNED", {"by": "PROVIDER", "reason": "EMERGENCY", "late": True})
    assert balance(await w.wallet()) == (200, 0)
    reliability = (await provider_state(w))["reliability"]
    assert (reliability["consecutiveCancellations"], reliability["lateCancellations"]) == (1, 1)


async def test_provider_refund_choices(api: Api) -> None:
    w = await world(api, credits=300)
    partial, none, full = [await book(w, at(3, h)) for h in (9, 11, 13)]
    for refund in ({"kind": "PARTIAL"}, {"kind": "PARTIAL", "credits": 61}, {"kind": "PARTIAL", "credits": 0},
                   {"kind": "FULL", "credits": 10}):
        bad = await w.run(CANCEL, {"sessionId": partial["id"], "reason": "OTHER", "refund": refund}, w.provider)
        assert error(bad) == ("BasicError", "VALIDATION", "refund"), refund
    base = {"reason": "PROVIDER_REQUEST"}
    some = await ok(w, CANCEL, {**base, "sessionId": partial["id"], "refund": {"kind": "PARTIAL", "credits": 20}},
                    w.provider)
    assert (some["paymentStatus"], some["refundedCredits"]) == ("PARTIALLY_REFUNDED", 20)
    assert types(some)[5:] == ["CANCELLED_BY_PROVIDER", "FUNDS_CAPTURED", "REFUNDED", "VIDEO_ROOM_CANCELLED"]
    assert moved(some)[-2:] == [("FUNDS_CAPTURED", 60), ("REFUNDED", 20)]
    assert earnings(await view(w, partial["id"], w.provider)) == "30.00"  # 45.00 * 40 / 60
    wallet = await w.wallet()
    assert (balance(wallet), ledger(wallet)[:2]) == ((140, 120), [("REFUND", 20), ("CAPTURE", 60)])
    kept = await ok(w, CANCEL, {**base, "sessionId": none["id"], "refund": {"kind": "NONE"}}, w.provider)
    assert (kept["paymentStatus"], kept["refundedCredits"]) == ("CAPTURED", 0)
    assert types(kept)[5:] == ["CANCELLED_BY_PROVIDER", "FUNDS_CAPTURED", "VIDEO_ROOM_CANCELLED"]
    assert earnings(await view(w, none["id"], w.provider)) == "45.00"
    back = await ok(w, CANCEL, {**base, "sessionId": full["id"], "refund": {"kind": "FULL"}}, w.provider)
    assert (back["paymentStatus"], types(back)[6]) == ("RETURNED", "FUNDS_RETURNED")
    assert balance(await w.wallet()) == (200, 0)  # 300 - 40 kept - 60 kept
    assert (await provider_state(w))["reliability"]["consecutiveCancellations"] == 3


async def test_admin_cancels_without_acknowledgement_and_without_counting_against_the_provider(
        api: Api, clock: FrozenClock) -> None:
    w = await world(api)
    admin = await api.admin()
    session, other = await book(w, at(1, 10)), await book(w, at(1, 12))
    clock.set(when(0, 20))  # 14 h before: inside both late windows
    cancelled = await ok(w, CANCEL, {"sessionId": session["id"], "reason": "TECHNICAL_ISSUE"}, admin)
    assert cancelled["cancellation"] == {"by": "ADMIN", "reason": "TECHNICAL_ISSUE", "late": True}
    assert types(cancelled)[5:] == ["CANCELLED_BY_ADMIN", "FUNDS_RETURNED", "VIDEO_ROOM_CANCELLED"]
    assert [e["node"]["actorRole"] for e in cancelled["timeline"]["edges"]][5:] == ["ADMIN", "ADMIN", None]
    for who in (w.member, w.provider):
        assert (await view(w, session["id"], who))["status"] == "CANCELLED"
    kept = await ok(w, CANCEL, {"sessionId": other["id"], "refund": {"kind": "NONE"}}, admin)
    assert kept["paymentStatus"] == "CAPTURED"
    assert earnings(await view(w, other["id"], w.provider)) == "45.00"
    assert balance(await w.wallet()) == (140, 0)
    reliability = (await provider_state(w))["reliability"]
    assert (reliability["consecutiveCancellations"], reliability["lateCancellations"]) == (0, 0)


async def test_cancel_is_refused_for_strangers_and_closed_sessions(api: Api) -> None:
    w = await world(api)
    session = await book(w, at(3, 10))
    stranger = await api.member("Stranger", credits=10)
    assert error(await w.run(CANCEL, {"sessionId": session["id"]}, stranger)) == ("BasicError", "NOT_FOUND",
                                                                                 "sessionId")
    await ok(w, CANCEL, {"sessionId": session["id"]}, w.member)
    again = await w.run(CANCEL, {"sessionId": session["id"]}, w.member)
    assert error(again) == ("BasicError", "INVALID_TRANSITION", None)


async def test_three_provider_cancellations_flag_and_a_completed_session_resets_the_streak(
        api: Api, clock: FrozenClock) -> None:
    w = await world(api, credits=400)
    kept = await book(w, at(1, 10))
    for hour in (9, 11, 13):
        session = await book(w, at(3, hour))
        await ok(w, CANCEL, {"sessionId": session["id"], "reason": "SCHEDULE_CONFLICT"}, w.provider)
    state = await provider_state(w, await api.admin())
    assert (state["visibility"], state["reliability"]["consecutiveCancellations"], state["reliability"]["flagged"]) \
        == ("ACTIVE", 3, True)
    clock.set(when(1, 9, 55))
    await ok(w, START_SESSION, {"sessionId": kept["id"]}, w.provider)
    clock.set(when(1, 11))
    await ok(w, END, {"sessionId": kept["id"]}, w.provider)
    reliability = (await provider_state(w))["reliability"]
    assert (reliability["consecutiveCancellations"], reliability["flagged"]) == (0, False)


async def test_fifth_provider_cancellation_in_a_row_deactivates(api: Api) -> None:
    w = await world(api, credits=400)
    for hour in (8, 10, 12, 14, 16):
        session = await book(w, at(4, hour))
        await ok(w, CANCEL, {"sessionId": session["id"], "reason": "SCHEDULE_CONFLICT"}, w.provider)
        state = await provider_state(w)
        expected = "DEACTIVATED" if hour == 16 else "ACTIVE"
        assert (state["visibility"], state["reliability"]["flagged"]) == (expected, hour >= 12), hour
    assert (await provider_state(w))["reliability"]["consecutiveCancellations"] == 5
    refused = await w.run(REQUEST, {"providerId": w.provider.gid, "serviceId": w.service_id, "startsAt": at(3, 10),
                                    "modality": "VIDEO"}, w.member)
    assert error(refused) == ("BasicError", "PROVIDER_UNAVAILABLE", "providerId")
    assert balance(await w.wallet()) == (400, 0)


async def test_cancelling_a_rescheduling_session_frees_both_times(api: Api, clock: FrozenClock) -> None:
    w = await world(api)
    other = await api.member("Other", credits=200)
    session = await book(w, at(1, 10))
    await ok(w, PROPOSE_NEW_TIME, {"sessionId": session["id"], "startsAt": at(3, 10)}, w.member)
    clock.set(when(0, 10, 1))  # late against the original start, though the new time is days away
    refused = await w.run(CANCEL, {"sessionId": session["id"]}, w.member)
    assert (refused["__typename"], refused["windowHours"]) == ("LateCancellationError", 24)
    cancelled = await ok(w, CANCEL, {"sessionId": session["id"], "acknowledgeLateCancellation": True}, w.member)
    assert (cancelled["status"], cancelled["proposal"], cancelled["cancellation"]["late"]) == ("CANCELLED", None, True)
    assert types(cancelled)[-3:] == ["CANCELLED_BY_MEMBER", "FUNDS_CAPTURED", "VIDEO_ROOM_CANCELLED"]
    for starts_at in (at(1, 10), at(3, 10)):
        await ok(w, REQUEST, {"providerId": w.provider.gid, "serviceId": w.service_id, "startsAt": starts_at,
                              "modality": "VIDEO"}, other)
