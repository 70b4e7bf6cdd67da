"""A provider's reliability figures: the cancellation streak and response times.

Choices where DOMAIN.md is silent:
- The flag is raised once, when the streak reaches `flag_after_cancellations` (3 or more, as
  DOMAIN.md says; the seed's "more than 3" loses). Deactivation is asked for on every
  cancellation once the streak is at or above `deactivate_after_cancellations`, so a provider an
  admin re-activated is deactivated again by the next cancellation in the same streak.
- Only a completed session resets the streak and lowers the flag.
- A response is late when it took longer than `response_target`.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from sessions_gql.domain.enums import NotificationKind, Party
from sessions_gql.domain.events import (
    DomainEvent,
    PartyNotified,
    ProviderDeactivationRequested,
    ProviderFlagged,
)
from sessions_gql.domain.policy import BookingPolicy


@dataclass
class ProviderReliability:
    consecutive_cancellations: int = 0
    late_cancellations: int = 0
    flagged: bool = False
    response_count: int = 0
    response_minutes_total: float = 0.0
    late_responses: int = 0

    @property
    def average_response_minutes(self) -> float | None:
        if self.response_count == 0:
            return None
        return self.response_minutes_total / self.response_count

    def record_cancellation(self, *, late: bool, policy: BookingPolicy) -> list[DomainEvent]:
        self.consecutive_cancellations += 1
        self.late_cancellations += int(late)
        streak = self.consecutive_cancellations
        events: list[DomainEvent] = []
        if not self.flagged and streak >= policy.flag_after_cancellations:
            self.flagged = True
            events += [
                ProviderFlagged(streak),
                PartyNotified(Party.PROVIDER, NotificationKind.ACCOUNT_FLAGGED),
            ]
        if streak >= policy.deactivate_after_cancellations:
            events += [
                ProviderDeactivationRequested(streak),
                PartyNotified(Party.PROVIDER, NotificationKind.ACCOUNT_DEACTIVATED),
            ]
        return events

    def record_completed(self) -> None:
        self.consecutive_cancellations = 0
        self.flagged = False

    def record_response(self, *, minutes: float, policy: BookingPolicy, late: bool | None = None) -> None:
        """One answer after `minutes`; `late` as the session decided it (a request left to expire is late however
        soon it expired), else past the policy's response target."""
        self.response_count += 1
        self.response_minutes_total += minutes
        overdue = minutes > policy.response_target.total_seconds() / 60 if late is None else late
        self.late_responses += int(overdue)


RANK_UNMEASURED = 2**31 - 1
"""The ranking key of a provider who has not answered a request yet: after every measured average (DECISIONS)."""


def rank_response_seconds(response_count: int, response_minutes_total: float | Decimal) -> int:
    """The average response in whole seconds (half up), the key `providers(orderBy: RECOMMENDED)` sorts on after
    the flag and the late responses; providers without a response yet sort after all measured ones."""
    if response_count <= 0:
        return RANK_UNMEASURED
    seconds = (Decimal(str(response_minutes_total)) * 60 / response_count).quantize(Decimal(1), ROUND_HALF_UP)
    return min(int(seconds), RANK_UNMEASURED - 1)
