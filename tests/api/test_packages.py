"""Packages (DOMAIN.md "Packages"): offers on a service, buying one, booking its places, every outcome of a package
session, refunds of unused places, expiry, and who sees what; exact balances, places and earnings at each step.

The world's service costs 60 credits for a fee of 50.00 GBP; its package of 3 sessions costs 100 credits, so its
places are worth 33, 33 and 34 credits (domain/packages.py) and its fee is 83.33 GBP: 27.50 GBP for a 33-credit
place, 28.33 GBP for the 34-credit one, and the provider earns that less 10 % commission: 24.75 and 25.50 GBP.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from sessions_gql.api import ids
from sessions_gql.clock import FrozenClock
from sessions_gql.db import models as m
from sessions_gql.services import scheduler
from sessions_gql.services.people import wallet
from tests.api.lifecycle_helpers import (
    CANCEL,
    CONFIRM,
    DECLINE,
    END,
    MARK_NO_SHOW,
    REFUND,
    REQUEST,
    SAVE_SERVICE,
    START_SESSION,
    WITHDRAW,
    World,
    at,
    balance,
    error,
    ledger,
    moved,
    ok,
    when,
    world,
)
from tests.harness.app import START, Api, Person, running_api, settings_for

SERVICE = {"name": "Therapy", "skills": ["Anxiety"], "durationMinutes": 60, "priceCredits": 60, "fee": "50.00",
           "currency": "GBP", "modalities": ["VIDEO", "PHONE", "IN_PERSON"], "freeInitialConsultation": False}
OFFERS = [{"sessions": 3, "priceCredits": 100}, {"sessions": 2, "priceCredits": 110}]
SAVE = """mutation($input: ServiceInput!) { saveService(input: $input) { __typename
  ... on ServiceSuccess { service { id packages { sessions priceCredits } } }
  ... on UserError { code message field } } }"""
SERVICE_OFFERS = "query($id: ID!) { node(id: $id) { ... on Service { packages { sessions priceCredits } } } }"
PACKAGE_FIELDS = """id sessionsTotal sessionsRemaining priceCredits purchasedAt validUntil sessionsRefunded
  refundedCredits member { id } provider { id } service { id }
  sessions(first: 10) { edges { node { id status funding } } }"""
PACKAGE_RESULT = f"""__typename ... on PackageSuccess {{ package {{ {PACKAGE_FIELDS} }} }}
  ... on UserError {{ code message field }}
  ... on InsufficientFundsError {{ requiredCredits availableCredits }}"""
PURCHASE = f"mutation($input: PurchasePackageInput!) {{ purchasePackage(input: $input) {{ {PACKAGE_RESULT} }} }}"
REFUND_PACKAGE = f"mutation($input: RefundPackageInput!) {{ refundPackage(input: $input) {{ {PACKAGE_RESULT} }} }}"
MEMBER_PACKAGES = f"query($id: ID!) {{ member(id: $id) {{ packages {{ {PACKAGE_FIELDS} }} }} }}"
PACKAGE_NODE = f"query($id: ID!) {{ node(id: $id) {{ ... on Package {{ {PACKAGE_FIELDS} }} }} }}"
SESSION_MONEY = """query($id: ID!) { session(id: $id) { status funding priceCredits paymentStatus
  package { id sessionsRemaining } expectedEarnings { amount currency } providerEarnings { amount currency } } }"""
EARNINGS = """query($id: ID!, $from: DateTime!, $to: DateTime!) { provider(id: $id) {
  earnings(from: $from, to: $to) { sessions gross { amount } net { amount } } } }"""
NOTIFICATIONS = "{ notifications(first: 20) { edges { node { kind title body } } } }"


async def with_offers(api: Api, *, credits: int = 200) -> World:
    w = await world(api, credits=credits)
    saved = await api.gql(SAVE, {"input": {**SERVICE, "serviceId": w.service_id, "packages": OFFERS}},
                          as_=w.provider)
    assert saved["saveService"]["service"]["packages"] == [{"sessions": 2, "priceCredits": 110},
                                                           {"sessions": 3, "priceCredits": 100}]
    return w


async def buy(w: World, sessions: int = 3, *, as_: Person | None = None, **extra: Any) -> dict[str, Any]:
    result = await w.run(PURCHASE, {"serviceId": w.service_id, "sessions": sessions, **extra}, as_ or w.member)
    assert result["__typename"] == "PackageSuccess", result
    return result["package"]  # type: ignore[no-any-return]


async def package(w: World, package_id: str, as_: Person | None = None) -> dict[str, Any] | None:
    data = await w.api.gql(PACKAGE_NODE, {"id": package_id}, as_=as_ or w.member)
    return data["node"]  # type: ignore[no-any-return]


async def remaining(w: World, package_id: str) -> int:
    found = await package(w, package_id)
    assert found is not None
    return found["sessionsRemaining"]  # type: ignore[no-any-return]


async def book_from(w: World, package_id: str, starts_at: str, **extra: Any) -> dict[str, Any]:
    return await ok(w, REQUEST, {"providerId": w.provider.gid, "serviceId": w.service_id, "startsAt": starts_at,
                                 "modality": "VIDEO", "packageId": package_id, **extra}, w.member)


async def money_of(w: World, session_id: str, as_: Person) -> dict[str, Any]:
    data = await w.api.gql(SESSION_MONEY, {"id": session_id}, as_=as_)
    return data["session"]  # type: ignore[no-any-return]


async def ledger_sums_match(api: Api, member: Person) -> tuple[int, int]:
    """The member's balances recomputed from every ledger row by the one money rule; asserts they match."""
    from sessions_gql.domain.credits import Funds

    async with api.deps.sessions() as db:
        rows = (await db.scalars(select(m.LedgerEntry).where(m.LedgerEntry.member_id == member.member_id)
                                 .order_by(m.LedgerEntry.id))).all()
        row = await db.get(m.Member, member.member_id)
    assert row is not None
    funds = Funds.from_ledger(wallet.move_of(entry) for entry in rows)
    assert (funds.available_credits, funds.held_credits) == (row.available_credits, row.held_credits)
    return row.available_credits, row.held_credits


def amount(money: dict[str, Any] | None) -> str | None:
    return money["amount"] if money is not None else None


# ---------------------------------------------------------------- offers


async def test_a_service_lists_its_offers_and_refuses_bad_ones_naming_the_field(api: Api) -> None:
    w = await with_offers(api)
    cases = [
        ([{"sessions": 1, "priceCredits": 50}], "packages.sessions"),
        ([{"sessions": 51, "priceCredits": 50}], "packages.sessions"),
        ([{"sessions": 3, "priceCredits": 50}, {"sessions": 3, "priceCredits": 60}], "packages.sessions"),
        ([{"sessions": 3, "priceCredits": 0}], "packages.priceCredits"),
        ([{"sessions": 3, "priceCredits": 1_000_001}], "packages.priceCredits"),
        ([{"sessions": n, "priceCredits": 10 * n} for n in range(2, 13)], "packages"),  # 11 offers
    ]
    for offers, field in cases:
        refused = (await api.gql(SAVE, {"input": {**SERVICE, "serviceId": w.service_id, "packages": offers}},
                                 as_=w.provider))["saveService"]
        assert (refused["__typename"], refused["code"], refused["field"]) == ("BasicError", "VALIDATION", field)
    free = (await api.gql(SAVE, {"input": {**SERVICE, "serviceId": w.service_id, "priceCredits": 0}},
                          as_=w.provider))["saveService"]  # offers kept, but a free service cannot sell them
    assert (free["code"], free["field"], free["message"]) == (
        "VALIDATION", "packages", "only a service priced in credits can offer packages")
    listed = await api.gql(SERVICE_OFFERS, {"id": w.service_id}, as_=w.member)
    assert listed["node"]["packages"] == [{"sessions": 2, "priceCredits": 110}, {"sessions": 3, "priceCredits": 100}]
    kept = (await api.gql(SAVE, {"input": {**SERVICE, "serviceId": w.service_id, "name": "Therapy+"}},
                          as_=w.provider))["saveService"]  # packages omitted: kept as they are
    assert kept["service"]["packages"] == listed["node"]["packages"]
    cleared = (await api.gql(SAVE, {"input": {**SERVICE, "serviceId": w.service_id, "packages": []}},
                             as_=w.provider))["saveService"]
    assert cleared["service"]["packages"] == []
    new = await api.gql(SAVE_SERVICE, {"input": {**SERVICE, "name": "New"}}, as_=w.provider)
    fresh = await api.gql(SERVICE_OFFERS, {"id": new["saveService"]["service"]["id"]}, as_=w.member)
    assert fresh["node"]["packages"] == []


# ---------------------------------------------------------------- purchase


async def test_purchase_captures_the_price_once_and_the_package_is_seen_by_member_provider_and_admin(
        api: Api) -> None:
    w = await with_offers(api, credits=400)
    bought = await buy(w, idempotencyKey="buy-1")
    assert {k: bought[k] for k in ("sessionsTotal", "sessionsRemaining", "priceCredits", "sessionsRefunded",
                                   "refundedCredits")} == {"sessionsTotal": 3, "sessionsRemaining": 3,
                                                           "priceCredits": 100, "sessionsRefunded": 0,
                                                           "refundedCredits": 0}
    assert (bought["purchasedAt"], bought["validUntil"]) == (START.isoformat(),
                                                             (START + timedelta(days=365)).isoformat())
    assert (bought["member"]["id"], bought["provider"]["id"], bought["service"]["id"]) == (
        w.member.gid, w.provider.gid, w.service_id)
    assert bought["sessions"]["edges"] == []
    again = await buy(w, idempotencyKey="buy-1")  # a retry: the first answer, nothing charged twice
    assert again["id"] == bought["id"]
    wallet_now = await w.wallet()
    assert (balance(wallet_now), ledger(wallet_now)) == ((300, 0), [("CAPTURE", 100), ("GRANT", 400)])
    assert await ledger_sums_match(api, w.member) == (300, 0)
    reused = await w.run(PURCHASE, {"serviceId": w.service_id, "sessions": 2, "idempotencyKey": "buy-1"}, w.member)
    assert error(reused) == ("BasicError", "IDEMPOTENCY_KEY_REUSED", "idempotencyKey")

    other_provider = await api.provider("Other Provider")
    admin = await api.admin()
    for viewer, seen in ((w.member, [bought["id"]]), (w.provider, [bought["id"]]), (admin, [bought["id"]])):
        found = await api.gql(MEMBER_PACKAGES, {"id": w.member.gid}, as_=viewer)
        assert [p["id"] for p in found["member"]["packages"]] == seen
    assert await package(w, bought["id"], as_=other_provider) is None
    assert await package(w, bought["id"], as_=await api.member("Olga Outsider")) is None

    for_member = await buy(w, 2, as_=admin, memberId=w.member.gid)  # an admin buys for the member
    assert (for_member["member"]["id"], for_member["priceCredits"]) == (w.member.gid, 110)
    wallet_now = await w.wallet()
    assert (balance(wallet_now), ledger(wallet_now)) == ((190, 0), [("CAPTURE", 110), ("CAPTURE", 100),
                                                                    ("GRANT", 400)])
    assert await ledger_sums_match(api, w.member) == (190, 0)


async def test_purchase_refusals_change_nothing(api: Api) -> None:
    w = await with_offers(api, credits=90)
    before = await w.wallet()
    poor = await w.run(PURCHASE, {"serviceId": w.service_id, "sessions": 3}, w.member)
    assert error(poor) == ("InsufficientFundsError", "INSUFFICIENT_FUNDS", None)
    assert (poor["requiredCredits"], poor["availableCredits"]) == (100, 90)
    no_offer = await w.run(PURCHASE, {"serviceId": w.service_id, "sessions": 4}, w.member)
    assert error(no_offer) == ("BasicError", "VALIDATION", "sessions")
    assert no_offer["message"] == "Therapy offers no package of 4 sessions"
    by_provider = await w.run(PURCHASE, {"serviceId": w.service_id, "sessions": 2}, w.provider)
    assert error(by_provider) == ("BasicError", "FORBIDDEN", None)
    admin = await w.api.admin()
    unnamed = await w.run(PURCHASE, {"serviceId": w.service_id, "sessions": 2}, admin)
    assert error(unnamed) == ("BasicError", "VALIDATION", "memberId")
    paused = await w.api.gql("""mutation { setProviderVisibility(visibility: PAUSED) { __typename } }""",
                             as_=w.provider)
    assert paused == {"setProviderVisibility": {"__typename": "ProviderSuccess"}}
    unavailable = await w.run(PURCHASE, {"serviceId": w.service_id, "sessions": 2}, w.member)
    assert error(unavailable) == ("BasicError", "PROVIDER_UNAVAILABLE", "serviceId")
    assert unavailable["message"] == "this provider has paused their account and takes no new sessions"
    back = await w.api.gql("""mutation { setProviderVisibility(visibility: ACTIVE) { __typename } }""",
                           as_=w.provider)
    assert back == {"setProviderVisibility": {"__typename": "ProviderSuccess"}}
    archived = await w.api.gql("""mutation($id: ID!) { archiveService(id: $id) { __typename } }""",
                               {"id": w.service_id}, as_=w.provider)
    assert archived == {"archiveService": {"__typename": "ServiceSuccess"}}
    retired = await w.run(PURCHASE, {"serviceId": w.service_id, "sessions": 2}, w.member)
    assert error(retired) == ("BasicError", "VALIDATION", "serviceId")
    assert retired["message"] == "Therapy is archived and takes no new bookings"
    assert await w.wallet() == before
    assert (await w.api.gql(MEMBER_PACKAGES, {"id": w.member.gid}, as_=w.member))["member"]["packages"] == []


# ---------------------------------------------------------------- booking and earnings


async def test_a_package_session_holds_nothing_more_takes_a_place_and_completing_it_earns_the_share(
        api: Api, clock: FrozenClock) -> None:
    w = await with_offers(api)
    bought = await buy(w)
    requested = await book_from(w, bought["id"], at(1, 10))
    assert (requested["funding"], requested["priceCredits"], requested["paymentStatus"]) == ("PACKAGE", 33, "HELD")
    assert moved(requested) == [("FUNDS_HELD", 33)]
    assert balance(await w.wallet()) == (100, 0)  # the purchase paid for it: nothing more is held
    assert await remaining(w, bought["id"]) == 2
    theirs = await money_of(w, requested["id"], w.provider)
    assert theirs == {"status": "AWAITING_APPROVAL", "funding": "PACKAGE", "priceCredits": 33, "paymentStatus": "HELD",
                      "package": {"id": bought["id"], "sessionsRemaining": 2},
                      "expectedEarnings": {"amount": "24.75", "currency": "GBP"},
                      "providerEarnings": {"amount": "0.00", "currency": "GBP"}}
    mine = await money_of(w, requested["id"], w.member)
    assert (mine["expectedEarnings"], mine["providerEarnings"], mine["package"]["id"]) == (None, None, bought["id"])
    await ok(w, CONFIRM, {"sessionId": requested["id"]}, w.provider)
    clock.set(when(1, 9, 55))
    await ok(w, START_SESSION, {"sessionId": requested["id"]}, w.provider)
    clock.set(when(1, 11))
    ended = await ok(w, END, {"sessionId": requested["id"]}, w.provider)
    assert (ended["status"], ended["paymentStatus"], moved(ended)) == (
        "COMPLETED", "CAPTURED", [("FUNDS_HELD", 33), ("FUNDS_CAPTURED", 33)])
    done = await money_of(w, requested["id"], w.provider)
    assert (amount(done["providerEarnings"]), amount(done["expectedEarnings"])) == ("24.75", "24.75")
    assert await remaining(w, bought["id"]) == 2  # completion uses the place up
    wallet_now = await w.wallet()
    assert (balance(wallet_now), ledger(wallet_now)) == ((100, 0), [("CAPTURE", 100), ("GRANT", 200)])
    week = await api.gql(EARNINGS, {"id": w.provider.gid, "from": at(0, 0), "to": at(7, 0)}, as_=w.provider)
    assert week["provider"]["earnings"] == {"sessions": 1, "gross": {"amount": "27.50"}, "net": {"amount": "24.75"}}
    listed = await package(w, bought["id"], as_=w.provider)
    assert listed is not None
    assert listed["sessions"]["edges"] == [{"node": {"id": requested["id"], "status": "COMPLETED",
                                                     "funding": "PACKAGE"}}]
    refunded = await ok(w, REFUND, {"sessionId": requested["id"], "credits": 10, "note": "cut short"}, w.provider)
    assert (refunded["paymentStatus"], refunded["refundedCredits"], moved(refunded)[-1]) == (
        "PARTIALLY_REFUNDED", 10, ("REFUNDED", 10))
    after = await money_of(w, requested["id"], w.provider)
    assert (amount(after["providerEarnings"]), amount(after["expectedEarnings"])) == ("17.25", "17.25")  # 23/33
    wallet_now = await w.wallet()
    assert (balance(wallet_now), ledger(wallet_now)[0]) == ((110, 0), ("REFUND", 10))  # back in the wallet
    assert await remaining(w, bought["id"]) == 2  # the place stays used
    assert await ledger_sums_match(api, w.member) == (110, 0)


async def test_expected_earnings_for_credits_and_free_consultations(api: Api) -> None:
    w = await world(api, free_consultation=True)
    free = await ok(w, REQUEST, {"providerId": w.provider.gid, "serviceId": w.service_id, "startsAt": at(1, 10),
                                 "modality": "VIDEO"}, w.member)
    paid = await ok(w, REQUEST, {"providerId": w.provider.gid, "serviceId": w.service_id, "startsAt": at(1, 12),
                                 "modality": "VIDEO"}, w.member)
    assert (free["funding"], paid["funding"]) == ("FREE_CONSULTATION", "CREDITS")
    assert amount((await money_of(w, free["id"], w.provider))["expectedEarnings"]) == "0.00"
    assert amount((await money_of(w, paid["id"], w.provider))["expectedEarnings"]) == "45.00"
    assert (await money_of(w, paid["id"], w.member))["expectedEarnings"] is None
    assert (await money_of(w, paid["id"], await api.admin()))["expectedEarnings"] == {"amount": "45.00",
                                                                                      "currency": "GBP"}


async def test_each_outcome_gives_the_place_back_or_uses_it_up(api: Api, clock: FrozenClock) -> None:
    w = await with_offers(api, credits=100)
    bought = await buy(w)
    pid = bought["id"]
    declined = await book_from(w, pid, at(1, 9))
    await ok(w, DECLINE, {"sessionId": declined["id"], "reason": "NOT_AVAILABLE"}, w.provider)
    assert await remaining(w, pid) == 3
    withdrawn = await book_from(w, pid, at(1, 11))
    await ok(w, WITHDRAW, {"sessionId": withdrawn["id"]}, w.member)
    assert await remaining(w, pid) == 3
    early = await book_from(w, pid, at(3, 9))
    await ok(w, CONFIRM, {"sessionId": early["id"]}, w.provider)
    cancelled = await ok(w, CANCEL, {"sessionId": early["id"]}, w.member)  # 73 h ahead: early
    assert (cancelled["paymentStatus"], await remaining(w, pid)) == ("RETURNED", 3)
    by_provider = await book_from(w, pid, at(1, 13))
    await ok(w, CONFIRM, {"sessionId": by_provider["id"]}, w.provider)
    refused = await w.run(CANCEL, {"sessionId": by_provider["id"], "reason": "ILLNESS"}, w.provider)
    assert (refused["creditsAtStake"], refused["consequence"]) == (33, (
        "Cancelling less than 48 hours before the start: it counts as a late cancellation against your "
        "reliability, and the member gets this session's place in the package (worth 33 credits) back."))
    await ok(w, CANCEL, {"sessionId": by_provider["id"], "reason": "ILLNESS",
                         "acknowledgeLateCancellation": True}, w.provider)
    assert await remaining(w, pid) == 3
    expiring = await book_from(w, pid, at(2, 15))
    clock.set(START + timedelta(days=1, minutes=1))  # past its respondBy
    assert await scheduler.run_due(api.deps) >= 1
    assert (await money_of(w, expiring["id"], w.member))["status"] == "EXPIRED"
    assert await remaining(w, pid) == 3
    assert balance(await w.wallet()) == (0, 0)  # none of it moved a credit

    late = await book_from(w, pid, at(2, 10))  # place 0
    await ok(w, CONFIRM, {"sessionId": late["id"]}, w.provider)
    clock.set(when(1, 12))  # 22 h before
    await ok(w, CANCEL, {"sessionId": late["id"], "acknowledgeLateCancellation": True}, w.member)
    assert await remaining(w, pid) == 2  # a late member cancellation uses the place up
    assert amount((await money_of(w, late["id"], w.provider))["providerEarnings"]) == "24.75"
    absent = await book_from(w, pid, at(3, 10))  # place 1
    await ok(w, CONFIRM, {"sessionId": absent["id"]}, w.provider)
    clock.set(when(3, 10, 10))
    no_show = await ok(w, MARK_NO_SHOW, {"sessionId": absent["id"]}, w.provider)
    assert (no_show["status"], no_show["paymentStatus"], await remaining(w, pid)) == ("NO_SHOW", "CAPTURED", 1)
    assert amount((await money_of(w, absent["id"], w.provider))["providerEarnings"]) == "24.75"
    assert await ledger_sums_match(api, w.member) == (0, 0)


async def test_booking_refusals_name_why_and_change_nothing(api: Api) -> None:
    w = await with_offers(api, credits=300)
    bought = await buy(w, 2)  # 110 credits: two places of 55
    other = await api.gql(SAVE_SERVICE, {"input": {**SERVICE, "name": "Coaching"}}, as_=w.provider)
    stranger = await api.member("Olga Outsider", credits=100)
    first = await book_from(w, bought["id"], at(1, 10))
    second = await book_from(w, bought["id"], at(1, 12))
    assert (first["priceCredits"], second["priceCredits"]) == (55, 55)
    base = {"providerId": w.provider.gid, "serviceId": w.service_id, "startsAt": at(2, 10), "modality": "VIDEO",
            "packageId": bought["id"]}

    async def refused(payload: dict[str, Any], who: Person) -> tuple[tuple[str, str, str | None], str]:
        before = (await w.wallet(), await package(w, bought["id"]), await w.wallet(stranger))
        result = await w.run(REQUEST, payload, who)
        assert (await w.wallet(), await package(w, bought["id"]), await w.wallet(stranger)) == before
        return error(result), result["message"]

    assert await refused(base, w.member) == (("BasicError", "VALIDATION", "packageId"),
                                             "this package has no sessions left to book")
    await ok(w, WITHDRAW, {"sessionId": second["id"]}, w.member)  # a place is free again
    assert await remaining(w, bought["id"]) == 1
    assert await refused({**base, "serviceId": other["saveService"]["service"]["id"]}, w.member) == (
        ("BasicError", "VALIDATION", "packageId"), "this package is for another service")
    assert await refused(base, stranger) == (("BasicError", "NOT_FOUND", "packageId"), "no such package")
    assert await refused({**base, "durationMinutes": 30}, w.member) == (
        ("BasicError", "VALIDATION", "durationMinutes"), "a package session lasts 60 minutes")
    wrong_type = await refused({**base, "packageId": first["id"]}, w.member)  # a session's id
    assert wrong_type[0] == ("BasicError", "NOT_FOUND", "packageId")
    assert balance(await w.wallet()) == (190, 0)


async def test_two_requests_for_the_last_place_at_once_exactly_one_gets_it(api: Api) -> None:
    w = await with_offers(api)
    bought = await buy(w)
    await book_from(w, bought["id"], at(1, 9))
    await book_from(w, bought["id"], at(1, 10))
    admin = await api.admin()
    racers = [({"providerId": w.provider.gid, "serviceId": w.service_id, "startsAt": at(2, 9 + i),
                "modality": "VIDEO", "packageId": bought["id"], "memberId": w.member.gid}, who)
              for i, who in enumerate((w.member, admin, w.member, admin))]
    for payload, who in racers:
        if who is w.member:
            payload.pop("memberId")
    results = await asyncio.gather(*(w.run(REQUEST, payload, who) for payload, who in racers))
    outcomes = sorted(r["__typename"] if r["__typename"] == "SessionSuccess" else r["code"] for r in results)
    assert outcomes == ["SessionSuccess", "VALIDATION", "VALIDATION", "VALIDATION"]
    assert await remaining(w, bought["id"]) == 0
    async with api.deps.sessions() as db:
        places = (await db.scalars(select(m.Session.package_place).where(
            m.Session.package_id.is_not(None)).order_by(m.Session.package_place))).all()
    assert places == [0, 1, 2]
    assert balance(await w.wallet()) == (100, 0)


# ---------------------------------------------------------------- refunds and expiry


async def test_refunds_of_unused_places_return_their_share_and_never_more(api: Api) -> None:
    w = await with_offers(api)
    bought = await buy(w)
    pid = bought["id"]
    booked = await book_from(w, pid, at(1, 10))  # place 0 is booked, places 1 and 2 are unused
    other_provider = await api.provider("Other Provider")

    async def refused(sessions: int, who: Person) -> tuple[tuple[str, str, str | None], str]:
        before = (await w.wallet(), await package(w, pid))
        result = await w.run(REFUND_PACKAGE, {"packageId": pid, "sessions": sessions}, who)
        assert (await w.wallet(), await package(w, pid)) == before
        return error(result), result["message"]

    assert await refused(1, w.member) == (("BasicError", "FORBIDDEN", None),
                                          "only the provider or an admin may refund a package")
    assert await refused(1, other_provider) == (("BasicError", "NOT_FOUND", "packageId"), "no such package")
    over = ("BasicError", "VALIDATION", "sessions"), "between 1 and 2 unused sessions can be refunded"
    assert await refused(3, w.provider) == over
    assert await refused(0, w.provider) == over

    once = await w.run(REFUND_PACKAGE, {"packageId": pid, "sessions": 1}, w.provider)
    assert once["__typename"] == "PackageSuccess"
    assert {k: once["package"][k] for k in ("sessionsRemaining", "sessionsRefunded", "refundedCredits")} == {
        "sessionsRemaining": 1, "sessionsRefunded": 1, "refundedCredits": 34}  # the highest place: 34 credits
    wallet_now = await w.wallet()
    assert (balance(wallet_now), ledger(wallet_now)) == ((134, 0), [("REFUND", 34), ("CAPTURE", 100), ("GRANT", 200)])
    notes = (await api.gql(NOTIFICATIONS, as_=w.member))["notifications"]["edges"]
    assert notes[0]["node"] == {"kind": "SESSION_REFUNDED", "title": "Session refunded", "body": (
        "1 unused session was refunded from a package of 3: 34 credits are back in the member's wallet.")}

    admin = await api.admin()
    for _ in range(2):  # a retry with the same key refunds nothing more
        by_admin = await w.run(REFUND_PACKAGE, {"packageId": pid, "sessions": 1, "idempotencyKey": "r-1"}, admin)
        assert (by_admin["package"]["sessionsRemaining"], by_admin["package"]["refundedCredits"]) == (0, 67)
    assert balance(await w.wallet()) == (167, 0)
    assert await refused(1, w.provider) == (("BasicError", "VALIDATION", "sessions"),
                                            "between 1 and 0 unused sessions can be refunded")
    await ok(w, DECLINE, {"sessionId": booked["id"], "reason": "NOT_AVAILABLE"}, w.provider)
    assert await remaining(w, pid) == 1  # the declined session's place is unused again, and refundable
    last = await w.run(REFUND_PACKAGE, {"packageId": pid, "sessions": 1}, w.provider)
    assert (last["package"]["sessionsRemaining"], last["package"]["refundedCredits"]) == (0, 100)
    assert await ledger_sums_match(api, w.member) == (200, 0)  # every credit of the package came back


@pytest.fixture
async def short_api(database_url: str, clock: FrozenClock) -> AsyncIterator[Api]:
    """Packages valid for 2 days (SESSIONS_GQL_PACKAGE_VALIDITY_DAYS)."""
    async with running_api(settings_for(database_url, package_validity_days=2), clock) as api:
        yield api


async def refunds(api: Api, member: Person) -> list[int]:
    async with api.deps.sessions() as db:
        rows = (await db.scalars(select(m.LedgerEntry.credits).where(
            m.LedgerEntry.member_id == member.member_id, m.LedgerEntry.kind == "REFUND").order_by(
            m.LedgerEntry.id))).all()
    return list(rows)


async def test_an_expired_package_cannot_be_booked_and_its_unused_places_are_refunded_once(
        short_api: Api, clock: FrozenClock) -> None:
    api = short_api
    w = await with_offers(api)
    bought = await buy(w)
    pid = bought["id"]
    assert bought["validUntil"] == (START + timedelta(days=2)).isoformat()
    kept = await book_from(w, pid, at(3, 10))  # booked in time, for a day after validUntil
    await ok(w, CONFIRM, {"sessionId": kept["id"]}, w.provider)
    clock.set(START + timedelta(days=2))
    assert await scheduler.run_due(api.deps) >= 1
    expired = await package(w, pid)
    assert expired is not None
    assert {k: expired[k] for k in ("sessionsRemaining", "sessionsRefunded", "refundedCredits")} == {
        "sessionsRemaining": 0, "sessionsRefunded": 2, "refundedCredits": 67}  # places 1 and 2: 33 + 34
    assert balance(await w.wallet()) == (167, 0)
    for who in (w.member, w.provider):
        latest = (await api.gql(NOTIFICATIONS, as_=who))["notifications"]["edges"][0]["node"]
        assert (latest["kind"], latest["body"]) == ("SESSION_REFUNDED", (
            "2 unused sessions were refunded from a package of 3: 67 credits are back in the member's wallet."))

    before = (await w.wallet(), await package(w, pid))
    late = await w.run(REQUEST, {"providerId": w.provider.gid, "serviceId": w.service_id, "startsAt": at(4, 10),
                                 "modality": "VIDEO", "packageId": pid}, w.member)
    assert (error(late), late["message"]) == (("BasicError", "TOO_LATE", "packageId"),
                                              f"this package expired at {(START + timedelta(days=2)).isoformat()}")
    assert (await w.wallet(), await package(w, pid)) == before

    # the session it kept goes on; cancelled by the provider, its place comes back and is refunded after its end
    await ok(w, CANCEL, {"sessionId": kept["id"], "reason": "ILLNESS", "acknowledgeLateCancellation": True},
             w.provider)
    assert (await remaining(w, pid), await refunds(api, w.member)) == (1, [67])
    clock.set(when(3, 11, 34))
    await scheduler.run_due(api.deps)
    assert await refunds(api, w.member) == [67]  # not yet: the scheduler looks again 5 minutes after the grace
    clock.set(when(3, 11, 35))
    await scheduler.run_due(api.deps)
    assert (await remaining(w, pid), await refunds(api, w.member)) == (0, [67, 33])
    async with api.deps.uow() as uow:  # the same job once more: nothing is left to refund
        uow.session.add(m.Job(kind="package_expiry", session_id=None, dedupe_key="again", run_at=when(3, 11, 35),
                              payload={"package_id": str(ids.decode_uuid(pid, "Package"))}, attempts=0,
                              created_at=when(3, 11, 35)))
        await uow.commit()
    assert await scheduler.run_due(api.deps) == 1
    assert await refunds(api, w.member) == [67, 33]
    assert await ledger_sums_match(api, w.member) == (200, 0)
