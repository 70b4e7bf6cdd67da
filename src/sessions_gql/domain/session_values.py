"""Value objects of a session, and the terms of a new one (who, what, when, for how much).

Slot availability, minimum notice, horizon and overlaps need the database and are checked by
the caller; `SessionTerms.validate` checks what the terms can tell alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from uuid import UUID

from sessions_gql.domain import validation
from sessions_gql.domain.enums import CancellationReason, Modality, Party, RefundKind, Role
from sessions_gql.domain.errors import ValidationError


@dataclass(frozen=True)
class Approvals:
    member: bool
    provider: bool

    @classmethod
    def only(cls, party: Party) -> Approvals:
        return cls(member=party is Party.MEMBER, provider=party is Party.PROVIDER)

    @classmethod
    def both(cls) -> Approvals:
        return cls(member=True, provider=True)


@dataclass(frozen=True)
class Proposal:
    starts_at: datetime
    ends_at: datetime
    proposed_by: Party
    proposed_at: datetime


@dataclass(frozen=True)
class Cancellation:
    by: Role
    reason: CancellationReason | None
    note: str | None
    at: datetime
    late: bool


@dataclass(frozen=True)
class RefundChoice:
    kind: RefundKind
    credits: int | None = None


@dataclass(frozen=True)
class SessionTerms:
    member_id: UUID
    provider_id: UUID
    service_id: UUID
    modality: Modality
    starts_at: datetime
    duration_minutes: int
    price_credits: int
    fee: Decimal
    currency: str
    commission_rate: Decimal
    skill: str | None = None
    location: str | None = None
    member_note: str | None = None
    package_id: UUID | None = None
    package_place: int | None = None

    def validate(self, *, now: datetime) -> None:
        validate_slot(starts_at=self.starts_at, duration_minutes=self.duration_minutes, now=now)
        if self.price_credits < 0:
            raise ValidationError("the price in credits cannot be negative", field="priceCredits")
        if self.fee < 0:
            raise ValidationError("the fee cannot be negative", field="fee")
        if not 0 <= self.commission_rate < 1:
            raise ValidationError("the commission rate lies in [0, 1)", field="commissionRate")
        if self.modality is Modality.IN_PERSON and not (self.location or "").strip():
            raise ValidationError("an in-person session needs a location", field="location")


def validate_slot(*, starts_at: datetime, duration_minutes: int, now: datetime) -> None:
    """A session time: timezone-aware, in the future, 15..240 minutes long in steps of 5."""
    if starts_at.tzinfo is None or starts_at.utcoffset() is None:
        raise ValidationError("the start needs a time zone offset", field="startsAt")
    if starts_at <= now:
        raise ValidationError("the start must be in the future", field="startsAt")
    validation.duration(duration_minutes)


def slot_end(*, starts_at: datetime, duration_minutes: int) -> datetime:
    return starts_at + timedelta(minutes=duration_minutes)
