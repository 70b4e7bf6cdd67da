"""Packages (DOMAIN.md "Packages"): N sessions of one service bought at once, booked one place at a time.

Choices where DOMAIN.md is silent (docs/DECISIONS.md says why):
- A package's places are numbered 0..N-1. Place k is worth floor(P*(k+1)/N) - floor(P*k/N) credits of the price
  P: whole credits, at most one apart, and all N of them add up to exactly P, so no credit is made or lost by
  rounding, whatever mix of used and refunded places a package ends with.
- A booking takes the lowest free place and keeps it (and its price) for good; a refund of unused places gives
  back the highest free ones. A place is free unless a session holds it (open) or used it up, or it was refunded.
- The provider is paid for a place in money, like for any session: the package's fee (the service's fee scaled
  by the package price over the service's price, fixed at purchase) shared out like the credits.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from sessions_gql.domain.enums import Funding, PaymentStatus
from sessions_gql.domain.errors import ValidationError
from sessions_gql.domain.validation import MAX_CREDITS

MIN_SESSIONS = 2
MAX_SESSIONS = 50
MAX_OFFERS = 10
_CENT = Decimal("0.01")


@dataclass(frozen=True)
class Offer:
    """N sessions of a service for a price in credits, as `ServiceInput.packages` lists them."""

    sessions: int
    price_credits: int


def validate_offers(offers: Sequence[Offer], *, service_price_credits: int) -> list[Offer]:
    """The offers a service may list, sorted by their number of sessions; VALIDATION naming the field otherwise."""
    if len(offers) > MAX_OFFERS:
        raise ValidationError(f"a service offers at most {MAX_OFFERS} packages", field="packages")
    if offers and service_price_credits <= 0:
        raise ValidationError("only a service priced in credits can offer packages", field="packages")
    seen: set[int] = set()
    for offer in offers:
        if not MIN_SESSIONS <= offer.sessions <= MAX_SESSIONS:
            raise ValidationError(f"a package has {MIN_SESSIONS} to {MAX_SESSIONS} sessions",
                                  field="packages.sessions")
        if offer.sessions in seen:
            raise ValidationError(f"two packages of {offer.sessions} sessions", field="packages.sessions")
        seen.add(offer.sessions)
        if not 0 < offer.price_credits <= MAX_CREDITS:
            raise ValidationError(f"a package costs 1 to {MAX_CREDITS} credits", field="packages.priceCredits")
    return sorted(offers, key=lambda offer: offer.sessions)


def holds_place(*, funding: Funding | None, payment_status: PaymentStatus, place: int | None) -> bool:
    """A session holds its package place while open (HELD) and keeps it once it used it up (captured, even if
    refunded later); a returned one gave it back, and one re-offered after a decline is paid anew."""
    return (
        funding is Funding.PACKAGE
        and place is not None
        and payment_status not in (PaymentStatus.NONE, PaymentStatus.RETURNED)
    )


def place_share(price_credits: int, total: int, place: int) -> int:
    """The credits place `place` (0-based) of a package is worth."""
    if not 0 <= place < total:
        raise ValueError(f"place {place} of a {total}-session package")
    return price_credits * (place + 1) // total - price_credits * place // total


def fee_share(package_fee: Decimal, price_credits: int, credits: int) -> Decimal:
    """The part of the package's fee that `credits` of its price stand for, to the cent."""
    return (Decimal(package_fee) * credits / price_credits).quantize(_CENT, rounding=ROUND_HALF_UP)


def package_fee(service_fee: Decimal, service_price_credits: int, price_credits: int) -> Decimal:
    """What a package is worth to the provider before commission: the service's fee per credit times its price."""
    return fee_share(service_fee, service_price_credits, price_credits)


@dataclass
class Places:
    """The places of one package: which are taken (held by an open session, or used up) and which refunded."""

    total: int
    price_credits: int
    taken: set[int] = field(default_factory=set)
    refunded: set[int] = field(default_factory=set)

    @classmethod
    def of(cls, *, total: int, price_credits: int, taken: Iterable[int], refunded: Iterable[int]) -> Places:
        return cls(total=total, price_credits=price_credits, taken=set(taken), refunded=set(refunded))

    @property
    def free(self) -> list[int]:
        return [place for place in range(self.total) if place not in self.taken and place not in self.refunded]

    @property
    def remaining(self) -> int:
        """Places not yet booked ("Unscheduled"), refunded ones excluded."""
        return len(self.free)

    def share(self, place: int) -> int:
        return place_share(self.price_credits, self.total, place)

    def take(self) -> int:
        """Book the lowest free place; VALIDATION when none is left."""
        free = self.free
        if not free:
            raise ValidationError("this package has no sessions left to book", field="packageId")
        self.taken.add(free[0])
        return free[0]

    def give_back(self, place: int) -> None:
        self.taken.discard(place)

    def refund(self, sessions: int) -> tuple[list[int], int]:
        """Refund `sessions` unused places (the highest free ones): (their numbers, the credits they are worth)."""
        free = self.free
        if not 0 < sessions <= len(free):
            raise ValidationError(f"between 1 and {len(free)} unused sessions can be refunded", field="sessions")
        chosen = free[-sessions:]
        self.refunded.update(chosen)
        return chosen, sum(self.share(place) for place in chosen)
