"""Transitions that move a session's time: propose, accept, reject and withdraw a new time.

Choices where DOMAIN.md is silent:
- A new time is proposed before the session's start (a DECLINED session may be re-proposed by
  its provider whatever its old time was); it must start in the future, be 15..240 minutes in
  steps of 5 (default: the current length), and differ from the time already on the table.
- On CONFIRMED the proposal is pending (RESCHEDULING) and approvals flip to the proposer; on
  RESCHEDULING a newer proposal, by either party, replaces the pending one. On AWAITING_APPROVAL
  (and DECLINED) the time itself is replaced. Every proposal records NEW_TIME_PROPOSED plus
  APPROVED_BY_<proposer>, as the seeds' "alternative date selected" + "approved by" events, so
  both parties read the same history (the approval row carries no status change: on CONFIRMED
  the proposal does not restart `respondBy`, it lapses at the original start).
- Answers to a new time are refused from the earlier of the original and the proposed start.
- Rejecting, withdrawing or expiring a proposal leaves the session CONFIRMED at its original
  time; the timeline row names the dropped proposal in `new_starts_at`.
"""

from __future__ import annotations

from datetime import datetime

from sessions_gql.domain.actors import Actor
from sessions_gql.domain.enums import (
    DeclineReason,
    Modality,
    NotificationKind,
    Party,
    PaymentStatus,
    SessionStatus,
    TimelineEventType,
)
from sessions_gql.domain.errors import ValidationError
from sessions_gql.domain.events import DomainEvent, TimelineRecorded, VideoRoomRequested
from sessions_gql.domain.policy import BookingPolicy
from sessions_gql.domain.session_rules import Step, check
from sessions_gql.domain.session_state import APPROVED_BY, SessionState
from sessions_gql.domain.session_values import Approvals, Proposal, slot_end, validate_slot

S = SessionStatus
T = TimelineEventType
N = NotificationKind


class ReschedulePhase(SessionState):
    """The rescheduling transitions of `Session`."""

    def propose_new_time(
        self,
        *,
        actor: Actor,
        now: datetime,
        policy: BookingPolicy,
        starts_at: datetime,
        duration_minutes: int | None = None,
    ) -> list[DomainEvent]:
        """Reschedule (CONFIRMED/RESCHEDULING), counter-offer (AWAITING_APPROVAL) or re-propose (DECLINED)."""
        check(Step.PROPOSE_NEW_TIME, self, actor, now, policy)
        duration = self.duration_minutes if duration_minutes is None else duration_minutes
        validate_slot(starts_at=starts_at, duration_minutes=duration, now=now)
        ends_at = slot_end(starts_at=starts_at, duration_minutes=duration)
        on_table = self.proposal or self
        if (starts_at, ends_at) == (on_table.starts_at, on_table.ends_at) and self.status is not S.DECLINED:
            raise ValidationError("this time is already on the table", field="startsAt")
        party = self._party(actor)
        if self.status in (S.AWAITING_APPROVAL, S.DECLINED):
            events = self._replace_time(
                actor, party, starts_at=starts_at, ends_at=ends_at, now=now, policy=policy
            )
            return self._bumped(events)
        self.proposal = Proposal(starts_at, ends_at, party, now)
        self.approvals = Approvals.only(party)
        event = self._move_to(
            S.RESCHEDULING,
            T.NEW_TIME_PROPOSED,
            actor,
            previous_starts_at=self.starts_at,
            new_starts_at=starts_at,
        )
        approval = TimelineRecorded(APPROVED_BY[party], actor)
        return self._bumped([event, approval, *self._notify(actor, N.NEW_TIME_PROPOSED)])

    def accept_new_time(self, *, actor: Actor, now: datetime, policy: BookingPolicy) -> list[DomainEvent]:
        """The other party agrees: the session moves to the proposed time."""
        check(Step.ACCEPT_NEW_TIME, self, actor, now, policy)
        proposal, previous = self._pending(), self.starts_at
        self._set_time(starts_at=proposal.starts_at, ends_at=proposal.ends_at)
        self.proposal, self.approvals = None, Approvals.both()
        events: list[DomainEvent] = [
            self._move_to(
                S.CONFIRMED,
                T.NEW_TIME_ACCEPTED,
                actor,
                previous_starts_at=previous,
                new_starts_at=proposal.starts_at,
            )
        ]
        if self.modality is Modality.VIDEO:
            events.append(VideoRoomRequested("move"))
        return self._bumped([*events, *self._notify(actor, N.NEW_TIME_ACCEPTED)])

    def reject_new_time(
        self,
        *,
        actor: Actor,
        now: datetime,
        policy: BookingPolicy,
        reason: DeclineReason,
        note: str | None = None,
    ) -> list[DomainEvent]:
        check(Step.REJECT_NEW_TIME, self, actor, now, policy)
        event = self._drop_proposal(T.NEW_TIME_REJECTED, actor, reason=reason.value, note=note)
        return self._bumped([event, *self._notify(actor, N.NEW_TIME_REJECTED)])

    def withdraw_new_time(self, *, actor: Actor, now: datetime, policy: BookingPolicy) -> list[DomainEvent]:
        check(Step.WITHDRAW_NEW_TIME, self, actor, now, policy)
        event = self._drop_proposal(T.NEW_TIME_WITHDRAWN, actor)
        return self._bumped([event, *self._notify(actor, N.NEW_TIME_WITHDRAWN)])

    def expire_proposal(self, *, now: datetime, policy: BookingPolicy) -> list[DomainEvent]:
        """At the original start an unanswered new time lapses and the original time stands."""
        check(Step.EXPIRE_PROPOSAL, self, None, now, policy)
        event = self._drop_proposal(T.EXPIRED, None, reason="PROPOSAL")
        return self._bumped([event, *self._notify(None, N.NEW_TIME_EXPIRED)])

    def _drop_proposal(
        self,
        type_: TimelineEventType,
        actor: Actor | None,
        *,
        reason: str | None = None,
        note: str | None = None,
    ) -> TimelineRecorded:
        proposal = self._pending()
        self.proposal, self.approvals = None, Approvals.both()
        return self._move_to(
            S.CONFIRMED,
            type_,
            actor,
            reason=reason,
            note=note,
            previous_starts_at=self.starts_at,
            new_starts_at=proposal.starts_at,
        )

    def _replace_time(
        self,
        actor: Actor,
        party: Party,
        *,
        starts_at: datetime,
        ends_at: datetime,
        now: datetime,
        policy: BookingPolicy,
    ) -> list[DomainEvent]:
        """A counter-offer, or a provider's new offer after a decline: the time itself changes."""
        previous = self.starts_at
        if self.status is S.DECLINED:
            self.decline_reason, self.decline_note = None, None
            self.funding, self.payment_status = None, PaymentStatus.NONE
            self.package_id = self.package_place = None  # a new offer is paid anew, not from the package
        self._set_time(starts_at=starts_at, ends_at=ends_at)
        event = self._move_to(
            S.AWAITING_APPROVAL,
            T.NEW_TIME_PROPOSED,
            actor,
            previous_starts_at=previous,
            new_starts_at=starts_at,
        )
        approval = self._approve_as(party, actor=actor, now=now, policy=policy)
        return [event, *approval, *self._notify(actor, N.NEW_TIME_PROPOSED)]
