"""Every transition refused from the wrong status, by the wrong actor, too early or too late: nothing changes."""

from __future__ import annotations

import uuid
from typing import Any

from sessions_gql.clock import FrozenClock
from sessions_gql.db import models as m
from tests.api.factories import count_rows, gid
from tests.api.lifecycle_helpers import (
    ACCEPT_NEW_TIME,
    CANCEL,
    CONFIRM,
    DECLINE,
    END,
    JOIN,
    MARK_NO_SHOW,
    PROPOSE,
    PROPOSE_NEW_TIME,
    REFUND,
    REJECT_NEW_TIME,
    REQUEST,
    START_SESSION,
    UNDO_NO_SHOW,
    WITHDRAW,
    WITHDRAW_NEW_TIME,
    World,
    at,
    balance,
    book,
    error,
    ok,
    request,
    snapshot,
    when,
    world,
)
from tests.harness.app import Api, Person

WRONG_STATUS = ("BasicError", "INVALID_TRANSITION", None)
FORBIDDEN = ("BasicError", "FORBIDDEN", None)
NOT_FOUND = ("BasicError", "NOT_FOUND", "sessionId")
TOO_LATE = ("BasicError", "TOO_LATE", None)
TOO_EARLY = ("BasicError", "TOO_EARLY", None)
VISIBILITY = "mutation($v: ProviderVisibility!) { setProviderVisibility(visibility: $v) { __typename } }"
Case = tuple[str, dict[str, Any], Person, tuple[str, str, str | None]]


async def refuse_all(w: World, session_id: str, cases: list[Case]) -> None:
    before = await snapshot(w, session_id)
    for document, extra, who, expected in cases:
        result = await w.run(document, {"sessionId": session_id, **extra}, who)
        assert error(result) == expected, (document.split("(")[1], result)
    assert await snapshot(w, session_id) == before


async def test_refusals_while_awaiting_approval(api: Api, clock: FrozenClock) -> None:
    w = await world(api)
    admin, stranger = await api.admin(), await api.provider("Stranger")
    session = await request(w, at(1, 10))
    await refuse_all(w, session["id"], [
        (CANCEL, {}, w.member, WRONG_STATUS),
        (ACCEPT_NEW_TIME, {}, w.provider, WRONG_STATUS),
        (REJECT_NEW_TIME, {"reason": "OTHER"}, w.provider, WRONG_STATUS),
        (WITHDRAW_NEW_TIME, {}, w.member, WRONG_STATUS),
        (JOIN, {}, w.member, WRONG_STATUS),
        (START_SESSION, {}, w.provider, WRONG_STATUS),
        (MARK_NO_SHOW, {}, w.provider, WRONG_STATUS),
        (UNDO_NO_SHOW, {}, w.provider, WRONG_STATUS),
        (END, {}, w.provider, WRONG_STATUS),
        (REFUND, {}, admin, WRONG_STATUS),
        (CONFIRM, {}, admin, FORBIDDEN),  # admins are never the party awaited
        (DECLINE, {"reason": "OTHER"}, admin, FORBIDDEN),
        (WITHDRAW, {}, admin, FORBIDDEN),
        (PROPOSE_NEW_TIME, {"startsAt": at(1, 12)}, admin, FORBIDDEN),
        (DECLINE, {"reason": "OTHER"}, stranger, NOT_FOUND),
    ])
    clock.set(when(1, 10))  # the start: too late to answer, withdraw or move
    await refuse_all(w, session["id"], [
        (CONFIRM, {}, w.provider, TOO_LATE),
        (DECLINE, {"reason": "OTHER"}, w.provider, TOO_LATE),
        (WITHDRAW, {}, w.member, TOO_LATE),
        (PROPOSE_NEW_TIME, {"startsAt": at(2, 12)}, w.provider, TOO_LATE),
    ])


async def test_refusals_while_confirmed_and_rescheduling(api: Api, clock: FrozenClock) -> None:
    w = await world(api)
    admin = await api.admin()
    session = await book(w, at(1, 10))
    await refuse_all(w, session["id"], [
        (CONFIRM, {}, w.provider, WRONG_STATUS),
        (DECLINE, {"reason": "OTHER"}, w.member, WRONG_STATUS),
        (WITHDRAW, {}, w.member, WRONG_STATUS),
        (ACCEPT_NEW_TIME, {}, w.member, WRONG_STATUS),
        (UNDO_NO_SHOW, {}, w.provider, WRONG_STATUS),
        (END, {}, w.provider, WRONG_STATUS),
        (REFUND, {"credits": 10}, w.provider, WRONG_STATUS),
        (JOIN, {}, admin, FORBIDDEN),
        (START_SESSION, {}, admin, FORBIDDEN),
        (JOIN, {}, w.member, TOO_EARLY),
        (START_SESSION, {}, w.provider, TOO_EARLY),
        (MARK_NO_SHOW, {}, w.provider, TOO_EARLY),
    ])
    await ok(w, PROPOSE_NEW_TIME, {"sessionId": session["id"], "startsAt": at(2, 10)}, w.provider)
    await refuse_all(w, session["id"], [
        (ACCEPT_NEW_TIME, {}, admin, FORBIDDEN),
        (REJECT_NEW_TIME, {"reason": "OTHER"}, admin, FORBIDDEN),
        (WITHDRAW_NEW_TIME, {}, admin, FORBIDDEN),
        (START_SESSION, {}, w.provider, WRONG_STATUS),
        (JOIN, {}, w.member, WRONG_STATUS),
        (MARK_NO_SHOW, {}, w.provider, WRONG_STATUS),
    ])
    clock.set(when(1, 11))  # the original end: the proposal is past answering, the session past starting
    await refuse_all(w, session["id"], [
        (CANCEL, {"acknowledgeLateCancellation": True, "reason": "OTHER"}, w.provider, TOO_LATE),
        (ACCEPT_NEW_TIME, {}, w.member, TOO_LATE),
        (WITHDRAW_NEW_TIME, {}, w.provider, TOO_LATE),
    ])


async def test_refusals_during_and_after_the_meeting(api: Api, clock: FrozenClock) -> None:
    w = await world(api)
    admin, stranger = await api.admin(), await api.provider("Stranger")
    session, later = await book(w, at(1, 10)), await book(w, at(1, 14))
    clock.set(when(1, 10, 20))
    await ok(w, START_SESSION, {"sessionId": session["id"]}, w.provider)
    await refuse_all(w, session["id"], [
        (START_SESSION, {}, w.provider, WRONG_STATUS),
        (MARK_NO_SHOW, {}, w.provider, WRONG_STATUS),
        (UNDO_NO_SHOW, {}, w.provider, WRONG_STATUS),
        (CANCEL, {"acknowledgeLateCancellation": True}, w.member, WRONG_STATUS),
        (PROPOSE_NEW_TIME, {"startsAt": at(2, 10)}, w.member, WRONG_STATUS),
        (END, {}, admin, FORBIDDEN),
        (END, {}, stranger, NOT_FOUND),
    ])
    clock.set(when(1, 11))
    await ok(w, END, {"sessionId": session["id"]}, w.provider)
    await refuse_all(w, session["id"], [
        (END, {}, w.provider, WRONG_STATUS),
        (JOIN, {}, w.member, WRONG_STATUS),
        (CANCEL, {}, admin, WRONG_STATUS),
        (REFUND, {"credits": 10}, stranger, NOT_FOUND),
        (REFUND, {"credits": 0}, w.provider, ("BasicError", "VALIDATION", "credits")),
    ])
    clock.set(when(1, 14, 10))
    await ok(w, MARK_NO_SHOW, {"sessionId": later["id"]}, w.provider)
    await refuse_all(w, later["id"], [
        (UNDO_NO_SHOW, {}, w.member, FORBIDDEN),
        (START_SESSION, {}, w.provider, WRONG_STATUS),
        (JOIN, {}, w.member, WRONG_STATUS),
    ])
    clock.set(when(1, 15))
    await refuse_all(w, later["id"], [(UNDO_NO_SHOW, {}, w.provider, TOO_LATE)])


async def test_refusals_of_new_sessions_by_the_wrong_actor(api: Api) -> None:
    w = await world(api)
    other = await api.member("Other", credits=100)
    base = {"providerId": w.provider.gid, "serviceId": w.service_id, "startsAt": at(1, 10), "modality": "VIDEO"}
    assert error(await w.run(REQUEST, base, w.provider)) == FORBIDDEN
    assert error(await w.run(REQUEST, {**base, "memberId": other.gid}, w.member)) == (
        "BasicError", "FORBIDDEN", "memberId")
    proposal = {"memberId": w.member.gid, "serviceId": w.service_id, "startsAt": at(1, 10), "durationMinutes": 60,
                "priceCredits": 60, "modality": "VIDEO"}
    assert error(await w.run(PROPOSE, proposal, w.member))[:2] == ("BasicError", "FORBIDDEN")
    stranger = await world(api)
    foreign = await w.run(PROPOSE, proposal, stranger.provider)  # another provider's service
    assert error(foreign) == ("BasicError", "NOT_FOUND", "serviceId")
    assert (await w.wallet())["heldCredits"] == 0


async def test_a_new_session_names_what_is_missing_and_changes_nothing(api: Api) -> None:
    """The service, its provider and the member are locked in one statement; when it finds nothing, the error
    still says which: a service that does not exist or is not the provider's (serviceId), then the member."""
    w = await world(api)
    other = await world(api)
    base = {"providerId": w.provider.gid, "serviceId": w.service_id, "startsAt": at(1, 10), "modality": "VIDEO"}
    missing_service = await w.run(REQUEST, {**base, "serviceId": gid("Service", uuid.uuid4())}, w.member)
    not_the_providers = await w.run(REQUEST, {**base, "serviceId": other.service_id}, w.member)
    proposal = {"serviceId": w.service_id, "startsAt": at(1, 10), "durationMinutes": 60, "priceCredits": 60,
                "modality": "VIDEO"}
    missing_member = await w.run(PROPOSE, {**proposal, "memberId": gid("Member", uuid.uuid4())}, w.provider)
    both_missing = await w.run(PROPOSE, {**proposal, "memberId": gid("Member", uuid.uuid4()),
                                         "serviceId": gid("Service", uuid.uuid4())}, w.provider)
    not_offered = await w.run(PROPOSE, {**proposal, "memberId": gid("Member", uuid.uuid4()), "modality": "PHONE",
                                        "skill": "Grief"}, w.provider)  # the offer is checked before the member
    assert [error(result) for result in (missing_service, not_the_providers, missing_member, both_missing,
                                         not_offered)] == [
        ("BasicError", "NOT_FOUND", "serviceId"), ("BasicError", "NOT_FOUND", "serviceId"),
        ("BasicError", "NOT_FOUND", "memberId"), ("BasicError", "NOT_FOUND", "serviceId"),
        ("BasicError", "VALIDATION", "skill")]
    assert await count_rows(api.deps, m.Session) == 0
    assert (await w.wallet())["heldCredits"] == 0


async def test_overlapping_own_session_and_unavailable_provider(api: Api) -> None:
    w = await world(api)
    elsewhere = await world(api)
    mine = await request(elsewhere, at(1, 10), member=w.member)
    clash = await w.run(REQUEST, {"providerId": w.provider.gid, "serviceId": w.service_id,
                                  "startsAt": at(1, 10, 30), "modality": "VIDEO"}, w.member)
    assert error(clash) == ("ScheduleConflictError", "SCHEDULE_CONFLICT", "startsAt")
    assert clash["conflicts"] == [{"startsAt": mine["startsAt"], "endsAt": at(1, 11)}]
    assert balance(await w.wallet()) == (140, 60)  # only the first hold
    await api.gql(VISIBILITY, {"v": "PAUSED"}, as_=w.provider)
    away = await w.run(REQUEST, {"providerId": w.provider.gid, "serviceId": w.service_id, "startsAt": at(2, 10),
                                 "modality": "VIDEO"}, w.member)
    assert error(away) == ("BasicError", "PROVIDER_UNAVAILABLE", "providerId")
