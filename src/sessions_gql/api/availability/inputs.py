"""What availability mutations take."""

from __future__ import annotations

from datetime import datetime, time

import strawberry

from sessions_gql.api.enums import OverrideKind, Weekday


@strawberry.input
class WeeklyRuleInput:
    weekday: Weekday
    start: time
    end: time


@strawberry.input
class SetAvailabilityInput:
    time_zone: str
    weekly_rules: list[WeeklyRuleInput]
    provider_id: strawberry.ID | None = None
    buffer_minutes: int | None = None
    minimum_notice_minutes: int | None = None
    horizon_days: int | None = None


@strawberry.input
class AddAvailabilityOverrideInput:
    kind: OverrideKind
    starts_at: datetime
    ends_at: datetime
    note: str | None = None
    provider_id: strawberry.ID | None = None
