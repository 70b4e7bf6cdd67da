"""The contract's enums, backed by the domain's own (same names and values)."""

from __future__ import annotations

from enum import Enum

import strawberry

from sessions_gql.domain import enums as d

Role = strawberry.enum(d.Role)
Modality = strawberry.enum(d.Modality)
ProviderVisibility = strawberry.enum(d.ProviderVisibility)
Weekday = strawberry.enum(d.Weekday)
OverrideKind = strawberry.enum(d.OverrideKind)
SessionStatus = strawberry.enum(d.SessionStatus)
PaymentStatus = strawberry.enum(d.PaymentStatus)
Funding = strawberry.enum(d.Funding)
Party = strawberry.enum(d.Party)
DeclineReason = strawberry.enum(d.DeclineReason)
CancellationReason = strawberry.enum(d.CancellationReason)
SessionAction = strawberry.enum(d.SessionAction)
TimelineEventType = strawberry.enum(d.TimelineEventType)
LedgerEntryKind = strawberry.enum(d.LedgerEntryKind)
RefundKind = strawberry.enum(d.RefundKind)
NotificationKind = strawberry.enum(d.NotificationKind)


@strawberry.enum
class SessionView(Enum):
    UPCOMING = "UPCOMING"
    AWAITING_MY_RESPONSE = "AWAITING_MY_RESPONSE"
    AWAITING_THEIR_RESPONSE = "AWAITING_THEIR_RESPONSE"
    ONGOING = "ONGOING"
    PAST = "PAST"


@strawberry.enum
class ErrorCode(Enum):
    VALIDATION = "VALIDATION"
    NOT_FOUND = "NOT_FOUND"
    FORBIDDEN = "FORBIDDEN"
    INVALID_TRANSITION = "INVALID_TRANSITION"
    TOO_LATE = "TOO_LATE"
    TOO_EARLY = "TOO_EARLY"
    SLOT_UNAVAILABLE = "SLOT_UNAVAILABLE"
    SCHEDULE_CONFLICT = "SCHEDULE_CONFLICT"
    INSUFFICIENT_FUNDS = "INSUFFICIENT_FUNDS"
    LATE_CANCELLATION_UNACKNOWLEDGED = "LATE_CANCELLATION_UNACKNOWLEDGED"
    STALE_VERSION = "STALE_VERSION"
    PROVIDER_UNAVAILABLE = "PROVIDER_UNAVAILABLE"
    IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"
    RATE_LIMITED = "RATE_LIMITED"
PresenceState = strawberry.enum(d.PresenceState)
