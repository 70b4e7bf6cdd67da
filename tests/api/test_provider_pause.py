"""A provider's own break (PAUSED), unlisting (INVISIBLE), and the admin's DEACTIVATED: one rule decides what each
allows. Refusals are asserted exactly (code, field, message) and change nothing."""

from __future__ import annotations

from typing import Any

import pytest

from sessions_gql.clock import FrozenClock
from sessions_gql.db import models as m
from tests.api.factories import count_rows
from tests.api.lifecycle_helpers import (
    CONFIRM,
    DECLINE,
    END,
    PROPOSE,
    PROPOSE_NEW_TIME,
    REQUEST,
    START_SESSION,
    WITHDRAW,
    World,
    advance,
    at,
    balance,
    book,
    ok,
    request,
    snapshot,
    view,
    when,
    world,
)
from tests.harness.app import Api, Person

VISIBILITY = """mutation($v: ProviderVisibility!, $id: ID) { setProviderVisibility(visibility: $v, providerId: $id) {
  __typename ... on ProviderSuccess { provider { visibility } } ... on UserError { code field message } } }"""
LISTED = "{ providers(first: 50) { edges { node { id } } } }"
PROFILE = "query($id: ID!) { provider(id: $id) { id visibility } }"
SEND = """mutation($input: SendMessageInput!) { sendMessage(input: $input) { __typename
  ... on MessageSuccess { chatMessage { body } } ... on UserError { code field } } }"""

PAUSED_WHY = "this provider has paused their account and takes no new sessions"
DEACTIVATED_WHY = "this provider's account is deactivated and takes no new sessions"
NO_CONFIRM = ", so a pending session cannot be confirmed: it expires at its respond-by time unless withdrawn first"
ADMIN_ONLY = ("only an admin deactivates an account; to take a break set PAUSED, or INVISIBLE to stay bookable but "
              "unlisted")
STAYS_DEACTIVATED = "this account is deactivated and only an admin can reactivate it"


async def set_visibility(api: Api, value: str, as_: Person, provider: Person | None = None) -> dict[str, Any]:
    variables = {"v": value, "id": provider.gid if provider else None}
    return (await api.gql(VISIBILITY, variables, as_=as_))["setProviderVisibility"]  # type: ignore[no-any-return]


async def listed(api: Api, as_: Person) -> list[str]:
    return [edge["node"]["id"] for edge in (await api.gql(LISTED, as_=as_))["providers"]["edges"]]


def refusal(result: dict[str, Any]) -> tuple[str, str, str | None, str]:
    return result["__typename"], result["code"], result["field"], result["message"]


def new_request(w: World, starts_at: str) -> dict[str, Any]:
    return {"providerId": w.provider.gid, "serviceId": w.service_id, "startsAt": starts_at, "modality": "VIDEO"}


def new_proposal(w: World, starts_at: str) -> dict[str, Any]:
    return {"memberId": w.member.gid, "serviceId": w.service_id, "startsAt": starts_at, "durationMinutes": 60,
            "priceCredits": 60, "modality": "VIDEO"}


async def test_a_paused_provider_is_unlisted_takes_nothing_new_and_comes_back_themself(api: Api) -> None:
    w = await world(api)
    admin = await api.admin()
    assert await set_visibility(api, "PAUSED", w.provider) == {"__typename": "ProviderSuccess",
                                                                "provider": {"visibility": "PAUSED"}}
    assert await listed(api, w.member) == []
    assert await listed(api, admin) == []  # the list is what members find, for everyone; admins use `users`
    profile = await api.gql(PROFILE, {"id": w.provider.gid}, as_=w.member)  # the profile itself stays visible
    assert profile["provider"] == {"id": w.provider.gid, "visibility": "PAUSED"}
    sessions_before, wallet_before = await count_rows(api.deps, m.Session), await w.wallet()
    asked = await w.run(REQUEST, new_request(w, at(1, 10)), w.member)
    assert refusal(asked) == ("BasicError", "PROVIDER_UNAVAILABLE", "providerId", PAUSED_WHY)
    offered = await w.run(PROPOSE, new_proposal(w, at(1, 12)), w.provider)
    assert refusal(offered) == ("BasicError", "PROVIDER_UNAVAILABLE", "providerId", PAUSED_WHY)
    for_member = await w.run(REQUEST, {**new_request(w, at(1, 14)), "memberId": w.member.gid}, admin)
    assert refusal(for_member) == ("BasicError", "PROVIDER_UNAVAILABLE", "providerId", PAUSED_WHY)
    assert (await count_rows(api.deps, m.Session), await w.wallet()) == (sessions_before, wallet_before)

    assert await set_visibility(api, "ACTIVE", w.provider) == {"__typename": "ProviderSuccess",
                                                                "provider": {"visibility": "ACTIVE"}}
    assert await listed(api, w.member) == [w.provider.gid]
    assert (await request(w, at(1, 10)))["status"] == "AWAITING_APPROVAL"


async def test_an_invisible_provider_is_unlisted_but_still_bookable_by_whoever_reaches_them(api: Api) -> None:
    w = await world(api)
    assert (await set_visibility(api, "INVISIBLE", w.provider))["provider"] == {"visibility": "INVISIBLE"}
    assert await listed(api, w.member) == []
    asked = await request(w, at(1, 10))
    assert (asked["status"], asked["paymentStatus"]) == ("AWAITING_APPROVAL", "HELD")
    assert (await ok(w, CONFIRM, {"sessionId": asked["id"]}, w.provider))["status"] == "CONFIRMED"
    offered = await ok(w, PROPOSE, new_proposal(w, at(1, 12)), w.provider)
    assert offered["awaitingResponseFrom"] == "MEMBER"


async def test_a_paused_provider_keeps_their_confirmed_sessions(api: Api, clock: FrozenClock) -> None:
    w = await world(api)
    booked = await book(w, at(1, 10))
    await set_visibility(api, "PAUSED", w.provider)
    before = await snapshot(w, booked["id"])
    assert before[1]["allowedActions"] == ["CANCEL", "SEND_MESSAGE"]  # no new time from the member: a new booking
    moved = await w.run(PROPOSE_NEW_TIME, {"sessionId": booked["id"], "startsAt": at(2, 10)}, w.member)
    assert refusal(moved) == ("BasicError", "PROVIDER_UNAVAILABLE", "providerId", PAUSED_WHY)
    assert await snapshot(w, booked["id"]) == before
    clock.set(when(1, 9, 55))
    assert (await ok(w, START_SESSION, {"sessionId": booked["id"]}, w.provider))["status"] == "IN_PROGRESS"
    clock.set(when(1, 11))
    ended = await ok(w, END, {"sessionId": booked["id"]}, w.provider)
    assert (ended["status"], ended["paymentStatus"]) == ("COMPLETED", "CAPTURED")
    assert balance(await w.wallet()) == (140, 0)


async def pause_or_deactivate(api: Api, w: World, state: str) -> str:
    """Put the provider in `state` the way it happens (themself, or an admin); the reason refusals give."""
    if state == "PAUSED":
        await set_visibility(api, "PAUSED", w.provider)
        return PAUSED_WHY
    await set_visibility(api, "DEACTIVATED", await api.admin(), w.provider)
    return DEACTIVATED_WHY


@pytest.mark.parametrize("state", ["PAUSED", "DEACTIVATED"])
async def test_pending_requests_cannot_be_confirmed_and_expire_or_are_withdrawn(api: Api, state: str) -> None:
    w = await world(api, credits=200)
    withdrawn, expiring = await request(w, at(1, 10)), await request(w, at(2, 10))
    assert (await view(w, withdrawn["id"], w.provider))["allowedActions"][0] == "CONFIRM"
    why = await pause_or_deactivate(api, w, state)
    assert (await view(w, withdrawn["id"], w.provider))["allowedActions"] == [  # CONFIRM is gone, as the rule says
        "DECLINE", "PROPOSE_NEW_TIME", "ADD_NOTE", "SEND_MESSAGE"]
    members_view = (await view(w, withdrawn["id"], w.member))["allowedActions"]
    assert members_view == (["WITHDRAW", "SEND_MESSAGE"] if state == "PAUSED" else ["WITHDRAW"])
    for session in (withdrawn, expiring):
        before = await snapshot(w, session["id"])
        refused = await w.run(CONFIRM, {"sessionId": session["id"]}, w.provider)
        assert refusal(refused) == ("BasicError", "PROVIDER_UNAVAILABLE", None, why + NO_CONFIRM)
        assert await snapshot(w, session["id"]) == before
    assert balance(await w.wallet()) == (80, 120)

    gone = await ok(w, WITHDRAW, {"sessionId": withdrawn["id"]}, w.member)
    assert (gone["status"], gone["paymentStatus"]) == ("CANCELLED", "RETURNED")
    assert balance(await w.wallet()) == (140, 60)
    assert expiring["respondBy"] == at(1, 8)
    await advance(api, 24 * 60)  # to its respond-by time
    lapsed = await view(w, expiring["id"], w.member)
    assert (lapsed["status"], lapsed["paymentStatus"]) == ("EXPIRED", "RETURNED")
    assert balance(await w.wallet()) == (200, 0)


async def test_a_member_cannot_accept_a_paused_providers_proposal_but_may_decline_it(api: Api) -> None:
    w = await world(api)
    offered = await ok(w, PROPOSE, new_proposal(w, at(1, 12)), w.provider)
    offered_actions = (await view(w, offered["id"], w.member))["allowedActions"]
    await set_visibility(api, "PAUSED", w.provider)
    before = await snapshot(w, offered["id"])
    assert set(offered_actions) - set(before[1]["allowedActions"]) == {"CONFIRM", "PROPOSE_NEW_TIME"}
    refused = await w.run(CONFIRM, {"sessionId": offered["id"]}, w.member)
    assert refusal(refused) == ("BasicError", "PROVIDER_UNAVAILABLE", None, PAUSED_WHY + NO_CONFIRM)
    assert await snapshot(w, offered["id"]) == before
    declined = await ok(w, DECLINE, {"sessionId": offered["id"], "reason": "NOT_AVAILABLE"}, w.member)
    assert declined["status"] == "DECLINED"
    assert balance(await w.wallet()) == (200, 0)


async def test_only_an_admin_deactivates_and_only_an_admin_lifts_it_and_the_refusals_say_so(api: Api) -> None:
    w = await world(api)
    admin = await api.admin()
    assert refusal(await set_visibility(api, "DEACTIVATED", w.provider)) == (
        "BasicError", "FORBIDDEN", "visibility", ADMIN_ONLY)
    assert (await api.gql(PROFILE, {"id": w.provider.gid}, as_=admin))["provider"]["visibility"] == "ACTIVE"
    await set_visibility(api, "PAUSED", w.provider)
    assert refusal(await set_visibility(api, "DEACTIVATED", w.provider)) == (
        "BasicError", "FORBIDDEN", "visibility", ADMIN_ONLY)
    assert (await set_visibility(api, "DEACTIVATED", admin, w.provider))["provider"] == {"visibility": "DEACTIVATED"}
    for wanted in ("ACTIVE", "PAUSED", "INVISIBLE"):
        assert refusal(await set_visibility(api, wanted, w.provider)) == (
            "BasicError", "FORBIDDEN", "visibility", STAYS_DEACTIVATED), wanted
    assert (await api.gql(PROFILE, {"id": w.provider.gid}, as_=admin))["provider"]["visibility"] == "DEACTIVATED"
    assert await api.gql(PROFILE, {"id": w.provider.gid}, as_=w.member) == {"provider": None}
    assert (await set_visibility(api, "ACTIVE", admin, w.provider))["provider"] == {"visibility": "ACTIVE"}
    assert (await set_visibility(api, "PAUSED", w.provider))["provider"] == {"visibility": "PAUSED"}
    assert (await set_visibility(api, "INVISIBLE", w.provider))["provider"] == {"visibility": "INVISIBLE"}
    assert (await set_visibility(api, "ACTIVE", w.provider))["provider"] == {"visibility": "ACTIVE"}


async def test_members_with_a_session_may_still_write_to_a_paused_provider_and_others_may_not(api: Api) -> None:
    w = await world(api)
    stranger = await api.member("Stranger")
    await request(w, at(1, 10))
    await set_visibility(api, "PAUSED", w.provider)
    message = {"recipientId": w.provider.gid, "body": "About our session", "clientMessageId": "c1"}
    mine = (await api.gql(SEND, {"input": message}, as_=w.member))["sendMessage"]
    assert mine == {"__typename": "MessageSuccess", "chatMessage": {"body": "About our session"}}
    theirs = (await api.gql(SEND, {"input": {**message, "body": "Hello?"}}, as_=stranger))["sendMessage"]
    assert theirs == {"__typename": "BasicError", "code": "FORBIDDEN", "field": "recipientId"}
    assert await count_rows(api.deps, m.Message) == 2  # the booking's system message and the member's
