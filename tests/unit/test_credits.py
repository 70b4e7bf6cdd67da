"""Funds, ledger moves, the funding order and provider earnings."""

from __future__ import annotations

import copy
from decimal import Decimal

import pytest

from sessions_gql.domain.credits import Funds, LedgerMove, choose_funding, provider_earnings
from sessions_gql.domain.enums import Funding, LedgerEntryKind
from sessions_gql.domain.errors import InsufficientFunds, ValidationError

K = LedgerEntryKind


def funded(credits: int = 10, minutes: int = 120) -> tuple[Funds, list[LedgerMove]]:
    funds = Funds()
    return funds, [funds.grant(credits=credits, sponsored_minutes=minutes, note="welcome")]


def test_each_move_changes_the_balances_as_its_kind_says_and_returns_the_ledger_entry() -> None:
    funds, ledger = funded()
    assert ledger == [LedgerMove(K.GRANT, 10, 120, "welcome")]
    assert funds.hold(credits=4) == LedgerMove(K.HOLD, 4)
    assert (funds.available_credits, funds.held_credits) == (6, 4)
    assert funds.release(credits=1) == LedgerMove(K.RELEASE, 1)
    assert (funds.available_credits, funds.held_credits) == (7, 3)
    assert funds.capture(credits=3) == LedgerMove(K.CAPTURE, 3)
    assert (funds.available_credits, funds.held_credits) == (7, 0)
    assert funds.refund(credits=2, note="sorry") == LedgerMove(K.REFUND, 2, 0, "sorry")
    assert funds == Funds(available_credits=9, held_credits=0, available_minutes=120, held_minutes=0)


def test_sponsored_minutes_move_like_credits() -> None:
    funds, _ = funded()
    funds.hold(sponsored_minutes=60)
    funds.capture(sponsored_minutes=60)
    funds.refund(sponsored_minutes=24)
    assert (funds.available_minutes, funds.held_minutes, funds.available_credits) == (84, 0, 10)


def test_the_balances_always_equal_the_sum_of_the_ledger() -> None:
    funds, ledger = funded()
    ledger += [
        funds.hold(credits=5),
        funds.hold(sponsored_minutes=60),
        funds.capture(credits=5),
        funds.release(sponsored_minutes=60),
        funds.refund(credits=2),
        funds.grant(credits=3),
    ]
    assert Funds.from_ledger(ledger) == funds == Funds(10, 0, 120, 0)


def test_applying_a_move_a_session_emitted_dispatches_on_its_kind() -> None:
    funds, _ = funded()
    assert funds.apply(LedgerMove(K.HOLD, 5, 30)) == LedgerMove(K.HOLD, 5, 30)
    assert funds == Funds(5, 5, 90, 30)


def test_a_hold_beyond_the_available_credits_is_refused_with_required_and_available() -> None:
    funds, _ = funded(credits=3)
    before = copy.deepcopy(funds)
    with pytest.raises(InsufficientFunds) as caught:
        funds.hold(credits=5)
    assert (caught.value.required, caught.value.available) == (5, 3)
    assert funds == before


def test_a_hold_beyond_the_sponsored_minutes_is_refused() -> None:
    funds, _ = funded(minutes=30)
    with pytest.raises(InsufficientFunds) as caught:
        funds.hold(sponsored_minutes=60)
    assert (caught.value.required, caught.value.available) == (60, 30)
    assert funds == Funds(10, 0, 30, 0)


@pytest.mark.parametrize("kind", [K.RELEASE, K.CAPTURE])
def test_releasing_or_capturing_more_than_is_held_is_refused(kind: LedgerEntryKind) -> None:
    funds, _ = funded()
    funds.hold(credits=2)
    before = copy.deepcopy(funds)
    with pytest.raises(ValidationError):
        funds.apply(LedgerMove(kind, 3))
    assert funds == before


def test_a_negative_move_is_refused() -> None:
    with pytest.raises(ValidationError):
        LedgerMove(K.GRANT, -1)
    with pytest.raises(ValidationError):
        Funds().grant(sponsored_minutes=-5)


def choose(
    *,
    free_offered: bool = False,
    free_used: bool = False,
    sponsored_minutes: int = 0,
    credits: int = 10,
    price: int = 5,
) -> Funding:
    """The funding of a 60-minute session."""
    return choose_funding(
        service_offers_free_consultation=free_offered,
        used_free_consultation_with_provider=free_used,
        sponsored_minutes_available=sponsored_minutes,
        duration_minutes=60,
        available_credits=credits,
        price_credits=price,
    )


def test_a_free_consultation_comes_first_even_with_sponsored_hours() -> None:
    assert choose(free_offered=True, sponsored_minutes=600) is Funding.FREE_CONSULTATION


def test_a_used_free_consultation_falls_to_sponsored_hours_that_cover_the_whole_session() -> None:
    assert (
        choose(
            free_offered=True,
            free_used=True,
            sponsored_minutes=60,
        )
        is Funding.SPONSORED
    )


def test_sponsored_hours_short_of_the_length_fall_to_credits() -> None:
    assert choose(sponsored_minutes=59) is Funding.CREDITS


def test_credits_that_exactly_cover_the_price_fund_it() -> None:
    assert choose(credits=5) is Funding.CREDITS


def test_a_zero_credit_session_never_uses_sponsored_hours() -> None:
    assert choose(price=0, sponsored_minutes=600, credits=0) is Funding.CREDITS


def test_without_enough_credits_the_booking_is_refused() -> None:
    with pytest.raises(InsufficientFunds) as caught:
        choose(credits=4, sponsored_minutes=30)
    assert (caught.value.required, caught.value.available) == (5, 4)


@pytest.mark.parametrize(
    ("fee", "rate", "captured", "refunded", "earned"),
    [
        (Decimal("50.00"), Decimal("0.10"), 5, 0, Decimal("45.00")),
        (Decimal("50.00"), Decimal("0.10"), 5, 2, Decimal("27.00")),
        (Decimal("50.00"), Decimal("0.10"), 5, 5, Decimal("0.00")),
        (Decimal("50.00"), 0.15, 5, 0, Decimal("42.50")),
        (Decimal("33.33"), Decimal("0.10"), 3, 1, Decimal("20.00")),
        (Decimal("50.00"), Decimal("0.10"), 0, 0, Decimal("0.00")),
    ],
    ids=["full", "partly-refunded", "fully-refunded", "float-rate", "rounded-half-up", "nothing-captured"],
)
def test_provider_earnings(fee: Decimal, rate: Decimal | float, captured: int, refunded: int, earned: Decimal) -> None:
    result = provider_earnings(fee=fee, commission_rate=rate, captured=captured, refunded=refunded)
    assert (result, str(result)) == (earned, str(earned))


def test_earnings_refuse_more_refunded_than_captured() -> None:
    with pytest.raises(ValidationError):
        provider_earnings(fee=Decimal("10"), commission_rate=Decimal("0.1"), captured=2, refunded=3)
