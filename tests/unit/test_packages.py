"""The package rules without a database: offers, place shares, booking and refunding places, the purchase move."""

from __future__ import annotations

from decimal import Decimal

import pytest

from sessions_gql.domain.credits import Funds, LedgerMove
from sessions_gql.domain.enums import Funding, LedgerEntryKind, PaymentStatus
from sessions_gql.domain.errors import InsufficientFunds, ValidationError
from sessions_gql.domain.packages import Offer, Places, fee_share, holds_place, package_fee, validate_offers


def test_offers_are_sorted_and_bounded() -> None:
    assert validate_offers([Offer(5, 250), Offer(2, 110)], service_price_credits=60) == [Offer(2, 110),
                                                                                          Offer(5, 250)]
    assert validate_offers([], service_price_credits=0) == []
    refusals = [
        ([Offer(1, 10)], 60, "packages.sessions"),
        ([Offer(51, 10)], 60, "packages.sessions"),
        ([Offer(3, 10), Offer(3, 20)], 60, "packages.sessions"),
        ([Offer(3, 0)], 60, "packages.priceCredits"),
        ([Offer(n, 10) for n in range(2, 13)], 60, "packages"),
        ([Offer(3, 10)], 0, "packages"),
    ]
    for offers, price, field in refusals:
        with pytest.raises(ValidationError) as refused:
            validate_offers(offers, service_price_credits=price)
        assert refused.value.field == field


def test_places_book_the_lowest_refund_the_highest_and_never_more_than_unused() -> None:
    places = Places(total=3, price_credits=100)
    assert [places.share(k) for k in range(3)] == [33, 33, 34]
    assert (places.take(), places.take(), places.remaining) == (0, 1, 1)
    places.give_back(0)
    assert places.free == [0, 2]
    with pytest.raises(ValidationError) as over:
        places.refund(3)
    assert (over.value.field, over.value.message) == ("sessions", "between 1 and 2 unused sessions can be refunded")
    assert places.refund(1) == ([2], 34)
    assert (places.take(), places.remaining) == (0, 0)
    with pytest.raises(ValidationError) as none_left:
        places.take()
    assert none_left.value.field == "packageId"


def test_a_place_is_held_while_open_and_kept_once_used() -> None:
    held = [status for status in PaymentStatus
            if holds_place(funding=Funding.PACKAGE, payment_status=status, place=0)]
    assert held == [PaymentStatus.HELD, PaymentStatus.CAPTURED, PaymentStatus.PARTIALLY_REFUNDED,
                    PaymentStatus.REFUNDED]
    assert not holds_place(funding=Funding.CREDITS, payment_status=PaymentStatus.HELD, place=0)
    assert not holds_place(funding=Funding.PACKAGE, payment_status=PaymentStatus.HELD, place=None)


def test_the_package_fee_follows_the_services_fee_per_credit() -> None:
    fee = package_fee(Decimal("50.00"), 60, 100)
    assert fee == Decimal("83.33")
    assert (fee_share(fee, 100, 33), fee_share(fee, 100, 34)) == (Decimal("27.50"), Decimal("28.33"))


def test_a_purchase_is_one_capture_of_available_credits_refused_whole_when_short() -> None:
    funds = Funds()
    funds.grant(credits=50)
    funds.hold(credits=20)
    with pytest.raises(InsufficientFunds) as short:
        funds.purchase(credits=31)
    assert (short.value.required, short.value.available) == (31, 30)
    assert funds == Funds(available_credits=30, held_credits=20)
    move = funds.purchase(credits=30)
    assert move == LedgerMove(LedgerEntryKind.CAPTURE, 30, 0, None, from_available=True)
    assert funds == Funds(available_credits=0, held_credits=20)
    ledger = [LedgerMove(LedgerEntryKind.GRANT, 50), LedgerMove(LedgerEntryKind.HOLD, 20), move]
    assert Funds.from_ledger(ledger) == funds
    with pytest.raises(ValidationError):
        LedgerMove(LedgerEntryKind.REFUND, 5, from_available=True)
