"""Domain events a transition returns; the use case turns them into rows, notifications and jobs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sessions_gql.domain.actors import Actor
from sessions_gql.domain.credits import LedgerMove
from sessions_gql.domain.enums import Funding, NotificationKind, Party, SessionStatus, TimelineEventType


@dataclass(frozen=True)
class TimelineRecorded:
    """One row of the session's timeline; `credits` is set on every event that moves funds."""

    type: TimelineEventType
    actor: Actor | None
    from_status: SessionStatus | None = None
    to_status: SessionStatus | None = None
    reason: str | None = None
    note: str | None = None
    previous_starts_at: datetime | None = None
    new_starts_at: datetime | None = None
    credits: int | None = None


@dataclass(frozen=True)
class FundsMoved:
    """A ledger entry for the member's funds; sponsored sessions move `sponsored_minutes`."""

    move: LedgerMove
    funding: Funding


@dataclass(frozen=True)
class PartyNotified:
    party: Party
    kind: NotificationKind


@dataclass(frozen=True)
class VideoRoomRequested:
    action: Literal["create", "move", "cancel"]


@dataclass(frozen=True)
class ProviderCancelled:
    """A cancellation (or a no-show) that counts against the provider's reliability."""

    late: bool


@dataclass(frozen=True)
class ProviderResponded:
    """The provider answered (or let expire) a request after `minutes`."""

    minutes: float
    late: bool


@dataclass(frozen=True)
class SessionCompleted:
    """A session ended normally; resets the provider's cancellation streak."""


@dataclass(frozen=True)
class ProviderFlagged:
    consecutive_cancellations: int


@dataclass(frozen=True)
class ProviderDeactivationRequested:
    """Set the provider DEACTIVATED and tell the admins."""

    consecutive_cancellations: int


DomainEvent = (
    TimelineRecorded
    | FundsMoved
    | PartyNotified
    | VideoRoomRequested
    | ProviderCancelled
    | ProviderResponded
    | SessionCompleted
    | ProviderFlagged
    | ProviderDeactivationRequested
)
