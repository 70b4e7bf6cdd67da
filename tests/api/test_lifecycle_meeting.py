"""The meeting: join, start, no-shows, end, the system's jobs at their times, refunds, the video room, notes."""

from __future__ import annotations

from sessions_gql.clock import FrozenClock
from tests.api.lifecycle_helpers import (
    BOOKED,
    END,
    JOIN,
    MARK_NO_SHOW,
    REFUND,
    START_SESSION,
    UNDO_NO_SHOW,
    advance,
    at,
    balance,
    book,
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

ADD_NOTE = """mutation($input: AddNoteInput!) { addNote(input: $input) {
  __typename ... on NoteSuccess { note { body } } ... on BasicError { code field } } }"""
VIDEO = "query($id: ID!) { session(id: $id) { videoRoom { joinUrl } } }"


def earnings(session: dict[str, object]) -> object:
    money = session["providerEarnings"]
    return money["amount"] if isinstance(money, dict) else money


async def test_join_window_and_a_late_member(api: Api, clock: FrozenClock) -> None:
    w = await world(api)
    session = await book(w, at(1, 10))
    clock.set(when(1, 9, 44))
    assert error(await w.run(JOIN, {"sessionId": session["id"]}, w.member)) == ("BasicError", "TOO_EARLY", None)
    clock.set(when(1, 9, 45))
    assert (await view(w, session["id"], w.member))["allowedActions"] == ["CANCEL", "PROPOSE_NEW_TIME", "JOIN",
                                                                          "SEND_MESSAGE"]
    joined = await ok(w, JOIN, {"sessionId": session["id"]}, w.provider)
    assert (joined["status"], types(joined)[-1]) == ("CONFIRMED", "PROVIDER_JOINED")
    clock.set(when(1, 10, 7))
    late = await ok(w, JOIN, {"sessionId": session["id"]}, w.member)
    assert (late["status"], late["endsAt"], types(late)[-1]) == ("CONFIRMED", at(1, 11), "MEMBER_JOINED")
    theirs = await view(w, session["id"], w.provider)
    assert (theirs["memberLateMinutes"], theirs["memberJoinedAt"]) == (7, at(1, 10, 7))
    twice = await w.run(JOIN, {"sessionId": session["id"]}, w.member)
    assert error(twice) == ("BasicError", "INVALID_TRANSITION", None)
    clock.set(when(1, 11))
    other = await book(w, at(2, 10))
    clock.set(when(2, 11))
    assert error(await w.run(JOIN, {"sessionId": other["id"]}, w.member)) == ("BasicError", "TOO_LATE", None)


async def test_start_window_and_end_captures_and_pays_the_provider(api: Api, clock: FrozenClock) -> None:
    w = await world(api)
    session = await book(w, at(1, 10))
    clock.set(when(1, 9, 29))
    before = await snapshot(w, session["id"])
    assert error(await w.run(START_SESSION, {"sessionId": session["id"]}, w.provider)) == (
        "BasicError", "TOO_EARLY", None)
    assert await snapshot(w, session["id"]) == before
    clock.set(when(1, 9, 30))
    assert error(await w.run(START_SESSION, {"sessionId": session["id"]}, w.member)) == (
        "BasicError", "FORBIDDEN", None)
    started = await ok(w, START_SESSION, {"sessionId": session["id"]}, w.provider)
    assert (started["status"], types(started)[-1]) == ("IN_PROGRESS", "STARTED")
    assert started["allowedActions"] == ["END", "ADD_NOTE", "SEND_MESSAGE"]
    assert (await view(w, session["id"], w.member))["allowedActions"] == ["SEND_MESSAGE"]  # joining opens at 09:45
    clock.set(when(1, 9, 45))
    assert (await view(w, session["id"], w.member))["allowedActions"] == ["JOIN", "SEND_MESSAGE"]
    member_end = await w.run(END, {"sessionId": session["id"]}, w.member)
    assert error(member_end) == ("BasicError", "FORBIDDEN", None)
    clock.set(when(1, 10, 58))
    ended = await ok(w, END, {"sessionId": session["id"]}, w.provider)
    assert (ended["status"], ended["paymentStatus"]) == ("COMPLETED", "CAPTURED")
    assert types(ended) == [*BOOKED, "STARTED", "COMPLETED", "FUNDS_CAPTURED"]
    wallet = await w.wallet()
    assert (balance(wallet), ledger(wallet)) == ((140, 0), [("CAPTURE", 60), ("HOLD", 60), ("GRANT", 200)])
    assert earnings(await view(w, session["id"], w.provider)) == "45.00"
    mine = await view(w, session["id"], w.member)
    assert (mine["status"], earnings(mine), mine["allowedActions"]) == ("COMPLETED", None, ["SEND_MESSAGE"])


async def test_mark_no_show_from_ten_minutes_and_undo_before_the_end(api: Api, clock: FrozenClock) -> None:
    w = await world(api)
    session = await book(w, at(1, 10))
    clock.set(when(1, 10, 9))
    assert error(await w.run(MARK_NO_SHOW, {"sessionId": session["id"]}, w.provider)) == (
        "BasicError", "TOO_EARLY", None)
    clock.set(when(1, 10, 10))
    assert error(await w.run(MARK_NO_SHOW, {"sessionId": session["id"]}, w.member)) == (
        "BasicError", "FORBIDDEN", None)
    marked = await ok(w, MARK_NO_SHOW, {"sessionId": session["id"]}, w.provider)
    assert (marked["status"], marked["noShowParty"], marked["paymentStatus"]) == ("NO_SHOW", "MEMBER", "CAPTURED")
    assert types(marked)[5:] == ["NO_SHOW_MARKED", "FUNDS_CAPTURED"]
    assert marked["timeline"]["edges"][5]["node"]["reason"] == "MEMBER"
    assert balance(await w.wallet()) == (140, 0)
    assert marked["allowedActions"] == ["UNDO_NO_SHOW", "REFUND", "ADD_NOTE", "SEND_MESSAGE"]
    assert (await view(w, session["id"], w.member))["noShowParty"] == "MEMBER"
    clock.set(when(1, 10, 30))
    undone = await ok(w, UNDO_NO_SHOW, {"sessionId": session["id"]}, w.provider)
    assert (undone["status"], undone["noShowParty"], undone["paymentStatus"]) == ("CONFIRMED", None, "CAPTURED")
    assert types(undone)[-1] == "NO_SHOW_UNDONE"
    await ok(w, JOIN, {"sessionId": session["id"]}, w.member)
    assert error(await w.run(MARK_NO_SHOW, {"sessionId": session["id"]}, w.provider)) == (
        "BasicError", "INVALID_TRANSITION", None)  # the member has joined
    other = await book(w, at(2, 10))
    clock.set(when(2, 10, 15))
    await ok(w, MARK_NO_SHOW, {"sessionId": other["id"]}, w.provider)
    clock.set(when(2, 11))
    assert error(await w.run(UNDO_NO_SHOW, {"sessionId": other["id"]}, w.provider)) == (
        "BasicError", "TOO_LATE", None)


async def test_system_completes_an_ongoing_session_at_end_plus_grace(api: Api, clock: FrozenClock) -> None:
    w = await world(api)
    session = await book(w, at(1, 10))
    clock.set(when(1, 9, 55))
    await ok(w, START_SESSION, {"sessionId": session["id"]}, w.provider)
    await advance(api, 94)  # 11:29
    assert (await view(w, session["id"], w.member))["status"] == "IN_PROGRESS"
    await advance(api, 2)
    closed = await view(w, session["id"], w.provider)
    assert (closed["status"], closed["paymentStatus"], earnings(closed)) == ("COMPLETED", "CAPTURED", "45.00")
    assert types(closed) == [*BOOKED, "STARTED", "COMPLETED", "FUNDS_CAPTURED"]
    assert [e["node"]["actorRole"] for e in closed["timeline"]["edges"]][-2:] == [None, None]
    assert balance(await w.wallet()) == (140, 0)


async def test_system_records_a_provider_no_show_and_returns_the_funds(api: Api) -> None:
    w = await world(api)
    session = await book(w, at(1, 10))
    await advance(api, 27 * 60 + 29)  # Tue 11:29
    assert (await view(w, session["id"], w.member))["status"] == "CONFIRMED"
    await advance(api, 2)
    no_show = await view(w, session["id"], w.member)
    assert (no_show["status"], no_show["noShowParty"], no_show["paymentStatus"]) == ("NO_SHOW", "PROVIDER",
                                                                                     "RETURNED")
    assert types(no_show) == [*BOOKED, "REMINDER_SENT", "REMINDER_SENT", "NO_SHOW_MARKED", "FUNDS_RETURNED",
                              "VIDEO_ROOM_CANCELLED"]
    assert no_show["timeline"]["edges"][7]["node"]["reason"] == "PROVIDER"
    wallet = await w.wallet()
    assert (balance(wallet), ledger(wallet)) == ((200, 0), [("RELEASE", 60), ("HOLD", 60), ("GRANT", 200)])
    reliability = (await provider_state(w))["reliability"]
    assert (reliability["consecutiveCancellations"], reliability["lateCancellations"]) == (1, 1)
    theirs = await view(w, session["id"], w.provider)
    assert theirs["allowedActions"] == ["ADD_NOTE", "SEND_MESSAGE"]
    refund = await w.run(REFUND, {"sessionId": session["id"]}, await api.admin())
    assert error(refund) == ("BasicError", "INVALID_TRANSITION", None)


async def test_an_unanswered_request_expires_at_respond_by(api: Api) -> None:
    w = await world(api)
    session = await request(w, at(3, 10))
    assert session["respondBy"] == at(1, 8)
    await advance(api, 24 * 60 - 1)
    assert (await view(w, session["id"], w.provider))["status"] == "AWAITING_APPROVAL"
    await advance(api, 1)
    expired = await view(w, session["id"], w.provider)
    assert (expired["status"], expired["paymentStatus"], expired["allowedActions"]) == (
        "EXPIRED", "RETURNED", ["ADD_NOTE", "SEND_MESSAGE"])
    assert types(expired) == ["REQUESTED", "APPROVED_BY_MEMBER", "FUNDS_HELD", "EXPIRED", "FUNDS_RETURNED"]
    assert expired["timeline"]["edges"][3]["node"]["actorRole"] is None
    assert balance(await w.wallet()) == (200, 0)
    assert (await view(w, session["id"], w.member))["status"] == "EXPIRED"
    assert (await provider_state(w))["reliability"]["lateResponses"] == 1


async def test_a_request_left_to_expire_at_its_start_counts_as_a_late_response(api: Api) -> None:
    """respondBy is the start when that comes first: 3 hours here, inside the 3-hour target by the clock, yet the
    provider never answered, so it is a late response all the same."""
    w = await world(api)
    session = await request(w, at(0, 11))
    assert session["respondBy"] == at(0, 11)
    await advance(api, 3 * 60)
    assert (await view(w, session["id"], w.provider))["status"] == "EXPIRED"
    reliability = (await provider_state(w))["reliability"]
    assert (reliability["lateResponses"], reliability["averageResponseMinutes"]) == (1, 180.0)


async def test_refunds_partial_then_the_rest_never_more_than_captured(api: Api, clock: FrozenClock) -> None:
    w = await world(api)
    admin = await api.admin()
    session = await book(w, at(1, 10))
    clock.set(when(1, 9, 55))
    await ok(w, START_SESSION, {"sessionId": session["id"]}, w.provider)
    assert error(await w.run(REFUND, {"sessionId": session["id"]}, w.provider)) == (
        "BasicError", "INVALID_TRANSITION", None)  # nothing captured yet
    clock.set(when(1, 11))
    await ok(w, END, {"sessionId": session["id"]}, w.provider)
    assert error(await w.run(REFUND, {"sessionId": session["id"], "credits": 10}, w.member)) == (
        "BasicError", "FORBIDDEN", None)
    part = await ok(w, REFUND, {"sessionId": session["id"], "credits": 20, "note": "bad line"}, w.provider)
    assert (part["status"], part["paymentStatus"], part["refundedCredits"]) == ("COMPLETED", "PARTIALLY_REFUNDED", 20)
    assert moved(part)[-1] == ("REFUNDED", 20)
    assert earnings(await view(w, session["id"], w.provider)) == "30.00"
    assert balance(await w.wallet()) == (160, 0)
    before = await snapshot(w, session["id"])
    too_much = await w.run(REFUND, {"sessionId": session["id"], "credits": 41}, admin)
    assert error(too_much) == ("BasicError", "VALIDATION", "credits")
    assert await snapshot(w, session["id"]) == before
    rest = await ok(w, REFUND, {"sessionId": session["id"]}, admin)
    assert (rest["paymentStatus"], rest["refundedCredits"], moved(rest)[-1]) == ("REFUNDED", 60, ("REFUNDED", 40))
    assert earnings(await view(w, session["id"], w.provider)) == "0.00"
    wallet = await w.wallet()
    assert (balance(wallet), ledger(wallet)[:2]) == ((200, 0), [("REFUND", 40), ("REFUND", 20)])
    assert error(await w.run(REFUND, {"sessionId": session["id"], "credits": 1}, admin)) == (
        "BasicError", "INVALID_TRANSITION", None)


async def test_video_room_is_shown_to_the_parties_from_15_minutes_before_start(api: Api, clock: FrozenClock
                                                                               ) -> None:
    w = await world(api)
    admin = await api.admin()
    session = await book(w, at(1, 10))

    async def room(who: object) -> object:
        return (await api.gql(VIDEO, {"id": session["id"]}, as_=who))["session"]["videoRoom"]  # type: ignore[arg-type]

    clock.set(when(1, 9, 44))
    assert [await room(who) for who in (w.member, w.provider, admin)] == [None, None, None]
    clock.set(when(1, 9, 45))
    seen = [await room(who) for who in (w.member, w.provider, admin)]
    assert seen[0] == seen[1] and seen[0] is not None and seen[0]["joinUrl"] and seen[2] is None
    clock.set(when(1, 11))
    assert [await room(who) for who in (w.member, w.provider)] == [None, None]


async def test_private_notes_belong_to_the_provider(api: Api) -> None:
    w = await world(api)
    session = await book(w, at(1, 10))
    stranger = await api.provider("Stranger")
    added = await api.gql(ADD_NOTE, {"input": {"sessionId": session["id"], "body": "prefers mornings"}},
                          as_=w.provider)
    assert added["addNote"] == {"__typename": "NoteSuccess", "note": {"body": "prefers mornings"}}
    by_member = await api.gql(ADD_NOTE, {"input": {"sessionId": session["id"], "body": "hi"}}, as_=w.member)
    assert by_member["addNote"] == {"__typename": "BasicError", "code": "FORBIDDEN", "field": None}
    by_stranger = await api.gql(ADD_NOTE, {"input": {"sessionId": session["id"], "body": "x"}}, as_=stranger)
    assert by_stranger["addNote"] == {"__typename": "BasicError", "code": "NOT_FOUND", "field": "sessionId"}
    theirs = await view(w, session["id"], w.provider)
    assert (theirs["privateNotes"], types(theirs)[-1], theirs["version"]) == ([{"body": "prefers mornings"}],
                                                                              "NOTE_ADDED", 2)
    mine = await view(w, session["id"], w.member)
    assert (mine["privateNotes"], types(mine)[-1]) == ([], "NOTE_ADDED")
