"""A member's funds (credits and sponsored minutes), ledger moves, funding choice and earnings.

Choices where DOMAIN.md is silent:
- One `Funds` object carries both the credit wallet and the sponsored minutes, because one
  ledger entry carries both columns (`credits`, `sponsoredMinutes`). The caller sums a member's
  valid sponsorships into `available_minutes`; expiry dates are the caller's concern.
- Every method validates first and mutates after, so a refused move changes nothing.
- A session priced at 0 credits is funded by CREDITS and consumes no sponsored hours.
- A package purchase is one CAPTURE straight from the available credits (`from_available`): nothing is
  held first, so the ledger has one row for it and the balances still equal the ledger's sum.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from sessions_gql.domain.enums import Funding, LedgerEntryKind
from sessions_gql.domain.errors import InsufficientFunds, ValidationError

_CENT = Decimal("0.01")

_EFFECT: dict[LedgerEntryKind, tuple[int, int]] = {
    LedgerEntryKind.GRANT: (1, 0),
    LedgerEntryKind.HOLD: (-1, 1),
    LedgerEntryKind.RELEASE: (1, -1),
    LedgerEntryKind.CAPTURE: (0, -1),
    LedgerEntryKind.REFUND: (1, 0),
}
"""How each kind moves (available, held)."""


@dataclass(frozen=True)
class LedgerMove:
    kind: LedgerEntryKind
    credits: int = 0
    sponsored_minutes: int = 0
    note: str | None = None
    from_available: bool = False
    """A CAPTURE of available credits with no hold before it (a package purchase)."""

    def __post_init__(self) -> None:
        if self.credits < 0 or self.sponsored_minutes < 0:
            raise ValidationError("a ledger move is never negative", field="credits")
        if self.from_available and (self.kind is not LedgerEntryKind.CAPTURE or self.sponsored_minutes):
            raise ValidationError("only a capture of credits is taken straight from the available ones",
                                  field="credits")

    @property
    def effect(self) -> tuple[int, int]:
        """How this move changes (available, held), per unit."""
        return (-1, 0) if self.from_available else _EFFECT[self.kind]

    @property
    def is_empty(self) -> bool:
        return self.credits == 0 and self.sponsored_minutes == 0


@dataclass
class Funds:
    """Balances of one member; always equal to the sum of the moves applied."""

    available_credits: int = 0
    held_credits: int = 0
    available_minutes: int = 0
    held_minutes: int = 0

    def grant(self, *, credits: int = 0, sponsored_minutes: int = 0, note: str | None = None) -> LedgerMove:
        return self.apply(LedgerMove(LedgerEntryKind.GRANT, credits, sponsored_minutes, note))

    def hold(self, *, credits: int = 0, sponsored_minutes: int = 0, note: str | None = None) -> LedgerMove:
        return self.apply(LedgerMove(LedgerEntryKind.HOLD, credits, sponsored_minutes, note))

    def release(self, *, credits: int = 0, sponsored_minutes: int = 0, note: str | None = None) -> LedgerMove:
        return self.apply(LedgerMove(LedgerEntryKind.RELEASE, credits, sponsored_minutes, note))

    def capture(self, *, credits: int = 0, sponsored_minutes: int = 0, note: str | None = None) -> LedgerMove:
        return self.apply(LedgerMove(LedgerEntryKind.CAPTURE, credits, sponsored_minutes, note))

    def refund(self, *, credits: int = 0, sponsored_minutes: int = 0, note: str | None = None) -> LedgerMove:
        return self.apply(LedgerMove(LedgerEntryKind.REFUND, credits, sponsored_minutes, note))

    def purchase(self, *, credits: int, note: str | None = None) -> LedgerMove:
        """Pay for a package: one CAPTURE of available credits, refused whole when they do not suffice."""
        return self.apply(LedgerMove(LedgerEntryKind.CAPTURE, credits, 0, note, from_available=True))

    def apply(self, move: LedgerMove) -> LedgerMove:
        """Apply a move (one a session emitted, say); refuse it whole if a balance would go negative."""
        to_available, to_held = move.effect
        credits = (
            self.available_credits + to_available * move.credits,
            self.held_credits + to_held * move.credits,
        )
        minutes = (
            self.available_minutes + to_available * move.sponsored_minutes,
            self.held_minutes + to_held * move.sponsored_minutes,
        )
        _refuse_negative(move, credits=credits, minutes=minutes, funds=self)
        self.available_credits, self.held_credits = credits
        self.available_minutes, self.held_minutes = minutes
        return move

    @classmethod
    def of_sponsorship(cls, *, granted: int, used: int, held: int) -> Funds:
        """A sponsorship's minutes as funds: those not used are available, and `held` are the ones the session
        moving them holds; after its moves, `granted - available_minutes` are used."""
        return cls(available_minutes=granted - used, held_minutes=held)

    @classmethod
    def from_ledger(cls, moves: Iterable[LedgerMove]) -> Funds:
        """The balances a ledger adds up to, without any check."""
        funds = cls()
        for move in moves:
            to_available, to_held = move.effect
            funds.available_credits += to_available * move.credits
            funds.held_credits += to_held * move.credits
            funds.available_minutes += to_available * move.sponsored_minutes
            funds.held_minutes += to_held * move.sponsored_minutes
        return funds


def _refuse_negative(
    move: LedgerMove, *, credits: tuple[int, int], minutes: tuple[int, int], funds: Funds
) -> None:
    if (move.kind is LedgerEntryKind.HOLD or move.from_available) and credits[0] < 0:
        raise InsufficientFunds(
            f"{move.credits} credits are needed, {funds.available_credits} are available",
            required=move.credits,
            available=funds.available_credits,
        )
    if move.kind is LedgerEntryKind.HOLD and minutes[0] < 0:
        raise InsufficientFunds(
            f"{move.sponsored_minutes} sponsored minutes are needed, {funds.available_minutes} remain",
            required=move.sponsored_minutes,
            available=funds.available_minutes,
        )
    if min(*credits, *minutes) < 0:
        raise ValidationError(
            f"a {move.kind.value} of this size would make a balance negative", field="credits"
        )


def choose_funding(
    *,
    service_offers_free_consultation: bool,
    used_free_consultation_with_provider: bool,
    sponsored_minutes_available: int,
    duration_minutes: int,
    available_credits: int,
    price_credits: int,
) -> Funding:
    """Free initial consultation, else sponsored hours covering the whole length, else credits."""
    if service_offers_free_consultation and not used_free_consultation_with_provider:
        return Funding.FREE_CONSULTATION
    if price_credits > 0 and sponsored_minutes_available >= duration_minutes:
        return Funding.SPONSORED
    if available_credits >= price_credits:
        return Funding.CREDITS
    raise InsufficientFunds(
        f"this session costs {price_credits} credits and {available_credits} are available",
        required=price_credits,
        available=available_credits,
    )


def provider_earnings(
    *, fee: Decimal, commission_rate: Decimal | float, captured: int, refunded: int
) -> Decimal:
    """fee * (1 - commission), scaled by the share of captured credits not refunded, to the cent."""
    if refunded < 0 or refunded > captured:
        raise ValidationError(
            "refunded credits must lie between 0 and the captured credits", field="refunded"
        )
    if captured == 0:
        return Decimal("0.00")
    rate = commission_rate if isinstance(commission_rate, Decimal) else Decimal(str(commission_rate))
    kept = Decimal(captured - refunded) / Decimal(captured)
    return (fee * (1 - rate) * kept).quantize(_CENT, rounding=ROUND_HALF_UP)


def expected_earnings(
    *, funding: Funding | None, fee: Decimal, commission_rate: Decimal | float, price_credits: int, refunded: int
) -> Decimal | None:
    """What completing a session would earn its provider, by the same rule as `provider_earnings`: the fee
    minus commission (a package session's fee is its place's share), less refunds; a free consultation 0;
    None while the funding is unknown (a proposal the member has not accepted)."""
    if funding is None:
        return None
    if funding is Funding.FREE_CONSULTATION:
        return Decimal("0.00")
    return provider_earnings(fee=fee, commission_rate=commission_rate, captured=price_credits,
                             refunded=min(refunded, price_credits))
