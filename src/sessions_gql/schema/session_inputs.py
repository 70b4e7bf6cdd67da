"""Inputs and results of the session mutations, as the contract names them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from sessions_gql.schema.common import BasicError, InsufficientFundsError, LateCancellationError, ScheduleConflictError
from sessions_gql.schema.enums import CancellationReason, DeclineReason, Modality, RefundKind
from sessions_gql.schema.sessions import Note, Session


@strawberry.type
class SessionSuccess:
    session: Session


SessionResult = Annotated[
    SessionSuccess | BasicError | ScheduleConflictError | InsufficientFundsError | LateCancellationError,
    strawberry.union("SessionResult"),
]


@strawberry.type
class NoteSuccess:
    note: Note


NoteResult = Annotated[NoteSuccess | BasicError, strawberry.union("NoteResult")]


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
