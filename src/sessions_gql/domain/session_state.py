"""The state of a session, what it derives from it, and the low-level moves of its money.

Transitions live in `session.py` (booking), `session_reschedule.py` (new times) and
`session_meeting.py` (the meeting itself); the guards they share live in `session_rules.py`.
Money conventions (DOMAIN.md is silent on them):
- `held_credits`/`held_sponsored_minutes` are what the member's funds hold for this session, in
  wallet units: a sponsored session holds minutes and 0 credits.
- `captured_credits`/`refunded_credits` (the contract's `refundedCredits`) count the session's
  price in credits whatever paid it, so a refund is always given in credits; for a sponsored
  session the sponsored minutes go back in proportion (captured minutes * refunded / captured,
  rounded down cumulatively, so a full refund returns every minute). Timeline `credits` use the
  same price units; the ledger moves carry wallet units.
- A free consultation moves nothing and earns nothing; a 0-credit session records its FUNDS_*
  timeline events but no ledger move (an empty move is never emitted).
- A PACKAGE session's price is its place's share of the package (paid at purchase): it holds
  nothing in the wallet (HELD means the place is taken), so holding, returning and capturing
  move no ledger entry, only the place (domain/packages.py); a refund of a used place gives
  credits back to the wallet like a CREDITS one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from uuid import UUID

from sessions_gql.domain.actors import Actor, other_party
from sessions_gql.domain.credits import LedgerMove, expected_earnings, provider_earnings
from sessions_gql.domain.enums import (
    OPEN_STATUSES,
    DeclineReason,
    Funding,
    LedgerEntryKind,
    Modality,
    NotificationKind,
    Party,
    PaymentStatus,
    Role,
    SessionStatus,
    TimelineEventType,
)
from sessions_gql.domain.errors import Forbidden, Interval, InvalidTransition
from sessions_gql.domain.events import DomainEvent, FundsMoved, PartyNotified, TimelineRecorded
from sessions_gql.domain.packages import holds_place
from sessions_gql.domain.policy import DEFAULT_POLICY, BookingPolicy
from sessions_gql.domain.session_values import Approvals, Cancellation, Proposal

APPROVED_BY = {
    Party.MEMBER: TimelineEventType.APPROVED_BY_MEMBER,
    Party.PROVIDER: TimelineEventType.APPROVED_BY_PROVIDER,
}
_REMINDED = frozenset({SessionStatus.CONFIRMED, SessionStatus.RESCHEDULING})


@dataclass
class SessionState:
    id: UUID
    member_id: UUID
    provider_id: UUID
    service_id: UUID
    skill: str | None
    modality: Modality
    location: str | None
    starts_at: datetime
    ends_at: datetime
    price_credits: int
    fee: Decimal
    currency: str
    commission_rate: Decimal
    status: SessionStatus
    approvals: Approvals
    created_by: Role
    created_at: datetime
    member_note: str | None = None
    respond_by: datetime | None = None
    awaiting_since: datetime | None = None
    funding: Funding | None = None
    payment_status: PaymentStatus = PaymentStatus.NONE
    held_credits: int = 0
    held_sponsored_minutes: int = 0
    captured_credits: int = 0
    captured_sponsored_minutes: int = 0
    refunded_credits: int = 0
    refunded_sponsored_minutes: int = 0
    proposal: Proposal | None = None
    cancellation: Cancellation | None = None
    decline_reason: DeclineReason | None = None
    decline_note: str | None = None
    no_show_party: Party | None = None
    member_joined_at: datetime | None = None
    member_late_minutes: int | None = None
    provider_joined_at: datetime | None = None
    member_present: bool = False
    provider_present: bool = False
    started_at: datetime | None = None
    ended_at: datetime | None = None
    version: int = 1
    package_id: UUID | None = None
    package_place: int | None = None

    @property
    def duration_minutes(self) -> int:
        return int((self.ends_at - self.starts_at).total_seconds() // 60)

    @property
    def awaiting_response_from(self) -> Party | None:
        if self.status is SessionStatus.AWAITING_APPROVAL:
            return Party.MEMBER if not self.approvals.member else Party.PROVIDER
        if self.status is SessionStatus.RESCHEDULING and self.proposal is not None:
            return other_party(self.proposal.proposed_by)
        return None

    @property
    def needs_funding(self) -> bool:
        """Confirming must be given a funding: the member has not paid for this session yet."""
        return self.funding is None

    @property
    def credits_at_stake(self) -> int:
        """The price in credits currently held for this session."""
        return self.price_credits if self.payment_status is PaymentStatus.HELD else 0

    @property
    def refundable_credits(self) -> int:
        return self.captured_credits - self.refunded_credits

    @property
    def provider_earnings(self) -> Decimal:
        return provider_earnings(
            fee=self.fee,
            commission_rate=self.commission_rate,
            captured=self.captured_credits,
            refunded=self.refunded_credits,
        )

    @property
    def expected_earnings(self) -> Decimal | None:
        """What the provider earns if the session completes; None until the member's funding is known."""
        return expected_earnings(funding=self.funding, fee=self.fee, commission_rate=self.commission_rate,
                                 price_credits=self.price_credits, refunded=self.refunded_credits)

    @property
    def holds_package_place(self) -> bool:
        """The session holds its package place (open) or used it up; a returned one gave it back."""
        return holds_place(funding=self.funding, payment_status=self.payment_status, place=self.package_place)

    def held_intervals(self) -> list[tuple[str, Interval]]:
        """Held slots: "session" while the status holds one, "proposal" for a pending new time."""
        if self.status not in OPEN_STATUSES:
            return []
        held = [("session", Interval(self.starts_at, self.ends_at))]
        if self.proposal is not None:
            held.append(("proposal", Interval(self.proposal.starts_at, self.proposal.ends_at)))
        return held

    def reminders_due(
        self, *, policy: BookingPolicy = DEFAULT_POLICY
    ) -> list[tuple[NotificationKind, datetime]]:
        """MEETING_REMINDER for the member and MEETING_LINK for the provider, while the session is agreed."""
        if self.status not in _REMINDED:
            return []
        return [
            (NotificationKind.MEETING_REMINDER, self.starts_at - policy.member_reminder_before),
            (NotificationKind.MEETING_LINK, self.starts_at - policy.provider_link_before),
        ]

    def _move_to(
        self,
        status: SessionStatus,
        type_: TimelineEventType,
        actor: Actor | None,
        *,
        reason: str | None = None,
        note: str | None = None,
        previous_starts_at: datetime | None = None,
        new_starts_at: datetime | None = None,
    ) -> TimelineRecorded:
        """Set the status and return the timeline event saying so."""
        event = TimelineRecorded(
            type_, actor, self.status, status, reason, note, previous_starts_at, new_starts_at
        )
        self.status = status
        return event

    def _bumped(self, events: list[DomainEvent]) -> list[DomainEvent]:
        """Count one more change and hand back its events."""
        self.version += 1
        return events

    def _notify(self, actor: Actor | None, kind: NotificationKind) -> list[DomainEvent]:
        """Tell the other party of the actor; both parties when an admin or the system acted."""
        party = actor.party_of(self) if actor is not None else None
        parties = [other_party(party)] if party is not None else [Party.MEMBER, Party.PROVIDER]
        return [PartyNotified(each, kind) for each in parties]

    def _set_time(self, *, starts_at: datetime, ends_at: datetime) -> None:
        self.starts_at, self.ends_at = starts_at, ends_at

    def _approve_as(
        self, party: Party, *, actor: Actor | None, now: datetime, policy: BookingPolicy
    ) -> list[DomainEvent]:
        """`party` approves; the other one is asked to answer before respondBy."""
        self.approvals = Approvals.only(party)
        self.awaiting_since = now
        self.respond_by = min(now + policy.request_ttl, self.starts_at)
        return [TimelineRecorded(APPROVED_BY[party], actor)]

    def _party(self, actor: Actor) -> Party:
        party = actor.party_of(self)
        if party is None:
            raise Forbidden("only a party to the session may do this")
        return party

    def _pending(self) -> Proposal:
        if self.proposal is None:
            raise InvalidTransition("no new time is pending")
        return self.proposal

    def _hold_funds(self, funding: Funding, actor: Actor | None) -> list[DomainEvent]:
        self.funding = funding
        if funding is Funding.FREE_CONSULTATION:
            return []
        sponsored = funding is Funding.SPONSORED
        wallet_free = sponsored or funding is Funding.PACKAGE  # a package place was paid for at purchase
        self.held_credits = 0 if wallet_free else self.price_credits
        self.held_sponsored_minutes = self.duration_minutes if sponsored else 0
        self.payment_status = PaymentStatus.HELD
        move = LedgerMove(LedgerEntryKind.HOLD, self.held_credits, self.held_sponsored_minutes)
        return self._funds_events(TimelineEventType.FUNDS_HELD, move, self.price_credits, actor)

    def _return_funds(self, actor: Actor | None) -> list[DomainEvent]:
        """Give back whatever this session took: the hold, or what was captured and not yet refunded."""
        if self.payment_status is not PaymentStatus.HELD:
            refundable = self.refundable_credits
            return self._refund_funds(refundable, actor) if refundable > 0 else []
        move = LedgerMove(LedgerEntryKind.RELEASE, self.held_credits, self.held_sponsored_minutes)
        self.held_credits = self.held_sponsored_minutes = 0
        self.payment_status = PaymentStatus.RETURNED
        return self._funds_events(TimelineEventType.FUNDS_RETURNED, move, self.price_credits, actor)

    def _capture_funds(self, actor: Actor | None) -> list[DomainEvent]:
        """Capture the hold; does nothing when nothing is held (free, or captured already)."""
        if self.payment_status is not PaymentStatus.HELD:
            return []
        move = LedgerMove(LedgerEntryKind.CAPTURE, self.held_credits, self.held_sponsored_minutes)
        self.captured_credits, self.captured_sponsored_minutes = (
            self.price_credits,
            self.held_sponsored_minutes,
        )
        self.held_credits = self.held_sponsored_minutes = 0
        self.payment_status = PaymentStatus.CAPTURED
        return self._funds_events(TimelineEventType.FUNDS_CAPTURED, move, self.price_credits, actor)

    def _refund_funds(self, credits: int, actor: Actor | None, note: str | None = None) -> list[DomainEvent]:
        refunded = self.refunded_credits + credits
        minutes_total = self.captured_sponsored_minutes * refunded // self.captured_credits
        wallet_credits = credits if self.funding in (Funding.CREDITS, Funding.PACKAGE) else 0
        move = LedgerMove(
            LedgerEntryKind.REFUND, wallet_credits, minutes_total - self.refunded_sponsored_minutes, note
        )
        self.refunded_credits, self.refunded_sponsored_minutes = refunded, minutes_total
        full = refunded == self.captured_credits
        self.payment_status = PaymentStatus.REFUNDED if full else PaymentStatus.PARTIALLY_REFUNDED
        return self._funds_events(TimelineEventType.REFUNDED, move, credits, actor)

    def _funds_events(
        self, type_: TimelineEventType, move: LedgerMove, credits: int, actor: Actor | None
    ) -> list[DomainEvent]:
        events: list[DomainEvent] = [TimelineRecorded(type_, actor, credits=credits, note=move.note)]
        if not move.is_empty and self.funding is not None:
            events.append(FundsMoved(move, self.funding))
        return events
