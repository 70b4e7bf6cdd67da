"""Transitions around the meeting itself: join, leave, start, no-shows, end, refund.

Choices where DOMAIN.md is silent:
- Join and leave change presence only (status unchanged, version bumped). The first join is the
  one recorded: `member_joined_at`, and `member_late_minutes` (whole minutes after the start, 0
  when on time). A member joining while the provider is absent notifies the provider
  (MEMBER_WAITING). Starting puts the provider in the session.
- A member who tries to join after being marked a no-show (before the scheduled end) is refused
  with `MarkedNoShow` (INVALID_TRANSITION) naming when, and the provider gets an in-app
  MEMBER_WAITING notice saying so, at most once a minute (services/presence.turned_away).
- Start, join, leave and end notify nobody: the contract has no notification kind for them, and
  the other party follows them live on the timeline and in the waiting room.
- Undoing a member no-show keeps the captured funds captured; `end` then captures nothing more,
  and a later provider no-show refunds what is left of them.
- A provider no-show returns the funds and counts against the provider as a late cancellation
  (`ProviderCancelled(late=True)`); both parties are notified (NO_SHOW_MARKED).
- A refund with no amount refunds everything still refundable; both parties hear of a refund an
  admin makes, the member of one the provider makes.
"""

from __future__ import annotations

from datetime import datetime

from sessions_gql.domain.actors import Actor
from sessions_gql.domain.enums import (
    Modality,
    NotificationKind,
    Party,
    SessionStatus,
    TimelineEventType,
)
from sessions_gql.domain.errors import ValidationError
from sessions_gql.domain.events import (
    DomainEvent,
    PartyNotified,
    ProviderCancelled,
    SessionCompleted,
    TimelineRecorded,
    VideoRoomRequested,
)
from sessions_gql.domain.policy import BookingPolicy
from sessions_gql.domain.session_rules import Step, check
from sessions_gql.domain.session_state import SessionState

T = TimelineEventType


class MeetingPhase(SessionState):
    """The meeting-time transitions of `Session`."""

    def join(self, *, actor: Actor, now: datetime, policy: BookingPolicy) -> list[DomainEvent]:
        check(Step.JOIN, self, actor, now, policy)
        if actor.party_of(self) is Party.PROVIDER:
            self.provider_present = True
            self.provider_joined_at = self.provider_joined_at or now
            return self._bumped([TimelineRecorded(T.PROVIDER_JOINED, actor)])
        self.member_present = True
        if self.member_joined_at is None:
            self.member_joined_at = now
            self.member_late_minutes = max(0, int((now - self.starts_at).total_seconds() // 60))
        events: list[DomainEvent] = [TimelineRecorded(T.MEMBER_JOINED, actor)]
        if not self.provider_present:
            events.append(PartyNotified(Party.PROVIDER, NotificationKind.MEMBER_WAITING))
        return self._bumped(events)

    def turned_away(self, *, actor: Actor, now: datetime) -> bool:
        """Whether joining now refuses this member because of a no-show mark the provider may still undo (before
        the scheduled end): the refusal then says so, and the provider hears that the member tried to join."""
        return (
            self.status is SessionStatus.NO_SHOW
            and self.no_show_party is Party.MEMBER
            and actor.party_of(self) is Party.MEMBER
            and now < self.ends_at
        )

    def leave(self, *, actor: Actor, now: datetime, policy: BookingPolicy) -> list[DomainEvent]:
        check(Step.LEAVE, self, actor, now, policy)
        if actor.party_of(self) is Party.PROVIDER:
            self.provider_present = False
            return self._bumped([TimelineRecorded(T.PROVIDER_LEFT, actor)])
        self.member_present = False
        return self._bumped([TimelineRecorded(T.MEMBER_LEFT, actor)])

    def start(self, *, actor: Actor, now: datetime, policy: BookingPolicy) -> list[DomainEvent]:
        check(Step.START, self, actor, now, policy)
        self.started_at = now
        self.provider_present = True
        self.provider_joined_at = self.provider_joined_at or now
        return self._bumped([self._move_to(SessionStatus.IN_PROGRESS, T.STARTED, actor)])

    def mark_no_show(self, *, actor: Actor, now: datetime, policy: BookingPolicy) -> list[DomainEvent]:
        """The provider records that the member did not come; the funds are captured."""
        check(Step.MARK_NO_SHOW, self, actor, now, policy)
        self.no_show_party = Party.MEMBER
        events: list[DomainEvent] = [
            self._move_to(SessionStatus.NO_SHOW, T.NO_SHOW_MARKED, actor, reason=Party.MEMBER.value)
        ]
        events += self._capture_funds(actor)
        events.append(PartyNotified(Party.MEMBER, NotificationKind.NO_SHOW_MARKED))
        return self._bumped(events)

    def undo_no_show(self, *, actor: Actor, now: datetime, policy: BookingPolicy) -> list[DomainEvent]:
        check(Step.UNDO_NO_SHOW, self, actor, now, policy)
        self.no_show_party = None
        return self._bumped([self._move_to(SessionStatus.CONFIRMED, T.NO_SHOW_UNDONE, actor)])

    def end(self, *, actor: Actor | None, now: datetime, policy: BookingPolicy) -> list[DomainEvent]:
        """The provider ends the meeting, or the system closes it at end + grace; funds are captured."""
        check(Step.END, self, actor, now, policy)
        self.ended_at = now
        events: list[DomainEvent] = [self._move_to(SessionStatus.COMPLETED, T.COMPLETED, actor)]
        events += self._capture_funds(actor)
        events.append(SessionCompleted())
        return self._bumped(events)

    def provider_no_show(self, *, now: datetime, policy: BookingPolicy) -> list[DomainEvent]:
        """The system records that the provider never started the session; the funds go back."""
        check(Step.PROVIDER_NO_SHOW, self, None, now, policy)
        self.no_show_party = Party.PROVIDER
        events: list[DomainEvent] = [
            self._move_to(SessionStatus.NO_SHOW, T.NO_SHOW_MARKED, None, reason=Party.PROVIDER.value)
        ]
        events += self._return_funds(None)
        if self.modality is Modality.VIDEO:
            events.append(VideoRoomRequested("cancel"))
        events += self._notify(None, NotificationKind.NO_SHOW_MARKED)
        events.append(ProviderCancelled(late=True))
        return self._bumped(events)

    def refund(
        self,
        *,
        actor: Actor,
        now: datetime,
        policy: BookingPolicy,
        credits: int | None = None,
        note: str | None = None,
    ) -> list[DomainEvent]:
        """Give back part or all of the captured credits (None: everything still refundable)."""
        check(Step.REFUND, self, actor, now, policy)
        amount = self.refundable_credits if credits is None else credits
        if not 0 < amount <= self.refundable_credits:
            raise ValidationError(
                f"a refund is between 1 and {self.refundable_credits} credits", field="credits"
            )
        events = self._refund_funds(amount, actor, note)
        events += self._notify(actor, NotificationKind.SESSION_REFUNDED)
        return self._bumped(events)
