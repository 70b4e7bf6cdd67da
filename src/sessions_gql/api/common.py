"""Types every area uses: Node, PageInfo, Money and Slot (the typed user errors are in api/errors.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

import strawberry

_Resolver = TypeVar("_Resolver", bound=Callable[..., Any])


def resolver_field(*, description: str | None = None) -> Callable[[_Resolver], _Resolver]:
    """`@strawberry.field(description=...)` on a resolver method, typed for mypy.

    Strawberry types the keyword-only call as returning Any (it also serves `x: int = strawberry.field(...)`), which
    strict mypy reports as an untyped decorator (strawberry-graphql/strawberry#1929), and the bare decorator as
    returning a StrawberryField, which cannot be called as the method. Once `@strawberry.type` has processed the
    class, the attribute is the method itself again, which is what this says. At run time it is `strawberry.field`.
    """
    decorate: Callable[[_Resolver], _Resolver] = strawberry.field(description=description)
    return decorate


@strawberry.interface
class Node:
    id: strawberry.ID


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None = None
    end_cursor: str | None = None


def page_info(cursors: list[str], *, has_next: bool, has_previous: bool) -> PageInfo:
    """The PageInfo of a page whose edges carry these cursors, in order."""
    return PageInfo(has_next_page=has_next, has_previous_page=has_previous,
                    start_cursor=cursors[0] if cursors else None, end_cursor=cursors[-1] if cursors else None)


@strawberry.type
class Money:
    amount: str
    currency: str


@strawberry.type
class Slot:
    starts_at: datetime
    ends_at: datetime


def money(amount: Decimal, currency: str) -> Money:
    return Money(amount=f"{Decimal(amount).quantize(Decimal('0.01'))}", currency=currency)
