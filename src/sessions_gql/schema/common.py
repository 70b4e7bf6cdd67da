"""Types every area uses: Node, PageInfo, Money, Slot and the typed user errors."""

from __future__ import annotations

from datetime import datetime

import strawberry

from sessions_gql.schema.enums import ErrorCode


@strawberry.interface
class Node:
    id: strawberry.ID


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None = None
    end_cursor: str | None = None


@strawberry.type
class Money:
    amount: str
    currency: str


@strawberry.type
class Slot:
    starts_at: datetime
    ends_at: datetime


@strawberry.interface
class UserError:
    code: ErrorCode
    message: str
    field: str | None = None


@strawberry.type
class BasicError(UserError):
    """An error with nothing more to say than its code, message and field."""


@strawberry.type
class ScheduleConflictError(UserError):
    conflicts: list[Slot]


@strawberry.type
class InsufficientFundsError(UserError):
    required_credits: int
    available_credits: int


@strawberry.type
class LateCancellationError(UserError):
    window_hours: int
    credits_at_stake: int
    consequence: str
