"""The configurable windows and thresholds of booking, with the defaults of DOMAIN.md."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal


@dataclass(frozen=True)
class BookingPolicy:
    request_ttl: timedelta = timedelta(hours=24)
    member_late_window: timedelta = timedelta(hours=24)
    provider_late_window: timedelta = timedelta(hours=48)
    join_early: timedelta = timedelta(minutes=15)
    start_early: timedelta = timedelta(minutes=30)
    no_show_after: timedelta = timedelta(minutes=10)
    end_grace: timedelta = timedelta(minutes=30)
    response_target: timedelta = timedelta(hours=3)
    member_reminder_before: timedelta = timedelta(hours=24)
    provider_link_before: timedelta = timedelta(minutes=60)
    flag_after_cancellations: int = 3
    deactivate_after_cancellations: int = 5
    default_commission: Decimal = Decimal("0.10")


DEFAULT_POLICY = BookingPolicy()


def whole_hours(window: timedelta) -> int:
    return int(window.total_seconds() // 3600)
