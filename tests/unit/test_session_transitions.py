"""Every transition of DOMAIN.md's table: who, from which status, too early, too late, and its exact events."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest

from sessions_gql.domain.actors import Actor
from sessions_gql.domain.credits import LedgerMove
from sessions_gql.domain.enums import (
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
from sessions_gql.domain.errors import (
    DomainError,
    Forbidden,
    InvalidTransition,
    TooEarly,
    TooLate,
    ValidationError,
)
from sessions_gql.domain.events import (
    FundsMoved,
    PartyNotified,
    ProviderCancelled,
    ProviderResponded,
    SessionCompleted,
    TimelineRecorded,
    VideoRoomRequested,
)
from sessions_gql.domain.policy import BookingPolicy
from sessions_gql.domain.session import Session
from sessions_gql.domain.session_values import Approvals, Proposal, SessionTerms

S = SessionStatus
T = TimelineEventType
N = NotificationKind
H = timedelta(hours=1)
MIN = timedelta(minutes=1)
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
START = NOW + 72 * H
END = START + 60 * MIN
NEW_START = START + 24 * H
POLICY = BookingPolicy()
MEMBER_ID, PROVIDER_ID = UUID(int=1), UUID(int=2)
MEMBER = Actor(Role.MEMBER, UUID(int=11), member_id=MEMBER_ID)
PROVIDER = Actor(Role.PROVIDER, UUID(int=12), provider_id=PROVIDER_ID)
ADMIN = Actor(Role.ADMIN, UUID(int=13))
OTHER_MEMBER = Actor(Role.MEMBER, UUID(int=14), member_id=UUID(int=4))
OTHER_PROVIDER = Actor(Role.PROVIDER, UUID(int=15), provider_id=UUID(int=5))


def terms(**changes: Any) -> SessionTerms:
    base = SessionTerms(
        member_id=MEMBER_ID,
        provider_id=PROVIDER_ID,
        service_id=UUID(int=3),
        modality=Modality.VIDEO,
        starts_at=START,
        duration_minutes=60,
        price_credits=5,
        fee=Decimal("50.00"),
        currency="EUR",
        commission_rate=Decimal("0.10"),
    )
    return dataclasses.replace(base, **changes)


def requested(funding: Funding = Funding.CREDITS, **changes: Any) -> Session:
    session, _ = Session.request(
        session_id=UUID(int=100), terms=terms(**changes), actor=MEMBER, funding=funding, now=NOW, policy=POLICY
    )
    return session


def proposed(**changes: Any) -> Session:
    session, _ = Session.propose(
        session_id=UUID(int=101), terms=terms(**changes), actor=PROVIDER, now=NOW, policy=POLICY
    )
    return session


def confirmed(funding: Funding = Funding.CREDITS, **changes: Any) -> Session:
    session = requested(funding, **changes)
    session.confirm(actor=PROVIDER, now=NOW, policy=POLICY)
    return session


def rescheduling(by: Actor = PROVIDER, new_start: datetime = NEW_START) -> Session:
    session = confirmed()
    session.propose_new_time(actor=by, now=NOW, policy=POLICY, starts_at=new_start)
    return session


def in_progress() -> Session:
    session = confirmed()
    session.start(actor=PROVIDER, now=START, policy=POLICY)
    return session


def completed() -> Session:
    session = in_progress()
    session.end(actor=PROVIDER, now=END, policy=POLICY)
    return session


def member_no_show() -> Session:
    session = confirmed()
    session.mark_no_show(actor=PROVIDER, now=START + 10 * MIN, policy=POLICY)
    return session


def declined() -> Session:
    session = requested()
    session.decline(actor=PROVIDER, now=NOW, policy=POLICY, reason=DeclineReason.NOT_AVAILABLE)
    return session


def cancelled() -> Session:
    session = confirmed()
    session.cancel(actor=MEMBER, now=NOW, policy=POLICY)
    return session


def expired() -> Session:
    session = requested()
    session.expire(now=NOW + 24 * H, policy=POLICY)
    return session


IN_STATUS: dict[SessionStatus, Callable[[], Session]] = {
    S.AWAITING_APPROVAL: requested,
    S.CONFIRMED: confirmed,
    S.RESCHEDULING: rescheduling,
    S.IN_PROGRESS: in_progress,
    S.COMPLETED: completed,
    S.NO_SHOW: member_no_show,
    S.DECLINED: declined,
    S.CANCELLED: cancelled,
    S.EXPIRED: expired,
}


def refused(session: Session, error: type[DomainError], call: Callable[[Session], object]) -> DomainError:
    """Assert `call` raises `error` and leaves the session exactly as it was."""
    before = copy.deepcopy(session)
    with pytest.raises(error) as caught:
        call(session)
    assert session == before
    return caught.value


def hold(credits: int, minutes: int = 0, funding: Funding = Funding.CREDITS) -> FundsMoved:
    return FundsMoved(LedgerMove(LedgerEntryKind.HOLD, credits, minutes), funding)


def moved(kind: LedgerEntryKind, credits: int, minutes: int = 0, funding: Funding = Funding.CREDITS) -> FundsMoved:
    return FundsMoved(LedgerMove(kind, credits, minutes), funding)


# ------------------------------------------------------------------ the status column

CALLS: dict[str, tuple[frozenset[SessionStatus], Callable[[Session], object]]] = {
    "confirm": (frozenset({S.AWAITING_APPROVAL}), lambda s: s.confirm(actor=PROVIDER, now=NOW, policy=POLICY)),
    "decline": (
        frozenset({S.AWAITING_APPROVAL}),
        lambda s: s.decline(actor=PROVIDER, now=NOW, policy=POLICY, reason=DeclineReason.OTHER),
    ),
    "withdraw": (frozenset({S.AWAITING_APPROVAL}), lambda s: s.withdraw(actor=MEMBER, now=NOW, policy=POLICY)),
    "cancel": (
        frozenset({S.CONFIRMED, S.RESCHEDULING}),
        lambda s: s.cancel(actor=MEMBER, now=NOW, policy=POLICY),
    ),
    "propose_new_time": (
        frozenset({S.AWAITING_APPROVAL, S.CONFIRMED, S.RESCHEDULING, S.DECLINED}),
        lambda s: s.propose_new_time(actor=PROVIDER, now=NOW, policy=POLICY, starts_at=NEW_START + H),
    ),
    "accept_new_time": (
        frozenset({S.RESCHEDULING}),
        lambda s: s.accept_new_time(actor=MEMBER, now=NOW, policy=POLICY),
    ),
    "reject_new_time": (
        frozenset({S.RESCHEDULING}),
        lambda s: s.reject_new_time(actor=MEMBER, now=NOW, policy=POLICY, reason=DeclineReason.OTHER),
    ),
    "withdraw_new_time": (
        frozenset({S.RESCHEDULING}),
        lambda s: s.withdraw_new_time(actor=PROVIDER, now=NOW, policy=POLICY),
    ),
    "expire": (frozenset({S.AWAITING_APPROVAL}), lambda s: s.expire(now=NOW + 24 * H, policy=POLICY)),
    "expire_proposal": (frozenset({S.RESCHEDULING}), lambda s: s.expire_proposal(now=START, policy=POLICY)),
    "join": (frozenset({S.CONFIRMED, S.IN_PROGRESS}), lambda s: s.join(actor=MEMBER, now=START, policy=POLICY)),
    "leave": (frozenset({S.CONFIRMED, S.IN_PROGRESS}), lambda s: s.leave(actor=MEMBER, now=START, policy=POLICY)),
    "start": (frozenset({S.CONFIRMED}), lambda s: s.start(actor=PROVIDER, now=START, policy=POLICY)),
    "mark_no_show": (
        frozenset({S.CONFIRMED}),
        lambda s: s.mark_no_show(actor=PROVIDER, now=START + 10 * MIN, policy=POLICY),
    ),
    "undo_no_show": (
        frozenset({S.NO_SHOW}),
        lambda s: s.undo_no_show(actor=PROVIDER, now=START + 20 * MIN, policy=POLICY),
    ),
    "end": (frozenset({S.IN_PROGRESS}), lambda s: s.end(actor=PROVIDER, now=END, policy=POLICY)),
    "provider_no_show": (
        frozenset({S.CONFIRMED}),
        lambda s: s.provider_no_show(now=END + 30 * MIN, policy=POLICY),
    ),
    "refund": (
        frozenset({S.COMPLETED, S.NO_SHOW, S.CANCELLED}),
        lambda s: s.refund(actor=PROVIDER, now=END, policy=POLICY),
    ),
}

WRONG_STATUS = [
    pytest.param(name, status, id=f"{name}-from-{status.value}")
    for name, (sources, _) in CALLS.items()
    for status in S
    if status not in sources
]


@pytest.mark.parametrize(("name", "status"), WRONG_STATUS)
def test_a_transition_from_a_status_outside_its_row_is_invalid_and_changes_nothing(
    name: str, status: SessionStatus
) -> None:
    refused(IN_STATUS[status](), InvalidTransition, CALLS[name][1])


@pytest.mark.parametrize("name", list(CALLS))
def test_a_stranger_is_forbidden_every_transition(name: str) -> None:
    sources, call = CALLS[name]
    session = IN_STATUS[sorted(sources)[0]]()
    stranger = OTHER_PROVIDER if name in {"decline", "confirm"} else OTHER_MEMBER
    refused(session, Forbidden, lambda s: _as_actor(call, s, stranger))


def _as_actor(call: Callable[[Session], object], session: Session, actor: Actor) -> object:
    """Run `call` with every actor argument replaced by `actor` (system steps get an actor too)."""
    return call(_ActorSwap(session, actor))  # type: ignore[arg-type]


class _ActorSwap:
    def __init__(self, session: Session, actor: Actor) -> None:
        self._session, self._actor = session, actor

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._session, name)

        def with_actor(**kwargs: Any) -> Any:
            if "actor" in kwargs:
                kwargs["actor"] = self._actor
                return method(**kwargs)
            return _system_step_as(self._session, name, self._actor, kwargs)

        return with_actor


def _system_step_as(session: Session, name: str, actor: Actor, kwargs: dict[str, Any]) -> Any:
    from sessions_gql.domain.session_rules import Step, check

    steps = {"expire": Step.EXPIRE, "expire_proposal": Step.EXPIRE_PROPOSAL, "provider_no_show": Step.PROVIDER_NO_SHOW}
    return check(steps[name], session, actor, kwargs["now"], kwargs["policy"])


# ------------------------------------------------------------------ request and propose


def test_a_member_request_holds_the_credits_and_awaits_the_provider() -> None:
    session, events = Session.request(
        session_id=UUID(int=100), terms=terms(), actor=MEMBER, funding=Funding.CREDITS, now=NOW, policy=POLICY
    )
    assert events == [
        TimelineRecorded(T.REQUESTED, MEMBER, None, S.AWAITING_APPROVAL),
        TimelineRecorded(T.APPROVED_BY_MEMBER, MEMBER),
        TimelineRecorded(T.FUNDS_HELD, MEMBER, credits=5),
        hold(5),
        PartyNotified(Party.PROVIDER, N.SESSION_REQUESTED),
    ]
    assert (session.status, session.approvals, session.awaiting_response_from) == (
        S.AWAITING_APPROVAL,
        Approvals(member=True, provider=False),
        Party.PROVIDER,
    )
    assert (session.respond_by, session.payment_status, session.held_credits) == (NOW + 24 * H, PaymentStatus.HELD, 5)
    assert (session.ends_at, session.duration_minutes, session.version, session.created_by) == (
        END,
        60,
        1,
        Role.MEMBER,
    )


def test_respond_by_is_the_start_when_it_comes_before_the_request_ttl() -> None:
    assert requested(starts_at=NOW + 2 * H).respond_by == NOW + 2 * H


def test_a_sponsored_request_holds_minutes_and_a_free_one_holds_nothing() -> None:
    _, sponsored = Session.request(
        session_id=UUID(int=1), terms=terms(), actor=MEMBER, funding=Funding.SPONSORED, now=NOW, policy=POLICY
    )
    free, free_events = Session.request(
        session_id=UUID(int=2),
        terms=terms(),
        actor=MEMBER,
        funding=Funding.FREE_CONSULTATION,
        now=NOW,
        policy=POLICY,
    )
    assert sponsored[2:4] == [TimelineRecorded(T.FUNDS_HELD, MEMBER, credits=5), hold(0, 60, Funding.SPONSORED)]
    assert [type(e) for e in free_events] == [TimelineRecorded, TimelineRecorded, PartyNotified]
    assert (free.payment_status, free.funding, free.held_credits) == (PaymentStatus.NONE, Funding.FREE_CONSULTATION, 0)


def test_an_admin_requests_for_a_member_and_both_parties_hear_of_it() -> None:
    session, events = Session.request(
        session_id=UUID(int=1), terms=terms(), actor=ADMIN, funding=Funding.CREDITS, now=NOW, policy=POLICY
    )
    assert events[-2:] == [PartyNotified(Party.MEMBER, N.SESSION_REQUESTED), PartyNotified(Party.PROVIDER, N.SESSION_REQUESTED)]
    assert session.created_by is Role.ADMIN


@pytest.mark.parametrize("actor", [PROVIDER, OTHER_MEMBER], ids=["provider", "another-member"])
def test_only_the_member_or_an_admin_may_request(actor: Actor) -> None:
    with pytest.raises(Forbidden):
        Session.request(session_id=UUID(int=1), terms=terms(), actor=actor, funding=Funding.CREDITS, now=NOW, policy=POLICY)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"starts_at": NOW}, "startsAt"),
        ({"starts_at": datetime(2026, 3, 5, 9, 0)}, "startsAt"),
        ({"duration_minutes": 10}, "durationMinutes"),
        ({"duration_minutes": 245}, "durationMinutes"),
        ({"duration_minutes": 62}, "durationMinutes"),
        ({"price_credits": -1}, "priceCredits"),
        ({"fee": Decimal("-1")}, "fee"),
        ({"commission_rate": Decimal("1")}, "commissionRate"),
        ({"modality": Modality.IN_PERSON}, "location"),
        ({"modality": Modality.IN_PERSON, "location": "  "}, "location"),
    ],
)
def test_a_request_with_invalid_terms_is_refused_naming_the_field(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Session.request(
            session_id=UUID(int=1), terms=terms(**changes), actor=MEMBER, funding=Funding.CREDITS, now=NOW, policy=POLICY
        )
    assert caught.value.field == field


def test_an_in_person_request_with_a_location_is_accepted() -> None:
    assert requested(modality=Modality.IN_PERSON, location="12 Rue de Rivoli").location == "12 Rue de Rivoli"


def test_a_provider_proposal_holds_nothing_and_awaits_the_member() -> None:
    session, events = Session.propose(session_id=UUID(int=1), terms=terms(), actor=PROVIDER, now=NOW, policy=POLICY)
    assert events == [
        TimelineRecorded(T.PROPOSED, PROVIDER, None, S.AWAITING_APPROVAL),
        TimelineRecorded(T.APPROVED_BY_PROVIDER, PROVIDER),
        PartyNotified(Party.MEMBER, N.SESSION_PROPOSED),
    ]
    assert (session.awaiting_response_from, session.funding, session.payment_status, session.needs_funding) == (
        Party.MEMBER,
        None,
        PaymentStatus.NONE,
        True,
    )


@pytest.mark.parametrize("actor", [MEMBER, OTHER_PROVIDER], ids=["member", "another-provider"])
def test_only_the_provider_or_an_admin_may_propose(actor: Actor) -> None:
    with pytest.raises(Forbidden):
        Session.propose(session_id=UUID(int=1), terms=terms(), actor=actor, now=NOW, policy=POLICY)
    assert Session.propose(session_id=UUID(int=1), terms=terms(), actor=ADMIN, now=NOW, policy=POLICY)[0].created_by is Role.ADMIN


# ------------------------------------------------------------------ confirm


def test_the_provider_confirms_a_request_and_its_response_time_is_recorded() -> None:
    session = requested()
    events = session.confirm(actor=PROVIDER, now=NOW + 4 * H, policy=POLICY)
    assert events == [
        TimelineRecorded(T.APPROVED_BY_PROVIDER, PROVIDER, S.AWAITING_APPROVAL, S.CONFIRMED),
        VideoRoomRequested("create"),
        PartyNotified(Party.MEMBER, N.SESSION_CONFIRMED),
        ProviderResponded(minutes=240.0, late=True),
    ]
    assert (session.status, session.approvals, session.respond_by, session.version) == (
        S.CONFIRMED,
        Approvals.both(),
        None,
        2,
    )
    assert session.held_credits == 5


def test_the_member_accepting_a_proposal_holds_the_funds_then() -> None:
    session = proposed(modality=Modality.PHONE)
    events = session.confirm(actor=MEMBER, now=NOW + H, policy=POLICY, funding=Funding.CREDITS)
    assert events == [
        TimelineRecorded(T.APPROVED_BY_MEMBER, MEMBER, S.AWAITING_APPROVAL, S.CONFIRMED),
        TimelineRecorded(T.FUNDS_HELD, MEMBER, credits=5),
        hold(5),
        PartyNotified(Party.PROVIDER, N.SESSION_CONFIRMED),
    ]
    assert (session.payment_status, session.funding, session.held_credits) == (PaymentStatus.HELD, Funding.CREDITS, 5)


def test_confirming_needs_a_funding_exactly_when_nothing_was_paid() -> None:
    refused(proposed(), ValidationError, lambda s: s.confirm(actor=MEMBER, now=NOW, policy=POLICY))
    refused(
        requested(),
        ValidationError,
        lambda s: s.confirm(actor=PROVIDER, now=NOW, policy=POLICY, funding=Funding.CREDITS),
    )


@pytest.mark.parametrize(
    ("build", "actor"),
    [(requested, MEMBER), (requested, ADMIN), (proposed, PROVIDER), (proposed, ADMIN)],
    ids=["member-own-request", "admin-request", "provider-own-proposal", "admin-proposal"],
)
def test_only_the_party_awaited_may_confirm_or_decline(build: Callable[[], Session], actor: Actor) -> None:
    refused(build(), Forbidden, lambda s: s.confirm(actor=actor, now=NOW, policy=POLICY, funding=Funding.CREDITS))
    refused(build(), Forbidden, lambda s: s.decline(actor=actor, now=NOW, policy=POLICY, reason=DeclineReason.OTHER))


def test_confirming_from_respond_by_on_is_too_late() -> None:
    refused(requested(), TooLate, lambda s: s.confirm(actor=PROVIDER, now=NOW + 24 * H, policy=POLICY))
    assert requested().confirm(actor=PROVIDER, now=NOW + 24 * H - MIN, policy=POLICY)[0].to_status is S.CONFIRMED


# ------------------------------------------------------------------ decline and withdraw


def test_the_provider_declines_with_a_reason_and_the_credits_go_back() -> None:
    session = requested()
    events = session.decline(
        actor=PROVIDER, now=NOW + H, policy=POLICY, reason=DeclineReason.OUTSIDE_EXPERTISE, note="try Ana"
    )
    assert events == [
        TimelineRecorded(T.DECLINED, PROVIDER, S.AWAITING_APPROVAL, S.DECLINED, "OUTSIDE_EXPERTISE", "try Ana"),
        TimelineRecorded(T.FUNDS_RETURNED, PROVIDER, credits=5),
        moved(LedgerEntryKind.RELEASE, 5),
        PartyNotified(Party.MEMBER, N.SESSION_DECLINED),
        ProviderResponded(minutes=60.0, late=False),
    ]
    assert (session.status, session.payment_status, session.held_credits, session.decline_reason) == (
        S.DECLINED,
        PaymentStatus.RETURNED,
        0,
        DeclineReason.OUTSIDE_EXPERTISE,
    )
    assert session.held_intervals() == []


def test_the_member_declines_a_proposal_and_nothing_moves() -> None:
    session = proposed()
    assert session.decline(actor=MEMBER, now=NOW, policy=POLICY, reason=DeclineReason.PERSONAL) == [
        TimelineRecorded(T.DECLINED, MEMBER, S.AWAITING_APPROVAL, S.DECLINED, "PERSONAL"),
        PartyNotified(Party.PROVIDER, N.SESSION_DECLINED),
    ]


def test_declining_or_withdrawing_from_the_start_on_is_too_late() -> None:
    soon = requested(starts_at=NOW + 2 * H)
    later = NOW + 2 * H
    refused(soon, TooLate, lambda s: s.decline(actor=PROVIDER, now=later, policy=POLICY, reason=DeclineReason.OTHER))
    refused(soon, TooLate, lambda s: s.withdraw(actor=MEMBER, now=later, policy=POLICY))


def test_the_member_withdraws_a_request_and_the_credits_go_back() -> None:
    session = requested()
    events = session.withdraw(actor=MEMBER, now=NOW + H, policy=POLICY)
    assert events == [
        TimelineRecorded(T.WITHDRAWN, MEMBER, S.AWAITING_APPROVAL, S.CANCELLED),
        TimelineRecorded(T.FUNDS_RETURNED, MEMBER, credits=5),
        moved(LedgerEntryKind.RELEASE, 5),
        PartyNotified(Party.PROVIDER, N.SESSION_CANCELLED),
    ]
    assert session.cancellation is not None
    assert (session.cancellation.by, session.cancellation.late, session.payment_status) == (
        Role.MEMBER,
        False,
        PaymentStatus.RETURNED,
    )


def test_the_provider_withdraws_a_proposal() -> None:
    assert proposed().withdraw(actor=PROVIDER, now=NOW, policy=POLICY) == [
        TimelineRecorded(T.WITHDRAWN, PROVIDER, S.AWAITING_APPROVAL, S.CANCELLED),
        PartyNotified(Party.MEMBER, N.SESSION_CANCELLED),
    ]


@pytest.mark.parametrize(("build", "actor"), [(requested, PROVIDER), (proposed, MEMBER), (requested, ADMIN)])
def test_only_the_party_that_approved_may_withdraw(build: Callable[[], Session], actor: Actor) -> None:
    refused(build(), Forbidden, lambda s: s.withdraw(actor=actor, now=NOW, policy=POLICY))


# ------------------------------------------------------------------ cancel: who and when (late rules elsewhere)


@pytest.mark.parametrize("actor", [MEMBER, PROVIDER, ADMIN], ids=["member", "provider", "admin"])
def test_a_party_or_an_admin_cancels_a_confirmed_session(actor: Actor) -> None:
    session = confirmed()
    events = session.cancel(actor=actor, now=NOW, policy=POLICY, reason=DeclineReason and None or None)  # type: ignore[arg-type]
    assert events[0].to_status is S.CANCELLED  # type: ignore[union-attr]


def test_cancelling_from_the_start_on_is_too_late() -> None:
    refused(confirmed(), TooLate, lambda s: s.cancel(actor=MEMBER, now=START, policy=POLICY, acknowledge_late=True))
