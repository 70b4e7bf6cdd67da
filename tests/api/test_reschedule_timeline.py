"""The timeline of a new time (seed 003): every proposal records the new time and the proposer's approval, and the
answers record who answered, from/to which status, and the old and new times; both parties read the same history."""

from __future__ import annotations

from typing import Any

from sessions_gql.clock import FrozenClock
from tests.api.lifecycle_helpers import (
    ACCEPT_NEW_TIME,
    BOOKED,
    PROPOSE_NEW_TIME,
    REJECT_NEW_TIME,
    WITHDRAW_NEW_TIME,
    World,
    at,
    book,
    error,
    ok,
    request,
    snapshot,
    when,
    world,
)
from tests.harness.app import Api, Person

HISTORY = """query($id: ID!) { session(id: $id) { version timeline(first: 50) { edges { node {
  type actorRole actor { displayName } at fromStatus toStatus reason note previousStartsAt newStartsAt } } } } }"""
NOTIFICATIONS = "{ notifications(first: 20) { edges { node { kind } } } }"
CHAT = "query($id: ID!) { session(id: $id) { conversation { messages(last: 20) { edges { node { body } } } } } }"


def event(type_: str, actor: Person | None, role: str | None, at_: str, from_: str | None = None,
          to: str | None = None, previous: str | None = None, new: str | None = None, reason: str | None = None,
          note: str | None = None, *, name: str | None = None) -> dict[str, Any]:
    return {"type": type_, "actorRole": role, "actor": {"displayName": name} if actor else None, "at": at_,
            "fromStatus": from_, "toStatus": to, "reason": reason, "note": note, "previousStartsAt": previous,
            "newStartsAt": new}


def provider_event(w: World, type_: str, at_: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    return event(type_, w.provider, "PROVIDER", at_, *args, name="Dr Lane", **kwargs)


def member_event(w: World, type_: str, at_: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    return event(type_, w.member, "MEMBER", at_, *args, name="Sam Member", **kwargs)


async def history(w: World, session_id: str) -> list[dict[str, Any]]:
    """The timeline as the member reads it, after checking that the provider reads exactly the same."""
    seen = [await w.api.gql(HISTORY, {"id": session_id}, as_=who) for who in (w.member, w.provider)]
    assert seen[0] == seen[1]
    return [edge["node"] for edge in seen[0]["session"]["timeline"]["edges"]]


def kinds(events: list[dict[str, Any]]) -> list[str]:
    return [e["type"] for e in events]


async def notified(w: World, who: Person) -> list[str]:
    data = await w.api.gql(NOTIFICATIONS, as_=who)
    return [edge["node"]["kind"] for edge in data["notifications"]["edges"]]


async def chat(w: World, session_id: str) -> list[str]:
    data = await w.api.gql(CHAT, {"id": session_id}, as_=w.member)
    return [edge["node"]["body"] for edge in data["session"]["conversation"]["messages"]["edges"]]


async def test_provider_reschedules_a_confirmed_session_and_the_member_accepts(api: Api, clock: FrozenClock) -> None:
    w = await world(api)
    session = await book(w, at(3, 10))
    clock.set(when(0, 9))
    await ok(w, PROPOSE_NEW_TIME, {"sessionId": session["id"], "startsAt": at(3, 14)}, w.provider)
    events = await history(w, session["id"])
    assert kinds(events[:5]) == BOOKED
    assert events[5:] == [
        provider_event(w, "NEW_TIME_PROPOSED", at(0, 9), "CONFIRMED", "RESCHEDULING", at(3, 10), at(3, 14)),
        provider_event(w, "APPROVED_BY_PROVIDER", at(0, 9)),
    ]
    assert (await notified(w, w.member)).count("NEW_TIME_PROPOSED") == 1  # one proposal, one notification
    proposed = ("New time proposed: Thu 26 Nov 15:00 (Europe/Berlin) / Thu 26 Nov 14:00 (Europe/London) "
                "(was Thu 26 Nov 11:00 (Europe/Berlin) / Thu 26 Nov 10:00 (Europe/London))")
    assert (await chat(w, session["id"]))[-1] == proposed
    assert [b for b in await chat(w, session["id"]) if b.startswith("New time")] == [
        proposed]  # the approval posts no message
    clock.set(when(0, 10))
    accepted = await ok(w, ACCEPT_NEW_TIME, {"sessionId": session["id"]}, w.member)
    assert (accepted["status"], accepted["startsAt"]) == ("CONFIRMED", at(3, 14))
    assert (await history(w, session["id"]))[7:] == [
        member_event(w, "NEW_TIME_ACCEPTED", at(0, 10), "RESCHEDULING", "CONFIRMED", at(3, 10), at(3, 14)),
    ]


async def test_member_reschedules_a_confirmed_session_and_the_provider_rejects(api: Api, clock: FrozenClock) -> None:
    w = await world(api)
    session = await book(w, at(3, 10))
    clock.set(when(0, 9))
    moving = await ok(w, PROPOSE_NEW_TIME, {"sessionId": session["id"], "startsAt": at(3, 14)}, w.member)
    assert (moving["status"], moving["approvals"]) == ("RESCHEDULING", {"member": True, "provider": False})
    assert (await history(w, session["id"]))[5:] == [
        member_event(w, "NEW_TIME_PROPOSED", at(0, 9), "CONFIRMED", "RESCHEDULING", at(3, 10), at(3, 14)),
        member_event(w, "APPROVED_BY_MEMBER", at(0, 9)),
    ]
    before = await snapshot(w, session["id"])
    own = await w.run(ACCEPT_NEW_TIME, {"sessionId": session["id"]}, w.member)  # the proposer cannot accept it
    assert error(own) == ("BasicError", "FORBIDDEN", None)
    assert own["message"] == "only the party asked to answer may accept the new time of this session"
    same = await w.run(PROPOSE_NEW_TIME, {"sessionId": session["id"], "startsAt": at(3, 14)}, w.provider)
    assert (error(same), same["message"]) == (("BasicError", "VALIDATION", "startsAt"),
                                              "this time is already on the table")
    assert await snapshot(w, session["id"]) == before  # refusals record nothing
    clock.set(when(0, 11))
    await ok(w, REJECT_NEW_TIME, {"sessionId": session["id"], "reason": "NOT_AVAILABLE", "note": "busy then"},
             w.provider)
    assert (await history(w, session["id"]))[7:] == [
        provider_event(w, "NEW_TIME_REJECTED", at(0, 11), "RESCHEDULING", "CONFIRMED", at(3, 10), at(3, 14),
                       reason="NOT_AVAILABLE", note="busy then"),
    ]


async def test_a_newer_proposal_by_the_other_party_records_its_own_approval(api: Api, clock: FrozenClock) -> None:
    w = await world(api)
    session = await book(w, at(3, 10))
    clock.set(when(0, 9))
    await ok(w, PROPOSE_NEW_TIME, {"sessionId": session["id"], "startsAt": at(3, 14)}, w.provider)
    clock.set(when(0, 9, 30))
    newer = await ok(w, PROPOSE_NEW_TIME, {"sessionId": session["id"], "startsAt": at(3, 16)}, w.member)
    assert (newer["proposal"], newer["awaitingResponseFrom"]) == ({"startsAt": at(3, 16), "proposedBy": "MEMBER"},
                                                                  "PROVIDER")
    assert (await history(w, session["id"]))[5:] == [
        provider_event(w, "NEW_TIME_PROPOSED", at(0, 9), "CONFIRMED", "RESCHEDULING", at(3, 10), at(3, 14)),
        provider_event(w, "APPROVED_BY_PROVIDER", at(0, 9)),
        member_event(w, "NEW_TIME_PROPOSED", at(0, 9, 30), "RESCHEDULING", "RESCHEDULING", at(3, 10), at(3, 16)),
        member_event(w, "APPROVED_BY_MEMBER", at(0, 9, 30)),
    ]


async def test_a_counter_offer_on_a_pending_request_replaces_the_time(api: Api, clock: FrozenClock) -> None:
    w = await world(api)
    session = await request(w, at(3, 10))
    clock.set(when(0, 9))
    countered = await ok(w, PROPOSE_NEW_TIME, {"sessionId": session["id"], "startsAt": at(3, 15)}, w.provider)
    assert (countered["status"], countered["startsAt"], countered["proposal"]) == ("AWAITING_APPROVAL", at(3, 15),
                                                                                   None)
    events = await history(w, session["id"])
    assert kinds(events[:3]) == ["REQUESTED", "APPROVED_BY_MEMBER", "FUNDS_HELD"]
    assert events[3:] == [
        provider_event(w, "NEW_TIME_PROPOSED", at(0, 9), "AWAITING_APPROVAL", "AWAITING_APPROVAL", at(3, 10),
                       at(3, 15)),
        provider_event(w, "APPROVED_BY_PROVIDER", at(0, 9)),
    ]
    before = await snapshot(w, session["id"])
    refused = await w.run(ACCEPT_NEW_TIME, {"sessionId": session["id"]}, w.member)  # nothing pending to accept
    assert error(refused) == ("BasicError", "INVALID_TRANSITION", None)
    assert await snapshot(w, session["id"]) == before


async def test_the_proposer_withdraws_and_the_original_time_stands(api: Api, clock: FrozenClock) -> None:
    w = await world(api)
    session = await book(w, at(3, 10))
    clock.set(when(0, 9))
    await ok(w, PROPOSE_NEW_TIME, {"sessionId": session["id"], "startsAt": at(3, 15)}, w.provider)
    before = await snapshot(w, session["id"])
    not_theirs = await w.run(WITHDRAW_NEW_TIME, {"sessionId": session["id"]}, w.member)
    assert (error(not_theirs), not_theirs["message"]) == (("BasicError", "FORBIDDEN", None),
                                                          "only the proposer may withdraw the new time of this session")
    assert await snapshot(w, session["id"]) == before
    clock.set(when(0, 12))
    withdrawn = await ok(w, WITHDRAW_NEW_TIME, {"sessionId": session["id"]}, w.provider)
    assert (withdrawn["status"], withdrawn["startsAt"], withdrawn["version"]) == ("CONFIRMED", at(3, 10), 4)
    assert (await history(w, session["id"]))[5:] == [
        provider_event(w, "NEW_TIME_PROPOSED", at(0, 9), "CONFIRMED", "RESCHEDULING", at(3, 10), at(3, 15)),
        provider_event(w, "APPROVED_BY_PROVIDER", at(0, 9)),
        provider_event(w, "NEW_TIME_WITHDRAWN", at(0, 12), "RESCHEDULING", "CONFIRMED", at(3, 10), at(3, 15)),
    ]
