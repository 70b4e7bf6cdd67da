"""Typed domain errors. Each maps to one GraphQL error type and code in one table (api/errors.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


class DomainError(Exception):
    """Base of every expected, user-facing failure. `code` is an ErrorCode name of the contract."""

    code = "VALIDATION"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class ValidationError(DomainError):
    code = "VALIDATION"


class NotFound(DomainError):
    code = "NOT_FOUND"


class Forbidden(DomainError):
    code = "FORBIDDEN"


class InvalidTransition(DomainError):
    code = "INVALID_TRANSITION"


class TooLate(DomainError):
    code = "TOO_LATE"


class TooEarly(DomainError):
    code = "TOO_EARLY"


class SlotUnavailable(DomainError):
    code = "SLOT_UNAVAILABLE"


class StaleVersion(DomainError):
    code = "STALE_VERSION"


class ProviderUnavailable(DomainError):
    code = "PROVIDER_UNAVAILABLE"


class IdempotencyKeyReused(DomainError):
    code = "IDEMPOTENCY_KEY_REUSED"


class RateLimited(DomainError):
    code = "RATE_LIMITED"


@dataclass(frozen=True)
class Interval:
    """A half-open instant range [starts_at, ends_at), both timezone-aware."""

    starts_at: datetime
    ends_at: datetime

    def overlaps(self, other: Interval) -> bool:
        return self.starts_at < other.ends_at and other.starts_at < self.ends_at


class ScheduleConflict(DomainError):
    code = "SCHEDULE_CONFLICT"

    def __init__(self, message: str, *, conflicts: list[Interval], field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.conflicts = conflicts


class InsufficientFunds(DomainError):
    code = "INSUFFICIENT_FUNDS"

    def __init__(self, message: str, *, required: int, available: int, field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.required = required
        self.available = available


class LateCancellationUnacknowledged(DomainError):
    code = "LATE_CANCELLATION_UNACKNOWLEDGED"

    def __init__(
        self, message: str, *, window_hours: int, credits_at_stake: int, consequence: str
    ) -> None:
        super().__init__(message, field="acknowledgeLateCancellation")
        self.window_hours = window_hours
        self.credits_at_stake = credits_at_stake
        self.consequence = consequence


class MarkedNoShow(InvalidTransition):
    """A member's join refused because the provider marked them a no-show, which the provider may still undo."""

    def __init__(self, message: str, *, marked_at: datetime) -> None:
        super().__init__(message)
        self.marked_at = marked_at
