"""The session entity: its factories and the booking transitions (meeting-time ones in session_meeting).

Every transition runs its guard from `session_rules` (the same guards `allowed_actions` runs),
then validates its arguments, and only then changes the session, bumps `version` and returns
its domain events. A refused transition raises a typed DomainError and changes nothing.

Choices where DOMAIN.md is silent:
- A new session starts at version 1. `respond_by` is reset to min(now + TTL, start) whenever the
  party asked to answer changes (a counter-offer, a re-proposal after a decline), and cleared
  once both parties approved.
- Funds are held by a request, or else when the session becomes CONFIRMED: `confirm` takes the
  `funding` (from `credits.choose_funding`) exactly when `needs_funding` is true, which is when a
  provider's proposal is accepted. A counter-offer keeps what is held; a new time keeps the
  price and the hold, whatever its length.
- A provider re-proposing a DECLINED session forgets the old funding: the member pays again
  when accepting.
- A RESCHEDULING session always came from CONFIRMED, so accepting a new time holds nothing new.
- A proposal expiring at the original start is recorded as EXPIRED (reason "PROPOSAL",
  RESCHEDULING -> CONFIRMED) and notifies nobody; the original time stands.
- A provider's answer (confirm or decline) to a request records its response time; a request
  left to expire while awaiting the provider counts as a late response.
- Withdrawing new times and expiring proposals notify nobody (no notification kind fits).
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sessions_gql.domain.actors import Actor
from sessions_gql.domain.enums import (
    CancellationReason,
    DeclineReason,
    Funding,
    Modality,
    NotificationKind,
    Party,
    ProviderVisibility,
    Role,
    SessionAction,
    SessionStatus,
    TimelineEventType,
)
from sessions_gql.domain.errors import Forbidden, ProviderUnavailable, ValidationError
from sessions_gql.domain.events import (
    DomainEvent,
    ProviderCancelled,
    ProviderResponded,
    TimelineRecorded,
    VideoRoomRequested,
)
from sessions_gql.domain.policy import BookingPolicy
from sessions_gql.domain.session_late import plan_cancellation
from sessions_gql.domain.session_meeting import MeetingPhase
from sessions_gql.domain.session_reschedule import ReschedulePhase
from sessions_gql.domain.session_rules import Step, allowed_actions, check
from sessions_gql.domain.session_state import APPROVED_BY
from sessions_gql.domain.session_values import Approvals, Cancellation, RefundChoice, SessionTerms, slot_end

S = SessionStatus
T = TimelineEventType
N = NotificationKind
CANCELLED_BY = {
    Role.MEMBER: T.CANCELLED_BY_MEMBER,
    Role.PROVIDER: T.CANCELLED_BY_PROVIDER,
    Role.ADMIN: T.CANCELLED_BY_ADMIN,
}


class Session(ReschedulePhase, MeetingPhase):
    """One booked (or being booked) meeting between one member and one provider."""

    @classmethod
    def request(
        cls,
        *,
        session_id: UUID,
        terms: SessionTerms,
        actor: Actor,
        funding: Funding,
        now: datetime,
        policy: BookingPolicy,
    ) -> tuple[Session, list[DomainEvent]]:
        """A member (or an admin for them) asks for a time; the funds are held at once."""
        if not (actor.is_admin or (actor.role is Role.MEMBER and actor.member_id == terms.member_id)):
            raise Forbidden("only the member, or an admin for them, may request a session")
        terms.validate(now=now)
        session = cls._open(session_id=session_id, terms=terms, actor=actor, now=now)
        events: list[DomainEvent] = [
            TimelineRecorded(T.REQUESTED, actor, None, S.AWAITING_APPROVAL),
            *session._approve_as(Party.MEMBER, actor=actor, now=now, policy=policy),
            *session._hold_funds(funding, actor),
            *session._notify(actor, N.SESSION_REQUESTED),
        ]
        return session, events

    @classmethod
    def propose(
        cls, *, session_id: UUID, terms: SessionTerms, actor: Actor, now: datetime, policy: BookingPolicy
    ) -> tuple[Session, list[DomainEvent]]:
        """A provider (or an admin for them) offers a time; nothing is held until the member accepts."""
        if not (actor.is_admin or (actor.role is Role.PROVIDER and actor.provider_id == terms.provider_id)):
            raise Forbidden("only the provider, or an admin for them, may propose a session")
        terms.validate(now=now)
        session = cls._open(session_id=session_id, terms=terms, actor=actor, now=now)
        events: list[DomainEvent] = [
            TimelineRecorded(T.PROPOSED, actor, None, S.AWAITING_APPROVAL),
            *session._approve_as(Party.PROVIDER, actor=actor, now=now, policy=policy),
            *session._notify(actor, N.SESSION_PROPOSED),
        ]
        return session, events

    @classmethod
    def _open(cls, *, session_id: UUID, terms: SessionTerms, actor: Actor, now: datetime) -> Session:
        return cls(
            id=session_id,
            member_id=terms.member_id,
            provider_id=terms.provider_id,
            service_id=terms.service_id,
            skill=terms.skill,
            modality=terms.modality,
            location=terms.location,
            starts_at=terms.starts_at,
            ends_at=slot_end(starts_at=terms.starts_at, duration_minutes=terms.duration_minutes),
            price_credits=terms.price_credits,
            fee=terms.fee,
            currency=terms.currency,
            commission_rate=terms.commission_rate,
            status=S.AWAITING_APPROVAL,
            approvals=Approvals(member=False, provider=False),
            created_by=actor.role,
            created_at=now,
            member_note=terms.member_note,
            package_id=terms.package_id,
            package_place=terms.package_place,
        )

    def allowed_actions(self, *, actor: Actor, now: datetime, policy: BookingPolicy) -> list[SessionAction]:
        return allowed_actions(self, actor=actor, now=now, policy=policy)

    def confirm(
        self,
        *,
        actor: Actor,
        now: datetime,
        policy: BookingPolicy,
        funding: Funding | None = None,
        provider: ProviderVisibility | None = None,
    ) -> list[DomainEvent]:
        """The party asked to answer agrees; funds are held now if the request did not hold them. A paused or
        deactivated `provider` (its visibility, when known) confirms nothing: the session expires unless
        withdrawn."""
        check(Step.CONFIRM, self, actor, now, policy)
        if provider is not None and not provider.takes_new_sessions:
            raise ProviderUnavailable(f"{provider.unavailable_reason}, so a pending session cannot be confirmed: "
                                      "it expires at its respond-by time unless withdrawn first", field=None)
        if self.needs_funding != (funding is not None):
            needed = "is needed" if self.needs_funding else "was chosen already"
            raise ValidationError(f"the member's funding {needed}", field="funding")
        party = self._party(actor)
        response = self._response(now=now, policy=policy, late=None) if party is Party.PROVIDER else []
        events: list[DomainEvent] = [self._move_to(S.CONFIRMED, APPROVED_BY[party], actor)]
        events += self._hold_funds(funding, actor) if funding is not None else []
        self.approvals, self.respond_by, self.awaiting_since = Approvals.both(), None, None
        if self.modality is Modality.VIDEO:
            events.append(VideoRoomRequested("create"))
        return self._bumped([*events, *self._notify(actor, N.SESSION_CONFIRMED), *response])

    def decline(
        self,
        *,
        actor: Actor,
        now: datetime,
        policy: BookingPolicy,
        reason: DeclineReason,
        note: str | None = None,
    ) -> list[DomainEvent]:
        check(Step.DECLINE, self, actor, now, policy)
        response = (
            self._response(now=now, policy=policy, late=None) if self._party(actor) is Party.PROVIDER else []
        )
        self.decline_reason, self.decline_note, self.respond_by = reason, note, None
        events: list[DomainEvent] = [
            self._move_to(S.DECLINED, T.DECLINED, actor, reason=reason.value, note=note)
        ]
        events += self._return_funds(actor)
        return self._bumped([*events, *self._notify(actor, N.SESSION_DECLINED), *response])

    def withdraw(self, *, actor: Actor, now: datetime, policy: BookingPolicy) -> list[DomainEvent]:
        """The party that approved takes the request or proposal back before it is answered."""
        check(Step.WITHDRAW, self, actor, now, policy)
        self.cancellation = Cancellation(by=actor.role, reason=None, note=None, at=now, late=False)
        self.respond_by = None
        events: list[DomainEvent] = [
            self._move_to(S.CANCELLED, T.WITHDRAWN, actor),
            *self._return_funds(actor),
        ]
        return self._bumped([*events, *self._notify(actor, N.SESSION_CANCELLED)])

    def cancel(
        self,
        *,
        actor: Actor,
        now: datetime,
        policy: BookingPolicy,
        reason: CancellationReason | None = None,
        note: str | None = None,
        acknowledge_late: bool = False,
        refund: RefundChoice | None = None,
    ) -> list[DomainEvent]:
        """Cancel a confirmed session under the late rules (see session_late)."""
        check(Step.CANCEL, self, actor, now, policy)
        plan = plan_cancellation(
            self,
            actor=actor,
            now=now,
            policy=policy,
            reason=reason,
            refund=refund,
            acknowledge_late=acknowledge_late,
        )
        self.cancellation = Cancellation(by=actor.role, reason=reason, note=note, at=now, late=plan.late)
        self.proposal = None
        why = reason.value if reason is not None else None
        events: list[DomainEvent] = [
            self._move_to(S.CANCELLED, CANCELLED_BY[actor.role], actor, reason=why, note=note)
        ]
        events += self._capture_funds(actor) if plan.capture else self._return_funds(actor)
        events += self._refund_funds(plan.refund_credits, actor) if plan.refund_credits else []
        if self.modality is Modality.VIDEO:
            events.append(VideoRoomRequested("cancel"))
        events += self._notify(actor, N.SESSION_CANCELLED)
        events += [ProviderCancelled(late=plan.late)] if plan.counts_against_provider else []
        return self._bumped(events)

    def expire(self, *, now: datetime, policy: BookingPolicy) -> list[DomainEvent]:
        """The system closes a request nobody answered by respondBy; the funds go back."""
        check(Step.EXPIRE, self, None, now, policy)
        awaited_provider = self.awaiting_response_from is Party.PROVIDER
        response = self._response(now=now, policy=policy, late=True) if awaited_provider else []
        events: list[DomainEvent] = [self._move_to(S.EXPIRED, T.EXPIRED, None), *self._return_funds(None)]
        return self._bumped([*events, *self._notify(None, N.SESSION_EXPIRED), *response])

    def _response(self, *, now: datetime, policy: BookingPolicy, late: bool | None) -> list[DomainEvent]:
        since = self.awaiting_since or self.created_at
        minutes = (now - since).total_seconds() / 60
        overdue = minutes > policy.response_target.total_seconds() / 60
        return [ProviderResponded(minutes=minutes, late=overdue if late is None else late)]
