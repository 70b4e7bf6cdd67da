"""The session mutations' commands: what a caller asks for, validated when made. A command (but its key) is
also its idempotency payload: a retry with the same key must ask for the same thing."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sessions_gql.domain.enums import CancellationReason, DeclineReason
from sessions_gql.domain.errors import ValidationError
from sessions_gql.domain.session_values import RefundChoice

NOTE_LIMIT = 2000


def note(text: str | None) -> str | None:
    """A note of at most NOTE_LIMIT characters, trimmed; blank is none."""
    if text is not None and len(text) > NOTE_LIMIT:
        raise ValidationError(f"a note is at most {NOTE_LIMIT} characters", field="note")
    if text is None:
        return None
    return text.strip() or None


@dataclass(frozen=True, kw_only=True)
class SessionCommand:
    """A transition of an existing session, at `expected_version` when given."""

    session_id: uuid.UUID
    expected_version: int | None = None
    idempotency_key: str | None = None


@dataclass(frozen=True, kw_only=True)
class NotedCommand(SessionCommand):
    """A transition that may carry a note, trimmed and bounded when the command is made."""

    note: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "note", note(self.note))


@dataclass(frozen=True, kw_only=True)
class ConfirmSession(SessionCommand):
    """The party asked to answer agrees."""


@dataclass(frozen=True, kw_only=True)
class DeclineSession(NotedCommand):
    reason: DeclineReason


@dataclass(frozen=True, kw_only=True)
class WithdrawSession(SessionCommand):
    """The party that approved takes the request or proposal back."""


@dataclass(frozen=True, kw_only=True)
class CancelSession(NotedCommand):
    reason: CancellationReason | None = None
    acknowledge_late: bool = False
    refund: RefundChoice | None = None


@dataclass(frozen=True, kw_only=True)
class ProposeNewTime(SessionCommand):
    starts_at: datetime
    duration_minutes: int | None = None


@dataclass(frozen=True, kw_only=True)
class AcceptNewTime(SessionCommand):
    """The other party takes the proposed time."""


@dataclass(frozen=True, kw_only=True)
class RejectNewTime(NotedCommand):
    reason: DeclineReason


@dataclass(frozen=True, kw_only=True)
class WithdrawNewTime(SessionCommand):
    """The proposer takes the new time back."""


@dataclass(frozen=True, kw_only=True)
class RefundSession(NotedCommand):
    credits: int | None = None


@dataclass(frozen=True, kw_only=True)
class JoinSession(SessionCommand):
    """Enter the waiting room."""


@dataclass(frozen=True, kw_only=True)
class LeaveSession(SessionCommand):
    """Leave the waiting room."""


@dataclass(frozen=True, kw_only=True)
class StartSession(SessionCommand):
    """The provider starts the meeting."""


@dataclass(frozen=True, kw_only=True)
class MarkNoShow(SessionCommand):
    """The provider marks the member absent."""


@dataclass(frozen=True, kw_only=True)
class UndoNoShow(SessionCommand):
    """The provider takes the no-show mark back."""


@dataclass(frozen=True, kw_only=True)
class EndSession(SessionCommand):
    """The provider ends the meeting."""
