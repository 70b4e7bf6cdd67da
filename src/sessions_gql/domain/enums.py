"""Enumerations shared by every layer; values match the GraphQL contract's names."""

from __future__ import annotations

from enum import Enum


class Role(str, Enum):
    MEMBER = "MEMBER"
    PROVIDER = "PROVIDER"
    ADMIN = "ADMIN"


class Modality(str, Enum):
    VIDEO = "VIDEO"
    PHONE = "PHONE"
    IN_PERSON = "IN_PERSON"


class ProviderVisibility(str, Enum):
    """The one rule for what a provider's state allows (DOMAIN.md "Provider reliability"); every check asks it.

    ACTIVE: listed, takes new sessions. INVISIBLE: listed nowhere, but whoever reaches the profile may still
    request and the provider may still propose. PAUSED: the provider's own long break: not listed, no new
    requests, proposals or confirmations. DEACTIVATED: the system's or an admin's: as PAUSED, and the profile is
    hidden from everyone but the provider and admins; only an admin lifts it."""

    ACTIVE = "ACTIVE"
    INVISIBLE = "INVISIBLE"
    PAUSED = "PAUSED"
    DEACTIVATED = "DEACTIVATED"

    @property
    def listed(self) -> bool:
        """Shown in `providers` (find a provider) and open to enquiries from any member."""
        return self is ProviderVisibility.ACTIVE

    @property
    def takes_new_sessions(self) -> bool:
        """Requests, proposals, a member's new time, and confirming a request still pending."""
        return self in (ProviderVisibility.ACTIVE, ProviderVisibility.INVISIBLE)

    @property
    def profile_visible(self) -> bool:
        """The profile is seen by every signed-in user (otherwise only by the provider and admins)."""
        return self is not ProviderVisibility.DEACTIVATED

    @property
    def set_by_provider(self) -> bool:
        """A state the provider may enter and leave themself; DEACTIVATED is the system's or an admin's."""
        return self is not ProviderVisibility.DEACTIVATED

    @property
    def unavailable_reason(self) -> str:
        """Why a provider in this state takes no new sessions, for the PROVIDER_UNAVAILABLE message."""
        if self is ProviderVisibility.PAUSED:
            return "this provider has paused their account and takes no new sessions"
        if self is ProviderVisibility.DEACTIVATED:
            return "this provider's account is deactivated and takes no new sessions"
        return "this provider takes new sessions"


LISTED_VISIBILITIES = tuple(v for v in ProviderVisibility if v.listed)
"""For SQL filters: the states `ProviderVisibility.listed` accepts."""


class Weekday(str, Enum):
    MONDAY = "MONDAY"
    TUESDAY = "TUESDAY"
    WEDNESDAY = "WEDNESDAY"
    THURSDAY = "THURSDAY"
    FRIDAY = "FRIDAY"
    SATURDAY = "SATURDAY"
    SUNDAY = "SUNDAY"

    @property
    def iso_index(self) -> int:
        """0 for Monday .. 6 for Sunday, as `date.weekday()` counts."""
        return list(Weekday).index(self)


class OverrideKind(str, Enum):
    AVAILABLE = "AVAILABLE"
    BLOCKED = "BLOCKED"


class SessionStatus(str, Enum):
    AWAITING_APPROVAL = "AWAITING_APPROVAL"
    CONFIRMED = "CONFIRMED"
    RESCHEDULING = "RESCHEDULING"
    IN_PROGRESS = "IN_PROGRESS"
    COMPLETED = "COMPLETED"
    NO_SHOW = "NO_SHOW"
    DECLINED = "DECLINED"
    CANCELLED = "CANCELLED"
    EXPIRED = "EXPIRED"


OPEN_STATUSES = frozenset(
    {
        SessionStatus.AWAITING_APPROVAL,
        SessionStatus.CONFIRMED,
        SessionStatus.RESCHEDULING,
        SessionStatus.IN_PROGRESS,
    }
)
"""Statuses that hold a slot."""


class PaymentStatus(str, Enum):
    NONE = "NONE"
    HELD = "HELD"
    RETURNED = "RETURNED"
    CAPTURED = "CAPTURED"
    PARTIALLY_REFUNDED = "PARTIALLY_REFUNDED"
    REFUNDED = "REFUNDED"


class Funding(str, Enum):
    FREE_CONSULTATION = "FREE_CONSULTATION"
    SPONSORED = "SPONSORED"
    CREDITS = "CREDITS"
    PACKAGE = "PACKAGE"


class Party(str, Enum):
    MEMBER = "MEMBER"
    PROVIDER = "PROVIDER"


class DeclineReason(str, Enum):
    NOT_AVAILABLE = "NOT_AVAILABLE"
    OUTSIDE_EXPERTISE = "OUTSIDE_EXPERTISE"
    NOT_A_GOOD_FIT = "NOT_A_GOOD_FIT"
    PERSONAL = "PERSONAL"
    OTHER = "OTHER"


class CancellationReason(str, Enum):
    SCHEDULE_CONFLICT = "SCHEDULE_CONFLICT"
    ILLNESS = "ILLNESS"
    EMERGENCY = "EMERGENCY"
    TECHNICAL_ISSUE = "TECHNICAL_ISSUE"
    MEMBER_REQUEST = "MEMBER_REQUEST"
    PROVIDER_REQUEST = "PROVIDER_REQUEST"
    OTHER = "OTHER"


class SessionAction(str, Enum):
    CONFIRM = "CONFIRM"
    DECLINE = "DECLINE"
    WITHDRAW = "WITHDRAW"
    CANCEL = "CANCEL"
    PROPOSE_NEW_TIME = "PROPOSE_NEW_TIME"
    ACCEPT_NEW_TIME = "ACCEPT_NEW_TIME"
    REJECT_NEW_TIME = "REJECT_NEW_TIME"
    WITHDRAW_NEW_TIME = "WITHDRAW_NEW_TIME"
    JOIN = "JOIN"
    START = "START"
    MARK_NO_SHOW = "MARK_NO_SHOW"
    UNDO_NO_SHOW = "UNDO_NO_SHOW"
    END = "END"
    REFUND = "REFUND"
    ADD_NOTE = "ADD_NOTE"
    SEND_MESSAGE = "SEND_MESSAGE"


class TimelineEventType(str, Enum):
    REQUESTED = "REQUESTED"
    PROPOSED = "PROPOSED"
    APPROVED_BY_MEMBER = "APPROVED_BY_MEMBER"
    APPROVED_BY_PROVIDER = "APPROVED_BY_PROVIDER"
    DECLINED = "DECLINED"
    WITHDRAWN = "WITHDRAWN"
    CANCELLED_BY_MEMBER = "CANCELLED_BY_MEMBER"
    CANCELLED_BY_PROVIDER = "CANCELLED_BY_PROVIDER"
    CANCELLED_BY_ADMIN = "CANCELLED_BY_ADMIN"
    NEW_TIME_PROPOSED = "NEW_TIME_PROPOSED"
    NEW_TIME_ACCEPTED = "NEW_TIME_ACCEPTED"
    NEW_TIME_REJECTED = "NEW_TIME_REJECTED"
    NEW_TIME_WITHDRAWN = "NEW_TIME_WITHDRAWN"
    EXPIRED = "EXPIRED"
    MEMBER_JOINED = "MEMBER_JOINED"
    PROVIDER_JOINED = "PROVIDER_JOINED"
    MEMBER_LEFT = "MEMBER_LEFT"
    PROVIDER_LEFT = "PROVIDER_LEFT"
    STARTED = "STARTED"
    NO_SHOW_MARKED = "NO_SHOW_MARKED"
    NO_SHOW_UNDONE = "NO_SHOW_UNDONE"
    COMPLETED = "COMPLETED"
    FUNDS_HELD = "FUNDS_HELD"
    FUNDS_RETURNED = "FUNDS_RETURNED"
    FUNDS_CAPTURED = "FUNDS_CAPTURED"
    REFUNDED = "REFUNDED"
    VIDEO_ROOM_CREATED = "VIDEO_ROOM_CREATED"
    VIDEO_ROOM_CANCELLED = "VIDEO_ROOM_CANCELLED"
    REMINDER_SENT = "REMINDER_SENT"
    NOTE_ADDED = "NOTE_ADDED"


class LedgerEntryKind(str, Enum):
    GRANT = "GRANT"
    HOLD = "HOLD"
    RELEASE = "RELEASE"
    CAPTURE = "CAPTURE"
    REFUND = "REFUND"


class RefundKind(str, Enum):
    FULL = "FULL"
    PARTIAL = "PARTIAL"
    NONE = "NONE"


class NotificationKind(str, Enum):
    SESSION_REQUESTED = "SESSION_REQUESTED"
    SESSION_PROPOSED = "SESSION_PROPOSED"
    SESSION_CONFIRMED = "SESSION_CONFIRMED"
    SESSION_DECLINED = "SESSION_DECLINED"
    SESSION_CANCELLED = "SESSION_CANCELLED"
    SESSION_EXPIRED = "SESSION_EXPIRED"
    NEW_TIME_PROPOSED = "NEW_TIME_PROPOSED"
    NEW_TIME_ACCEPTED = "NEW_TIME_ACCEPTED"
    NEW_TIME_REJECTED = "NEW_TIME_REJECTED"
    NEW_TIME_WITHDRAWN = "NEW_TIME_WITHDRAWN"
    NEW_TIME_EXPIRED = "NEW_TIME_EXPIRED"
    MEETING_REMINDER = "MEETING_REMINDER"
    MEETING_LINK = "MEETING_LINK"
    MEMBER_WAITING = "MEMBER_WAITING"
    NO_SHOW_MARKED = "NO_SHOW_MARKED"
    SESSION_REFUNDED = "SESSION_REFUNDED"
    MESSAGE_RECEIVED = "MESSAGE_RECEIVED"
    ACCOUNT_FLAGGED = "ACCOUNT_FLAGGED"
    ACCOUNT_DEACTIVATED = "ACCOUNT_DEACTIVATED"


class PresenceState(str, Enum):
    ABSENT = "ABSENT"
    WAITING = "WAITING"
    ADMITTED = "ADMITTED"
    IN_SESSION = "IN_SESSION"


class EmailStatus(str, Enum):
    """An email delivery's state: PENDING until claimed, SENDING while a worker holds it, then an outcome."""

    PENDING = "PENDING"
    SENDING = "SENDING"
    SENT = "SENT"
    FAILED = "FAILED"
    SKIPPED = "SKIPPED"


class ProviderOrder(str, Enum):
    """How `providers` lists: RECOMMENDED (what "find a provider" shows, DOMAIN.md "Ranking") or by NAME."""

    RECOMMENDED = "RECOMMENDED"
    NAME = "NAME"
