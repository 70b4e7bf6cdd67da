"""What session queries and mutations take, as the contract names them."""

from __future__ import annotations

from datetime import datetime

import strawberry

from sessions_gql.api.enums import (
    CancellationReason,
    DeclineReason,
    Funding,
    Modality,
    RefundKind,
    SessionStatus,
    SessionView,
)


@strawberry.input
class RequestSessionInput:
    provider_id: strawberry.ID
    service_id: strawberry.ID
    starts_at: datetime
    modality: Modality
    skill: str | None = None
    duration_minutes: int | None = None
    member_note: str | None = None
    member_id: strawberry.ID | None = None
    location: str | None = None
    idempotency_key: str | None = None
    package_id: strawberry.ID | None = None


@strawberry.input
class ProposeSessionInput:
    member_id: strawberry.ID
    service_id: strawberry.ID
    starts_at: datetime
    duration_minutes: int
    price_credits: int
    modality: Modality
    skill: str | None = None
    location: str | None = None
    provider_id: strawberry.ID | None = None
    idempotency_key: str | None = None


@strawberry.input
class SessionActionInput:
    session_id: strawberry.ID
    expected_version: int | None = None
    idempotency_key: str | None = None


@strawberry.input
class DeclineSessionInput:
    session_id: strawberry.ID
    reason: DeclineReason
    note: str | None = None
    expected_version: int | None = None
    idempotency_key: str | None = None


@strawberry.input
class RefundChoice:
    kind: RefundKind
    credits: int | None = None


@strawberry.input
class CancelSessionInput:
    session_id: strawberry.ID
    reason: CancellationReason | None = None
    note: str | None = None
    acknowledge_late_cancellation: bool | None = False
    refund: RefundChoice | None = None
    expected_version: int | None = None
    idempotency_key: str | None = None


@strawberry.input
class ProposeNewTimeInput:
    session_id: strawberry.ID
    starts_at: datetime
    duration_minutes: int | None = None
    expected_version: int | None = None
    idempotency_key: str | None = None


@strawberry.input
class RejectNewTimeInput:
    session_id: strawberry.ID
    reason: DeclineReason
    note: str | None = None
    expected_version: int | None = None
    idempotency_key: str | None = None


@strawberry.input
class RefundSessionInput:
    session_id: strawberry.ID
    credits: int | None = None
    note: str | None = None
    idempotency_key: str | None = None


@strawberry.input
class AddNoteInput:
    body: str
    session_id: strawberry.ID | None = None
    member_id: strawberry.ID | None = None


@strawberry.input
class SessionFilter:
    view: SessionView | None = None
    statuses: list[SessionStatus] | None = None
    member_id: strawberry.ID | None = None
    provider_id: strawberry.ID | None = None
    starts_after: datetime | None = None
    starts_before: datetime | None = None
    funding: list[Funding] | None = strawberry.field(
        default=None, description="How the sessions were paid for (any of these); at most one of each value.")
