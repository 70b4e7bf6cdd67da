"""Hypothesis drives random mixes of booking transitions through the API (requests, proposals, answers, new
times, cancellations, refunds, joins, no-shows, the clock moving and the scheduler's expiries) for members with
credits and some with sponsored hours; after each mix the database breaks no money or slot invariant
(`db.invariants`), whatever was refused on the way."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from sessions_gql.db.invariants import violations
from tests.api.lifecycle_helpers import PROPOSE, REQUEST, SET_AVAILABILITY, World, action, advance, world
from tests.harness.app import Api

SPONSOR = """mutation($input: GrantSponsorshipInput!) { grantSponsorship(input: $input) { __typename } }"""
CANCEL = action("cancelSession", "CancelSessionInput")
DECLINE = action("declineSession", "DeclineSessionInput")
NEW_TIME = action("proposeNewTime", "ProposeNewTimeInput")
REJECT = action("rejectNewTime", "RejectNewTimeInput")
REFUND = action("refundSession", "RefundSessionInput")
SIMPLE = {name: action(name) for name in ("confirmSession", "withdrawSession", "acceptNewTime", "withdrawNewTime",
                                          "joinSession", "startSession", "endSession", "markNoShow", "undoNoShow")}
WHO = ("member", "provider")
STEPS = st.one_of(
    st.tuples(st.sampled_from(["request", "propose"]), st.integers(0, 11), st.sampled_from(["VIDEO", "PHONE"])),
    st.tuples(st.sampled_from([*SIMPLE, "cancel", "decline", "reject", "new_time", "refund"]), st.integers(0, 5),
              st.sampled_from(WHO)),
    st.tuples(st.just("advance"), st.sampled_from([20, 55, 240, 1440]), st.just("")),
)


def slot(now: datetime, index: int) -> str:
    """One of 12 hourly starts from 09:00 UTC two days after `now` (every day is bookable)."""
    day = (now + timedelta(days=2)).replace(hour=9, minute=0, second=0, microsecond=0)
    return (day + timedelta(hours=index % 6, days=index // 6)).isoformat()


async def open_all_week(w: World) -> None:
    rules = [{"weekday": day, "start": "00:00", "end": "23:55"} for day in
             ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY")]
    await w.api.gql(SET_AVAILABILITY, {"input": {"timeZone": "UTC", "weeklyRules": rules}}, as_=w.provider)


async def step(api: Api, w: World, sessions: list[str], kind: str, number: int, extra: str) -> None:
    now = api.deps.clock.now()
    if kind == "advance":
        await advance(api, number)
        return
    if kind in ("request", "propose"):
        if kind == "request":
            made = await w.run(REQUEST, {"providerId": w.provider.gid, "serviceId": w.service_id,
                                         "startsAt": slot(now, number), "modality": extra}, w.member)
        else:
            made = await w.run(PROPOSE, {"memberId": w.member.gid, "serviceId": w.service_id,
                                         "startsAt": slot(now, number), "durationMinutes": 60, "priceCredits": 40,
                                         "modality": extra}, w.provider)
        if made["__typename"] == "SessionSuccess":
            sessions.append(made["session"]["id"])
        return
    if not sessions:
        return
    target = {"sessionId": sessions[number % len(sessions)]}
    who = w.member if extra == "member" else w.provider
    inputs: dict[str, tuple[str, dict[str, Any]]] = {
        "cancel": (CANCEL, {"acknowledgeLateCancellation": True}),
        "decline": (DECLINE, {"reason": "OTHER"}),
        "reject": (REJECT, {"reason": "OTHER"}),
        "new_time": (NEW_TIME, {"startsAt": slot(now, number + 6)}),
    }
    if kind == "refund":
        await w.run(REFUND, target, await api.admin())
        return
    document, more = inputs.get(kind, (SIMPLE.get(kind, ""), {}))
    await w.run(document, {**target, **more}, who)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(STEPS, min_size=1, max_size=14), sponsored=st.booleans(), credits=st.sampled_from([50, 200]))
async def test_random_transitions_break_no_money_or_slot_invariant(api: Api, steps: list[tuple[str, int, str]],
                                                                    sponsored: bool, credits: int) -> None:
    w = await world(api, credits=credits)
    await open_all_week(w)
    if sponsored:
        granted = await api.gql(SPONSOR, {"input": {"memberId": w.member.gid, "sponsor": "Acme", "hours": 2.0}},
                                as_=await api.admin())
        assert granted["grantSponsorship"]["__typename"] == "MemberSuccess"
    sessions: list[str] = []
    for kind, number, extra in steps:
        await step(api, w, sessions, kind, number, extra)
    assert await violations(api.deps.engine) == {name: 0 for name in (
        "wallet_not_ledger", "held_not_open_sessions", "sponsorship_not_ledger", "holds_not_state",
        "overlapping_holds", "negative_balances")}


async def test_the_invariant_queries_see_a_held_credit_and_a_hold_that_the_state_does_not_explain(api: Api
                                                                                                 ) -> None:
    w = await world(api)
    await open_all_week(w)
    made = await w.run(REQUEST, {"providerId": w.provider.gid, "serviceId": w.service_id,
                                 "startsAt": slot(api.deps.clock.now(), 0), "modality": "VIDEO"}, w.member)
    assert made["__typename"] == "SessionSuccess"
    clean = await violations(api.deps.engine)
    async with api.deps.engine.begin() as conn:
        await conn.execute(text("UPDATE members SET held_credits = held_credits + 1 WHERE held_credits > 0"))
        await conn.execute(text("DELETE FROM slot_holds WHERE kind = 'session'"))
    broken = await violations(api.deps.engine)
    assert (clean["held_not_open_sessions"], clean["holds_not_state"]) == (0, 0)
    assert (broken["held_not_open_sessions"], broken["holds_not_state"]) == (1, 1)
