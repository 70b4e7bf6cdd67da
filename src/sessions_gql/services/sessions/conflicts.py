"""Busy time a session runs into: the provider's BLOCKED overrides (imported busy time included) overlapping it.

The same answer serves `Session.conflicts` (the confirmation dialog) and the provider's SESSION_REQUESTED notice.
A RESCHEDULING session is checked at its current time and at the proposed one: both are held, and the party
answering the proposal needs to see what the new time would run into.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sessions_gql.db import models as m
from sessions_gql.db.loaders import Loaders
from sessions_gql.domain.errors import Interval


def spans(row: m.Session) -> list[tuple[datetime, datetime]]:
    """The times of `row` that conflicts are looked for in: its own, and a pending proposal's."""
    found = [(row.starts_at, row.ends_at)]
    if row.proposal_starts_at is not None and row.proposal_ends_at is not None:
        found.append((row.proposal_starts_at, row.proposal_ends_at))
    return found


async def of_session(loaders: Loaders, row: m.Session) -> list[Interval]:
    """Each overlapping override once, by start (one statement per batch of sessions)."""
    keys = [(row.provider_id, starts_at, ends_at) for starts_at, ends_at in spans(row)]
    return once_each([(override.id, override.starts_at, override.ends_at)
                      for found in await loaders.blocked_overlapping.load_many(keys) for override in found])


def once_each(overrides: Iterable[tuple[Any, datetime, datetime]]) -> list[Interval]:
    """The times of overrides given as (id, start, end), each override once, by start."""
    seen: dict[object, Interval] = {}
    for ident, starts_at, ends_at in overrides:
        seen.setdefault(ident, Interval(starts_at=starts_at, ends_at=ends_at))
    return sorted(seen.values(), key=lambda interval: (interval.starts_at, interval.ends_at))
