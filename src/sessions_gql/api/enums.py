"""The contract's enums, backed by the domain's own (same names and values)."""

from __future__ import annotations

from enum import Enum

import strawberry

from sessions_gql.domain import enums as d

# The schema's enums are the domain's own classes: plain aliases, so a type checker takes them as types, and
# strawberry.enum registers each class in place (it returns the class it was given).
Role = d.Role
Modality = d.Modality
ProviderVisibility = d.ProviderVisibility
Weekday = d.Weekday
OverrideKind = d.OverrideKind
SessionStatus = d.SessionStatus
PaymentStatus = d.PaymentStatus
Funding = d.Funding
Party = d.Party
DeclineReason = d.DeclineReason
CancellationReason = d.CancellationReason
SessionAction = d.SessionAction
TimelineEventType = d.TimelineEventType
LedgerEntryKind = d.LedgerEntryKind
RefundKind = d.RefundKind
NotificationKind = d.NotificationKind
PresenceState = d.PresenceState
ProviderOrder = d.ProviderOrder

for _domain_enum in (Role, Modality, ProviderVisibility, Weekday, OverrideKind, SessionStatus, PaymentStatus, Funding,
                     Party, DeclineReason, CancellationReason, SessionAction, TimelineEventType, LedgerEntryKind,
                     RefundKind, NotificationKind, PresenceState, ProviderOrder):
    strawberry.enum(_domain_enum)


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

