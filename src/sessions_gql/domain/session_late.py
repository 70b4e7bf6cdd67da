"""The late rules of cancelling a confirmed session: who pays, and what the refusal says.

Choices where DOMAIN.md is silent:
- Lateness is measured against the original start, also while a new time is pending.
- An admin needs no acknowledgement and does not count against the provider; the
  cancellation is marked late when it falls in the member's window, and the funds follow the
  admin's refund choice (default FULL).
- A refund choice keeps money by capturing the whole hold and then refunding the part given
  back (PARTIAL: 1..price credits; NONE: nothing back), so earnings follow the usual formula.
- A member may not pass a refund choice; a member's late cancellation captures everything.
- A provider's cancellation counts in the provider's streak, late or not; withdrawing or
  declining a session that was never confirmed does not.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import NoReturn

from sessions_gql.domain.actors import Actor
from sessions_gql.domain.enums import CancellationReason, Funding, Party, RefundKind
from sessions_gql.domain.errors import LateCancellationUnacknowledged, ValidationError
from sessions_gql.domain.policy import BookingPolicy, whole_hours
from sessions_gql.domain.session_state import SessionState
from sessions_gql.domain.session_values import RefundChoice


@dataclass(frozen=True)
class CancelPlan:
    late: bool
    capture: bool
    refund_credits: int
    counts_against_provider: bool


def plan_cancellation(
    session: SessionState,
    *,
    actor: Actor,
    now: datetime,
    policy: BookingPolicy,
    reason: CancellationReason | None,
    refund: RefundChoice | None,
    acknowledge_late: bool,
) -> CancelPlan:
    """Decide the outcome, or raise the error refusing it; changes nothing."""
    party = actor.party_of(session)
    notice = session.starts_at - now
    if party is Party.MEMBER:
        if refund is not None:
            raise ValidationError("only providers and admins choose a refund", field="refund")
        late = notice < policy.member_late_window
        if late and not acknowledge_late:
            _refuse(session, policy=policy, party=party, capture=True, refund_credits=0)
        return CancelPlan(late, capture=late, refund_credits=0, counts_against_provider=False)
    capture, refund_credits = _split(session, refund or RefundChoice(RefundKind.FULL))
    if party is not Party.PROVIDER:
        return CancelPlan(notice < policy.member_late_window, capture, refund_credits, False)
    if reason is None:
        raise ValidationError("a provider must give a reason to cancel", field="reason")
    late = notice < policy.provider_late_window
    if late and not acknowledge_late:
        _refuse(session, policy=policy, party=party, capture=capture, refund_credits=refund_credits)
    return CancelPlan(late, capture, refund_credits, counts_against_provider=True)


def _split(session: SessionState, choice: RefundChoice) -> tuple[bool, int]:
    """(capture the hold?, credits to refund after capturing) for a provider's or admin's choice."""
    if choice.kind is not RefundKind.PARTIAL:
        if choice.credits is not None:
            raise ValidationError("credits go with a PARTIAL refund only", field="refund")
        return choice.kind is RefundKind.NONE, 0
    at_stake = session.credits_at_stake
    if choice.credits is None or not 0 < choice.credits <= at_stake:
        raise ValidationError(f"a partial refund is between 1 and {at_stake} credits", field="refund")
    return True, choice.credits


def _refuse(
    session: SessionState, *, policy: BookingPolicy, party: Party, capture: bool, refund_credits: int
) -> NoReturn:
    window = policy.member_late_window if party is Party.MEMBER else policy.provider_late_window
    hours = whole_hours(window)
    held = _held_words(session)
    if party is Party.MEMBER:
        outcome = f"{held} will not be returned and the provider is paid" if held else "nothing is charged"
    else:
        outcome = "it counts as a late cancellation against your reliability, and " + _member_outcome(
            session, held=held, capture=capture, refund_credits=refund_credits
        )
    consequence = f"Cancelling less than {hours} hours before the start: {outcome}."
    raise LateCancellationUnacknowledged(
        f"This is a late cancellation; acknowledge it to go ahead. {consequence}",
        window_hours=hours,
        credits_at_stake=session.credits_at_stake,
        consequence=consequence,
    )


def _held_words(session: SessionState) -> str | None:
    if session.credits_at_stake == 0:
        return None
    if session.funding is Funding.PACKAGE:
        return f"this session's place in the package (worth {session.credits_at_stake} credits)"
    if session.funding is Funding.SPONSORED:
        return f"the {session.held_sponsored_minutes} sponsored minutes held for this session"
    return f"the {session.held_credits} credits held for this session"


def _member_outcome(session: SessionState, *, held: str | None, capture: bool, refund_credits: int) -> str:
    if held is None:
        return "the member was not charged"
    if not capture:
        return f"the member gets {held} back"
    if refund_credits == 0:
        return "the member is not refunded"
    return f"the member gets {refund_credits} of {session.credits_at_stake} credits back"
