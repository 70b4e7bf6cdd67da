"""One table from domain exception class to the contract's error type."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from sessions_gql.domain import errors as d
from sessions_gql.schema.common import (
    BasicError,
    InsufficientFundsError,
    LateCancellationError,
    ScheduleConflictError,
    Slot,
    UserError,
)
from sessions_gql.schema.enums import ErrorCode

T = TypeVar("T")


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
