"""The contract's typed user errors, and one table from domain exception class to them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import strawberry

from sessions_gql.api.common import Slot
from sessions_gql.api.enums import ErrorCode
from sessions_gql.domain import errors as d

T = TypeVar("T")


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


def _basic(exc: d.DomainError) -> UserError:
    return BasicError(code=ErrorCode(exc.code), message=exc.message, field=exc.field)


def _conflict(exc: d.DomainError) -> UserError:
    assert isinstance(exc, d.ScheduleConflict)
    slots = [Slot(starts_at=c.starts_at, ends_at=c.ends_at) for c in exc.conflicts]
    return ScheduleConflictError(code=ErrorCode(exc.code), message=exc.message, field=exc.field, conflicts=slots)


def _funds(exc: d.DomainError) -> UserError:
    assert isinstance(exc, d.InsufficientFunds)
    return InsufficientFundsError(code=ErrorCode(exc.code), message=exc.message, field=exc.field,
                                  required_credits=exc.required, available_credits=exc.available)


def _late(exc: d.DomainError) -> UserError:
    assert isinstance(exc, d.LateCancellationUnacknowledged)
    return LateCancellationError(code=ErrorCode(exc.code), message=exc.message, field=exc.field,
                                 window_hours=exc.window_hours, credits_at_stake=exc.credits_at_stake,
                                 consequence=exc.consequence)


MAPPERS: dict[type[d.DomainError], Callable[[d.DomainError], UserError]] = {
    d.ScheduleConflict: _conflict,
    d.InsufficientFunds: _funds,
    d.LateCancellationUnacknowledged: _late,
}


def user_error(exc: d.DomainError) -> UserError:
    for cls in type(exc).__mro__:
        mapper = MAPPERS.get(cls)
        if mapper is not None:
            return mapper(exc)
    return _basic(exc)


async def result_or_error(work: Callable[[], Awaitable[T]]) -> T | UserError:
    """Run a mutation; an expected domain error becomes the typed error member of the result union."""
    try:
        return await work()
    except d.DomainError as exc:
        return user_error(exc)
