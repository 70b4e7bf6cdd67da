"""`allowed_actions` lists exactly what the viewer may do now, from the same guards the transitions run."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import pytest

from sessions_gql.domain.actors import Actor
from sessions_gql.domain.enums import CancellationReason, DeclineReason, Funding, SessionAction
from sessions_gql.domain.errors import DomainError
from sessions_gql.domain.session import Session
from tests.unit.test_session_transitions import (
    ADMIN,
    END,
    IN_STATUS,
    MEMBER,
    MIN,
    NOW,
    OTHER_MEMBER,
    OTHER_PROVIDER,
    POLICY,
    PROVIDER,
    START,
    H,
    S,
    completed,
    confirmed,
    member_no_show,
    proposed,
    requested,
    rescheduling,
)

A = SessionAction


def allowed(session: Session, actor: Actor, now: datetime) -> list[SessionAction]:
    return session.allowed_actions(actor=actor, now=now, policy=POLICY)


@pytest.mark.parametrize(
    ("actor", "expected"),
    [
        (PROVIDER, [A.CONFIRM, A.DECLINE, A.PROPOSE_NEW_TIME, A.ADD_NOTE, A.SEND_MESSAGE]),
        (MEMBER, [A.WITHDRAW, A.PROPOSE_NEW_TIME, A.SEND_MESSAGE]),
        (ADMIN, [A.ADD_NOTE]),
        (OTHER_MEMBER, []),
        (OTHER_PROVIDER, []),
    ],
    ids=["provider", "member", "admin", "other-member", "other-provider"],
)
def test_on_a_new_request(actor: Actor, expected: list[SessionAction]) -> None:
    assert allowed(requested(), actor, NOW) == expected


def test_a_request_past_respond_by_can_no_longer_be_confirmed() -> None:
    assert allowed(requested(), PROVIDER, NOW + 24 * H) == [A.DECLINE, A.PROPOSE_NEW_TIME, A.ADD_NOTE, A.SEND_MESSAGE]


def test_on_a_proposal_the_member_answers() -> None:
    assert allowed(proposed(), MEMBER, NOW) == [A.CONFIRM, A.DECLINE, A.PROPOSE_NEW_TIME, A.SEND_MESSAGE]
    assert allowed(proposed(), PROVIDER, NOW) == [A.WITHDRAW, A.PROPOSE_NEW_TIME, A.ADD_NOTE, A.SEND_MESSAGE]


@pytest.mark.parametrize(
    ("now", "actor", "expected"),
    [
        (NOW, MEMBER, [A.CANCEL, A.PROPOSE_NEW_TIME, A.SEND_MESSAGE]),
        (NOW, PROVIDER, [A.CANCEL, A.PROPOSE_NEW_TIME, A.ADD_NOTE, A.SEND_MESSAGE]),
        (NOW, ADMIN, [A.CANCEL, A.ADD_NOTE]),
        (START - 20 * MIN, MEMBER, [A.CANCEL, A.PROPOSE_NEW_TIME, A.SEND_MESSAGE]),
        (START - 20 * MIN, PROVIDER, [A.CANCEL, A.PROPOSE_NEW_TIME, A.START, A.ADD_NOTE, A.SEND_MESSAGE]),
        (START - 15 * MIN, MEMBER, [A.CANCEL, A.PROPOSE_NEW_TIME, A.JOIN, A.SEND_MESSAGE]),
        (START + 5 * MIN, PROVIDER, [A.JOIN, A.START, A.ADD_NOTE, A.SEND_MESSAGE]),
        (START + 10 * MIN, PROVIDER, [A.JOIN, A.START, A.MARK_NO_SHOW, A.ADD_NOTE, A.SEND_MESSAGE]),
        (START + 10 * MIN, MEMBER, [A.JOIN, A.SEND_MESSAGE]),
        (END, PROVIDER, [A.MARK_NO_SHOW, A.ADD_NOTE, A.SEND_MESSAGE]),
        (END, MEMBER, [A.SEND_MESSAGE]),
    ],
)
def test_on_a_confirmed_session_over_time(now: datetime, actor: Actor, expected: list[SessionAction]) -> None:
    assert allowed(confirmed(), actor, now) == expected


def test_while_a_new_time_is_pending() -> None:
    assert allowed(rescheduling(), MEMBER, NOW) == [
        A.CANCEL,
        A.PROPOSE_NEW_TIME,
        A.ACCEPT_NEW_TIME,
        A.REJECT_NEW_TIME,
        A.SEND_MESSAGE,
    ]
    assert allowed(rescheduling(), PROVIDER, NOW) == [
        A.CANCEL,
        A.PROPOSE_NEW_TIME,
        A.WITHDRAW_NEW_TIME,
        A.ADD_NOTE,
        A.SEND_MESSAGE,
    ]


def test_during_the_meeting() -> None:
    session = confirmed()
    session.start(actor=PROVIDER, now=START, policy=POLICY)
    assert allowed(session, PROVIDER, START + MIN) == [A.END, A.ADD_NOTE, A.SEND_MESSAGE]
    assert allowed(session, MEMBER, START + MIN) == [A.JOIN, A.SEND_MESSAGE]
    session.join(actor=MEMBER, now=START + MIN, policy=POLICY)
    assert allowed(session, MEMBER, START + 2 * MIN) == [A.SEND_MESSAGE]


def test_after_the_meeting() -> None:
    assert allowed(completed(), PROVIDER, END) == [A.REFUND, A.ADD_NOTE, A.SEND_MESSAGE]
    assert allowed(completed(), ADMIN, END) == [A.REFUND, A.ADD_NOTE]
    assert allowed(completed(), MEMBER, END) == [A.SEND_MESSAGE]
    assert allowed(member_no_show(), PROVIDER, START + 20 * MIN) == [
        A.UNDO_NO_SHOW,
        A.REFUND,
        A.ADD_NOTE,
        A.SEND_MESSAGE,
    ]
    assert allowed(member_no_show(), PROVIDER, END) == [A.REFUND, A.ADD_NOTE, A.SEND_MESSAGE]


@pytest.mark.parametrize("status", [S.DECLINED, S.CANCELLED, S.EXPIRED])
def test_closed_sessions_leave_notes_and_messages(status: S) -> None:
    expected_provider = [A.PROPOSE_NEW_TIME] if status is S.DECLINED else []
    assert allowed(IN_STATUS[status](), PROVIDER, NOW + H) == [*expected_provider, A.ADD_NOTE, A.SEND_MESSAGE]
    assert allowed(IN_STATUS[status](), MEMBER, NOW + H) == [A.SEND_MESSAGE]


PERFORM: dict[SessionAction, Callable[[Session, Actor, datetime], object]] = {
    A.CONFIRM: lambda s, a, t: s.confirm(
        actor=a, now=t, policy=POLICY, funding=Funding.CREDITS if s.needs_funding else None
    ),
    A.DECLINE: lambda s, a, t: s.decline(actor=a, now=t, policy=POLICY, reason=DeclineReason.OTHER),
    A.WITHDRAW: lambda s, a, t: s.withdraw(actor=a, now=t, policy=POLICY),
    A.CANCEL: lambda s, a, t: s.cancel(
        actor=a, now=t, policy=POLICY, reason=CancellationReason.OTHER, acknowledge_late=True
    ),
    A.PROPOSE_NEW_TIME: lambda s, a, t: s.propose_new_time(
        actor=a, now=t, policy=POLICY, starts_at=max(t, s.starts_at) + timedelta(days=5)
    ),
    A.ACCEPT_NEW_TIME: lambda s, a, t: s.accept_new_time(actor=a, now=t, policy=POLICY),
    A.REJECT_NEW_TIME: lambda s, a, t: s.reject_new_time(actor=a, now=t, policy=POLICY, reason=DeclineReason.OTHER),
    A.WITHDRAW_NEW_TIME: lambda s, a, t: s.withdraw_new_time(actor=a, now=t, policy=POLICY),
    A.JOIN: lambda s, a, t: s.join(actor=a, now=t, policy=POLICY),
    A.START: lambda s, a, t: s.start(actor=a, now=t, policy=POLICY),
    A.MARK_NO_SHOW: lambda s, a, t: s.mark_no_show(actor=a, now=t, policy=POLICY),
    A.UNDO_NO_SHOW: lambda s, a, t: s.undo_no_show(actor=a, now=t, policy=POLICY),
    A.END: lambda s, a, t: s.end(actor=a, now=t, policy=POLICY),
    A.REFUND: lambda s, a, t: s.refund(actor=a, now=t, policy=POLICY),
}
BUILDS: dict[str, Callable[[], Session]] = {
    **{status.value: build for status, build in IN_STATUS.items()},
    "PROPOSED": proposed,
    "RESCHEDULING_BY_MEMBER": lambda: rescheduling(by=MEMBER),
}
TIMES = [NOW, NOW + 24 * H, START - 20 * MIN, START - 10 * MIN, START + 10 * MIN, START + 20 * MIN, END, END + H]


@pytest.mark.parametrize("build", list(BUILDS))
@pytest.mark.parametrize("now", TIMES, ids=[f"t{i}" for i in range(len(TIMES))])
def test_an_action_is_listed_exactly_when_performing_it_succeeds(build: str, now: datetime) -> None:
    for actor in (MEMBER, PROVIDER, ADMIN, OTHER_MEMBER):
        listed = allowed(BUILDS[build](), actor, now)
        for action, perform in PERFORM.items():
            try:
                perform(BUILDS[build](), actor, now)
            except DomainError:
                assert action not in listed, (action, actor.role)
            else:
                assert action in listed, (action, actor.role)
