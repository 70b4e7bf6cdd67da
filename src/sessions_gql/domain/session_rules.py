"""The transition table of a session and the guards every transition (and `allowed_actions`) runs.

A guard checks, in this order, and raises the first failure:
1. the actor is a party to the session or an admin (else Forbidden);
2. the status is one the step leaves from (else InvalidTransition);
3. the actor is the one the "who" column names (else Forbidden); `actor=None` is the scheduler;
4. a state condition, such as "the member has not joined" (else InvalidTransition);
5. the time window (TooEarly / TooLate).
Arguments (reasons, refund amounts, new times) and funds are checked by the transition itself.

Choices where DOMAIN.md is silent:
- Admins act only where the "who" column says admin (request, propose, cancel, refund); every
  other action stays with the parties (an admin is never "the party awaited").
- Confirm is refused from `respondBy` on (a request past it is as good as expired); decline,
  withdraw, a new time and the answers to it are refused from the start (the seeds' "if the
  scheduled start has not yet occurred"). A provider may re-propose a DECLINED session whatever
  its old time was.
- Joining twice, or leaving without having joined, is an InvalidTransition; a refund needs
  captured credits not yet refunded, and never applies to a provider no-show.
- LEAVE, EXPIRE, EXPIRE_PROPOSAL and PROVIDER_NO_SHOW are steps without a SessionAction, so
  `allowed_actions` never lists them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sessions_gql.domain.actors import Actor
from sessions_gql.domain.enums import Party, SessionAction, SessionStatus
from sessions_gql.domain.errors import DomainError, Forbidden, InvalidTransition, TooEarly, TooLate
from sessions_gql.domain.policy import BookingPolicy
from sessions_gql.domain.session_state import SessionState

S = SessionStatus
Who = Callable[[SessionState, Actor | None], bool]
Condition = Callable[[SessionState, Actor | None], str | None]
Window = Callable[[SessionState, Actor | None, datetime, BookingPolicy], None]


class Step(StrEnum):
    CONFIRM = "confirm"
    DECLINE = "decline"
    WITHDRAW = "withdraw"
    CANCEL = "cancel"
    PROPOSE_NEW_TIME = "propose a new time for"
    ACCEPT_NEW_TIME = "accept the new time of"
    REJECT_NEW_TIME = "reject the new time of"
    WITHDRAW_NEW_TIME = "withdraw the new time of"
    EXPIRE = "expire"
    EXPIRE_PROPOSAL = "expire the proposal of"
    JOIN = "join"
    LEAVE = "leave"
    START = "start"
    MARK_NO_SHOW = "mark a no-show on"
    UNDO_NO_SHOW = "undo the no-show of"
    END = "end"
    PROVIDER_NO_SHOW = "record a provider no-show on"
    REFUND = "refund"


def _party(s: SessionState, a: Actor | None) -> Party | None:
    return a.party_of(s) if a is not None else None


def _either(s: SessionState, a: Actor | None) -> bool:
    return _party(s, a) is not None


def _party_or_admin(s: SessionState, a: Actor | None) -> bool:
    return a is not None and (a.is_admin or _party(s, a) is not None)


def _provider(s: SessionState, a: Actor | None) -> bool:
    return _party(s, a) is Party.PROVIDER


def _provider_or_admin(s: SessionState, a: Actor | None) -> bool:
    return a is not None and (a.is_admin or _party(s, a) is Party.PROVIDER)


def _provider_or_system(s: SessionState, a: Actor | None) -> bool:
    return a is None or _party(s, a) is Party.PROVIDER


def _system(s: SessionState, a: Actor | None) -> bool:
    return a is None


def _awaited(s: SessionState, a: Actor | None) -> bool:
    return _either(s, a) and _party(s, a) is s.awaiting_response_from


def _approver(s: SessionState, a: Actor | None) -> bool:
    return _either(s, a) and _party(s, a) is not s.awaiting_response_from


def _proposer(s: SessionState, a: Actor | None) -> bool:
    return s.proposal is not None and _party(s, a) is s.proposal.proposed_by


def _new_time_proposer(s: SessionState, a: Actor | None) -> bool:
    return _either(s, a) and (s.status is not S.DECLINED or _party(s, a) is Party.PROVIDER)


def _not_present(s: SessionState, a: Actor | None) -> str | None:
    present = s.member_present if _party(s, a) is Party.MEMBER else s.provider_present
    return "you are already in the session" if present else None


def _present(s: SessionState, a: Actor | None) -> str | None:
    return None if _not_present(s, a) else "you are not in the session"


def _member_absent(s: SessionState, a: Actor | None) -> str | None:
    return "the member has joined" if s.member_joined_at is not None else None


def _member_no_show(s: SessionState, a: Actor | None) -> str | None:
    return None if s.no_show_party is Party.MEMBER else "only a member no-show can be undone"


def _refundable(s: SessionState, a: Actor | None) -> str | None:
    if s.status is S.NO_SHOW and s.no_show_party is not Party.MEMBER:
        return "a provider no-show was refunded already"
    return None if s.refundable_credits > 0 else "nothing captured is left to refund"


def _before(deadline: datetime, now: datetime, what: str) -> None:
    if now >= deadline:
        raise TooLate(f"too late: {what} at {deadline.isoformat()}")


def _from(opening: datetime, now: datetime, what: str) -> None:
    if now < opening:
        raise TooEarly(f"too early: {what} from {opening.isoformat()}")


def _before_start(s: SessionState, a: Actor | None, now: datetime, p: BookingPolicy) -> None:
    _before(s.starts_at, now, "the session started")


def _before_respond_by(s: SessionState, a: Actor | None, now: datetime, p: BookingPolicy) -> None:
    _before(s.respond_by or s.starts_at, now, "the answer was due")


def _new_time_window(s: SessionState, a: Actor | None, now: datetime, p: BookingPolicy) -> None:
    if s.status is not S.DECLINED:
        _before_start(s, a, now, p)


def _answer_window(s: SessionState, a: Actor | None, now: datetime, p: BookingPolicy) -> None:
    proposed = s.proposal.starts_at if s.proposal is not None else s.starts_at
    _before(min(s.starts_at, proposed), now, "a proposed or the original time began")


def _join_window(s: SessionState, a: Actor | None, now: datetime, p: BookingPolicy) -> None:
    _from(s.starts_at - p.join_early, now, "joining opens")
    _before(s.ends_at, now, "the session ended")


def _start_window(s: SessionState, a: Actor | None, now: datetime, p: BookingPolicy) -> None:
    _from(s.starts_at - p.start_early, now, "starting opens")
    _before(s.ends_at, now, "the session ended")


def _no_show_window(s: SessionState, a: Actor | None, now: datetime, p: BookingPolicy) -> None:
    _from(s.starts_at + p.no_show_after, now, "a no-show can be marked")


def _before_end(s: SessionState, a: Actor | None, now: datetime, p: BookingPolicy) -> None:
    _before(s.ends_at, now, "the session ended")


def _end_window(s: SessionState, a: Actor | None, now: datetime, p: BookingPolicy) -> None:
    if a is None:
        _from(s.ends_at + p.end_grace, now, "the system closes an ongoing session")


def _after_respond_by(s: SessionState, a: Actor | None, now: datetime, p: BookingPolicy) -> None:
    _from(s.respond_by or s.starts_at, now, "the request expires")


def _after_start(s: SessionState, a: Actor | None, now: datetime, p: BookingPolicy) -> None:
    _from(s.starts_at, now, "the proposal expires")


def _after_end_grace(s: SessionState, a: Actor | None, now: datetime, p: BookingPolicy) -> None:
    _from(s.ends_at + p.end_grace, now, "a provider no-show is recorded")


@dataclass(frozen=True)
class Rule:
    sources: frozenset[SessionStatus]
    who: Who
    who_text: str
    condition: Condition | None = None
    window: Window | None = None


def _of(*statuses: SessionStatus) -> frozenset[SessionStatus]:
    return frozenset(statuses)


AWAITED = "only the party asked to answer"
TABLE: dict[Step, Rule] = {
    Step.CONFIRM: Rule(_of(S.AWAITING_APPROVAL), _awaited, AWAITED, window=_before_respond_by),
    Step.DECLINE: Rule(_of(S.AWAITING_APPROVAL), _awaited, AWAITED, window=_before_start),
    Step.WITHDRAW: Rule(
        _of(S.AWAITING_APPROVAL), _approver, "only the party that approved", window=_before_start
    ),
    Step.CANCEL: Rule(
        _of(S.CONFIRMED, S.RESCHEDULING), _party_or_admin, "only a party or an admin", window=_before_start
    ),
    Step.PROPOSE_NEW_TIME: Rule(
        _of(S.AWAITING_APPROVAL, S.CONFIRMED, S.RESCHEDULING, S.DECLINED),
        _new_time_proposer,
        "only a party (the provider, once declined)",
        window=_new_time_window,
    ),
    Step.ACCEPT_NEW_TIME: Rule(_of(S.RESCHEDULING), _awaited, AWAITED, window=_answer_window),
    Step.REJECT_NEW_TIME: Rule(_of(S.RESCHEDULING), _awaited, AWAITED, window=_answer_window),
    Step.WITHDRAW_NEW_TIME: Rule(_of(S.RESCHEDULING), _proposer, "only the proposer", window=_before_start),
    Step.EXPIRE: Rule(_of(S.AWAITING_APPROVAL), _system, "only the system", window=_after_respond_by),
    Step.EXPIRE_PROPOSAL: Rule(_of(S.RESCHEDULING), _system, "only the system", window=_after_start),
    Step.JOIN: Rule(_of(S.CONFIRMED, S.IN_PROGRESS), _either, "only a party", _not_present, _join_window),
    Step.LEAVE: Rule(_of(S.CONFIRMED, S.IN_PROGRESS), _either, "only a party", _present),
    Step.START: Rule(_of(S.CONFIRMED), _provider, "only the provider", window=_start_window),
    Step.MARK_NO_SHOW: Rule(
        _of(S.CONFIRMED), _provider, "only the provider", _member_absent, _no_show_window
    ),
    Step.UNDO_NO_SHOW: Rule(_of(S.NO_SHOW), _provider, "only the provider", _member_no_show, _before_end),
    Step.END: Rule(_of(S.IN_PROGRESS), _provider_or_system, "only the provider", window=_end_window),
    Step.PROVIDER_NO_SHOW: Rule(_of(S.CONFIRMED), _system, "only the system", window=_after_end_grace),
    Step.REFUND: Rule(
        _of(S.COMPLETED, S.NO_SHOW, S.CANCELLED),
        _provider_or_admin,
        "only the provider or an admin",
        _refundable,
    ),
}

ACTION_STEPS: dict[SessionAction, Step] = {
    action: Step[action.name] for action in SessionAction if action.name in Step.__members__
}


def check(
    step: Step, session: SessionState, actor: Actor | None, now: datetime, policy: BookingPolicy
) -> None:
    """Raise the typed error refusing `step` now, or return when it is allowed."""
    rule = TABLE[step]
    if actor is not None and not actor.is_admin and actor.party_of(session) is None:
        raise Forbidden("you are not a party to this session")
    if session.status not in rule.sources:
        raise InvalidTransition(f"cannot {step.value} a session that is {session.status.value}")
    if not rule.who(session, actor):
        raise Forbidden(f"{rule.who_text} may {step.value} this session")
    refusal = rule.condition(session, actor) if rule.condition is not None else None
    if refusal is not None:
        raise InvalidTransition(f"cannot {step.value} this session: {refusal}")
    if rule.window is not None:
        rule.window(session, actor, now, policy)


def permits(
    step: Step, session: SessionState, actor: Actor | None, now: datetime, policy: BookingPolicy
) -> bool:
    try:
        check(step, session, actor, now, policy)
    except DomainError:
        return False
    return True


def allowed_actions(
    session: SessionState, *, actor: Actor, now: datetime, policy: BookingPolicy
) -> list[SessionAction]:
    """What `actor` may do now: the guarded actions that pass, plus notes and messages."""
    allowed = [action for action, step in ACTION_STEPS.items() if permits(step, session, actor, now, policy)]
    party = actor.party_of(session)
    if actor.is_admin or party is Party.PROVIDER:
        allowed.append(SessionAction.ADD_NOTE)
    if party is not None:
        allowed.append(SessionAction.SEND_MESSAGE)
    return allowed
