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
from sessions_gql.domain.session_rules import Step, check
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


# ------------------------------------------------------------------ the status and who columns

Call = Callable[[Session, Actor], object]
USER_CALLS: dict[str, tuple[frozenset[SessionStatus], Actor, Call]] = {
    "confirm": (frozenset({S.AWAITING_APPROVAL}), PROVIDER, lambda s, a: s.confirm(actor=a, now=NOW, policy=POLICY)),
    "decline": (
        frozenset({S.AWAITING_APPROVAL}),
        PROVIDER,
        lambda s, a: s.decline(actor=a, now=NOW, policy=POLICY, reason=DeclineReason.OTHER),
    ),
    "withdraw": (frozenset({S.AWAITING_APPROVAL}), MEMBER, lambda s, a: s.withdraw(actor=a, now=NOW, policy=POLICY)),
    "cancel": (
        frozenset({S.CONFIRMED, S.RESCHEDULING}),
        MEMBER,
        lambda s, a: s.cancel(actor=a, now=NOW, policy=POLICY),
    ),
    "propose_new_time": (
        frozenset({S.AWAITING_APPROVAL, S.CONFIRMED, S.RESCHEDULING, S.DECLINED}),
        PROVIDER,
        lambda s, a: s.propose_new_time(actor=a, now=NOW, policy=POLICY, starts_at=NEW_START + H),
    ),
    "accept_new_time": (
        frozenset({S.RESCHEDULING}),
        MEMBER,
        lambda s, a: s.accept_new_time(actor=a, now=NOW, policy=POLICY),
    ),
    "reject_new_time": (
        frozenset({S.RESCHEDULING}),
        MEMBER,
        lambda s, a: s.reject_new_time(actor=a, now=NOW, policy=POLICY, reason=DeclineReason.OTHER),
    ),
    "withdraw_new_time": (
        frozenset({S.RESCHEDULING}),
        PROVIDER,
        lambda s, a: s.withdraw_new_time(actor=a, now=NOW, policy=POLICY),
    ),
    "join": (frozenset({S.CONFIRMED, S.IN_PROGRESS}), MEMBER, lambda s, a: s.join(actor=a, now=START, policy=POLICY)),
    "leave": (frozenset({S.CONFIRMED, S.IN_PROGRESS}), MEMBER, lambda s, a: s.leave(actor=a, now=START, policy=POLICY)),
    "start": (frozenset({S.CONFIRMED}), PROVIDER, lambda s, a: s.start(actor=a, now=START, policy=POLICY)),
    "mark_no_show": (
        frozenset({S.CONFIRMED}),
        PROVIDER,
        lambda s, a: s.mark_no_show(actor=a, now=START + 10 * MIN, policy=POLICY),
    ),
    "undo_no_show": (
        frozenset({S.NO_SHOW}),
        PROVIDER,
        lambda s, a: s.undo_no_show(actor=a, now=START + 20 * MIN, policy=POLICY),
    ),
    "end": (frozenset({S.IN_PROGRESS}), PROVIDER, lambda s, a: s.end(actor=a, now=END, policy=POLICY)),
    "refund": (
        frozenset({S.COMPLETED, S.NO_SHOW, S.CANCELLED}),
        PROVIDER,
        lambda s, a: s.refund(actor=a, now=END, policy=POLICY),
    ),
}
SYSTEM_CALLS: dict[str, tuple[frozenset[SessionStatus], Callable[[Session], object]]] = {
    "expire": (frozenset({S.AWAITING_APPROVAL}), lambda s: s.expire(now=NOW + 24 * H, policy=POLICY)),
    "expire_proposal": (frozenset({S.RESCHEDULING}), lambda s: s.expire_proposal(now=START, policy=POLICY)),
    "provider_no_show": (frozenset({S.CONFIRMED}), lambda s: s.provider_no_show(now=END + 30 * MIN, policy=POLICY)),
}
SOURCES: dict[str, frozenset[SessionStatus]] = {
    **{name: row[0] for name, row in USER_CALLS.items()},
    **{name: row[0] for name, row in SYSTEM_CALLS.items()},
}


def call_as(name: str, actor: Actor | None = None) -> Callable[[Session], object]:
    """The transition `name`, by `actor` (default: the one the table names), with valid arguments."""
    if name in SYSTEM_CALLS:
        return SYSTEM_CALLS[name][1]
    _, default, call = USER_CALLS[name]
    return lambda s: call(s, actor or default)


@pytest.mark.parametrize(
    ("name", "status"),
    [
        pytest.param(name, status, id=f"{name}-from-{status.value}")
        for name, sources in SOURCES.items()
        for status in S
        if status not in sources
    ],
)
def test_a_transition_from_a_status_outside_its_row_is_invalid_and_changes_nothing(
    name: str, status: SessionStatus
) -> None:
    refused(IN_STATUS[status](), InvalidTransition, call_as(name))


@pytest.mark.parametrize("name", list(USER_CALLS))
@pytest.mark.parametrize("stranger", [OTHER_MEMBER, OTHER_PROVIDER], ids=["other-member", "other-provider"])
def test_someone_outside_the_session_is_forbidden_every_transition(name: str, stranger: Actor) -> None:
    for status in USER_CALLS[name][0]:
        refused(IN_STATUS[status](), Forbidden, call_as(name, stranger))


ADMIN_ALLOWED = {"cancel", "refund"}


@pytest.mark.parametrize("name", sorted(set(USER_CALLS) - ADMIN_ALLOWED))
def test_an_admin_may_not_act_where_the_table_names_only_the_parties(name: str) -> None:
    for status in USER_CALLS[name][0]:
        refused(IN_STATUS[status](), Forbidden, call_as(name, ADMIN))


@pytest.mark.parametrize("name", list(SYSTEM_CALLS))
def test_system_steps_are_the_schedulers_alone(name: str) -> None:
    step = {"expire": Step.EXPIRE, "expire_proposal": Step.EXPIRE_PROPOSAL, "provider_no_show": Step.PROVIDER_NO_SHOW}
    for actor in (MEMBER, PROVIDER, ADMIN):
        session = IN_STATUS[sorted(SYSTEM_CALLS[name][0])[0]]()
        with pytest.raises(Forbidden):
            check(step[name], session, actor, END + H, POLICY)


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
    assert events[-2:] == [
        PartyNotified(Party.MEMBER, N.SESSION_REQUESTED),
        PartyNotified(Party.PROVIDER, N.SESSION_REQUESTED),
    ]
    assert session.created_by is Role.ADMIN


@pytest.mark.parametrize("actor", [PROVIDER, OTHER_MEMBER], ids=["provider", "another-member"])
def test_only_the_member_or_an_admin_may_request(actor: Actor) -> None:
    with pytest.raises(Forbidden):
        Session.request(
            session_id=UUID(int=1), terms=terms(), actor=actor, funding=Funding.CREDITS, now=NOW, policy=POLICY
        )


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
            session_id=UUID(int=1),
            terms=terms(**changes),
            actor=MEMBER,
            funding=Funding.CREDITS,
            now=NOW,
            policy=POLICY,
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
    assert (
        Session.propose(session_id=UUID(int=1), terms=terms(), actor=ADMIN, now=NOW, policy=POLICY)[0].created_by
        is Role.ADMIN
    )


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
    session = requested()
    session.confirm(actor=PROVIDER, now=NOW + 24 * H - MIN, policy=POLICY)
    assert session.status is S.CONFIRMED


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


def test_cancelling_from_the_start_on_is_too_late() -> None:
    refused(confirmed(), TooLate, lambda s: s.cancel(actor=MEMBER, now=START, policy=POLICY, acknowledge_late=True))


# ------------------------------------------------------------------ new times


def test_proposing_a_new_time_on_a_confirmed_session_holds_both_slots_until_answered() -> None:
    session = confirmed()
    events = session.propose_new_time(actor=PROVIDER, now=NOW + H, policy=POLICY, starts_at=NEW_START)
    assert events == [
        TimelineRecorded(
            T.NEW_TIME_PROPOSED,
            PROVIDER,
            S.CONFIRMED,
            S.RESCHEDULING,
            previous_starts_at=START,
            new_starts_at=NEW_START,
        ),
        TimelineRecorded(T.APPROVED_BY_PROVIDER, PROVIDER),
        PartyNotified(Party.MEMBER, N.NEW_TIME_PROPOSED),
    ]
    assert session.proposal == Proposal(NEW_START, NEW_START + H, Party.PROVIDER, NOW + H)
    assert (session.starts_at, session.awaiting_response_from, session.approvals) == (
        START,
        Party.MEMBER,
        Approvals(member=False, provider=True),
    )
    assert [(kind, i.starts_at) for kind, i in session.held_intervals()] == [
        ("session", START),
        ("proposal", NEW_START),
    ]


def test_a_newer_proposal_by_the_other_party_replaces_the_pending_one() -> None:
    session = rescheduling()
    other = NEW_START + 2 * H
    events = session.propose_new_time(actor=MEMBER, now=NOW, policy=POLICY, starts_at=other, duration_minutes=30)
    assert events[:2] == [
        TimelineRecorded(
            T.NEW_TIME_PROPOSED, MEMBER, S.RESCHEDULING, S.RESCHEDULING, previous_starts_at=START, new_starts_at=other
        ),
        TimelineRecorded(T.APPROVED_BY_MEMBER, MEMBER),
    ]
    assert session.proposal == Proposal(other, other + 30 * MIN, Party.MEMBER, NOW)
    assert session.awaiting_response_from is Party.PROVIDER


def test_a_counter_offer_replaces_the_time_of_a_request_and_keeps_the_hold() -> None:
    session = requested()
    events = session.propose_new_time(actor=PROVIDER, now=NOW + H, policy=POLICY, starts_at=NEW_START)
    assert events == [
        TimelineRecorded(
            T.NEW_TIME_PROPOSED,
            PROVIDER,
            S.AWAITING_APPROVAL,
            S.AWAITING_APPROVAL,
            previous_starts_at=START,
            new_starts_at=NEW_START,
        ),
        TimelineRecorded(T.APPROVED_BY_PROVIDER, PROVIDER),
        PartyNotified(Party.MEMBER, N.NEW_TIME_PROPOSED),
    ]
    assert (session.starts_at, session.ends_at, session.awaiting_response_from) == (
        NEW_START,
        NEW_START + H,
        Party.MEMBER,
    )
    assert (session.respond_by, session.held_credits, session.proposal) == (NOW + 25 * H, 5, None)


def test_the_provider_re_proposes_a_declined_session_and_the_member_pays_on_accepting() -> None:
    session = declined()
    events = session.propose_new_time(actor=PROVIDER, now=NOW + H, policy=POLICY, starts_at=NEW_START)
    assert [e.type for e in events if isinstance(e, TimelineRecorded)] == [
        T.NEW_TIME_PROPOSED,
        T.APPROVED_BY_PROVIDER,
    ]
    assert (session.status, session.awaiting_response_from, session.decline_reason, session.needs_funding) == (
        S.AWAITING_APPROVAL,
        Party.MEMBER,
        None,
        True,
    )
    refused(
        declined(), Forbidden, lambda s: s.propose_new_time(actor=MEMBER, now=NOW, policy=POLICY, starts_at=NEW_START)
    )


@pytest.mark.parametrize(
    ("starts_at", "duration", "field"),
    [(START, None, "startsAt"), (NOW, None, "startsAt"), (NEW_START, 7, "durationMinutes")],
    ids=["same-time", "past", "bad-length"],
)
def test_an_invalid_new_time_is_refused(starts_at: datetime, duration: int | None, field: str) -> None:
    error = refused(
        confirmed(),
        ValidationError,
        lambda s: s.propose_new_time(
            actor=MEMBER, now=NOW, policy=POLICY, starts_at=starts_at, duration_minutes=duration
        ),
    )
    assert error.field == field


def test_proposing_a_new_time_from_the_start_on_is_too_late() -> None:
    refused(
        confirmed(), TooLate, lambda s: s.propose_new_time(actor=MEMBER, now=START, policy=POLICY, starts_at=NEW_START)
    )


def test_the_other_party_accepts_the_new_time_and_the_room_moves() -> None:
    session = rescheduling()
    events = session.accept_new_time(actor=MEMBER, now=NOW + H, policy=POLICY)
    assert events == [
        TimelineRecorded(
            T.NEW_TIME_ACCEPTED, MEMBER, S.RESCHEDULING, S.CONFIRMED, previous_starts_at=START, new_starts_at=NEW_START
        ),
        VideoRoomRequested("move"),
        PartyNotified(Party.PROVIDER, N.NEW_TIME_ACCEPTED),
    ]
    assert (session.starts_at, session.ends_at, session.proposal, session.approvals) == (
        NEW_START,
        NEW_START + H,
        None,
        Approvals.both(),
    )
    assert session.reminders_due() == [
        (N.MEETING_REMINDER, NEW_START - 24 * H),
        (N.MEETING_LINK, NEW_START - H),
    ]


def test_the_other_party_rejects_the_new_time_and_the_original_stands() -> None:
    session = rescheduling()
    events = session.reject_new_time(
        actor=MEMBER, now=NOW, policy=POLICY, reason=DeclineReason.NOT_AVAILABLE, note="no"
    )
    assert events == [
        TimelineRecorded(
            T.NEW_TIME_REJECTED, MEMBER, S.RESCHEDULING, S.CONFIRMED, "NOT_AVAILABLE", "no", START, NEW_START
        ),
        PartyNotified(Party.PROVIDER, N.NEW_TIME_REJECTED),
    ]
    assert (session.starts_at, session.proposal, session.held_intervals()[0][1].starts_at) == (START, None, START)
    assert len(session.held_intervals()) == 1


def test_the_proposer_withdraws_the_new_time() -> None:
    session = rescheduling()
    assert session.withdraw_new_time(actor=PROVIDER, now=NOW, policy=POLICY) == [
        TimelineRecorded(T.NEW_TIME_WITHDRAWN, PROVIDER, S.RESCHEDULING, S.CONFIRMED, None, None, START, NEW_START),
        PartyNotified(Party.MEMBER, N.NEW_TIME_WITHDRAWN),
    ]
    assert (session.status, session.proposal) == (S.CONFIRMED, None)


def test_only_the_other_party_answers_and_only_the_proposer_withdraws_a_new_time() -> None:
    refused(rescheduling(), Forbidden, lambda s: s.accept_new_time(actor=PROVIDER, now=NOW, policy=POLICY))
    refused(
        rescheduling(),
        Forbidden,
        lambda s: s.reject_new_time(actor=PROVIDER, now=NOW, policy=POLICY, reason=DeclineReason.OTHER),
    )
    refused(rescheduling(), Forbidden, lambda s: s.withdraw_new_time(actor=MEMBER, now=NOW, policy=POLICY))


def test_answering_a_new_time_is_too_late_once_either_time_began() -> None:
    refused(rescheduling(), TooLate, lambda s: s.accept_new_time(actor=MEMBER, now=START, policy=POLICY))
    earlier = rescheduling(new_start=START - 10 * H)
    refused(earlier, TooLate, lambda s: s.accept_new_time(actor=MEMBER, now=START - 10 * H, policy=POLICY))
    refused(rescheduling(), TooLate, lambda s: s.withdraw_new_time(actor=PROVIDER, now=START, policy=POLICY))


# ------------------------------------------------------------------ expiry


def test_a_request_nobody_answered_expires_at_respond_by_and_the_credits_go_back() -> None:
    session = requested()
    refused(session, TooEarly, lambda s: s.expire(now=NOW + 24 * H - MIN, policy=POLICY))
    events = session.expire(now=NOW + 24 * H, policy=POLICY)
    assert events == [
        TimelineRecorded(T.EXPIRED, None, S.AWAITING_APPROVAL, S.EXPIRED),
        TimelineRecorded(T.FUNDS_RETURNED, None, credits=5),
        moved(LedgerEntryKind.RELEASE, 5),
        PartyNotified(Party.MEMBER, N.SESSION_EXPIRED),
        PartyNotified(Party.PROVIDER, N.SESSION_EXPIRED),
        ProviderResponded(minutes=1440.0, late=True),
    ]
    assert (session.payment_status, session.held_intervals()) == (PaymentStatus.RETURNED, [])


def test_an_unanswered_proposal_expires_without_a_provider_response() -> None:
    assert proposed().expire(now=NOW + 24 * H, policy=POLICY) == [
        TimelineRecorded(T.EXPIRED, None, S.AWAITING_APPROVAL, S.EXPIRED),
        PartyNotified(Party.MEMBER, N.SESSION_EXPIRED),
        PartyNotified(Party.PROVIDER, N.SESSION_EXPIRED),
    ]


def test_a_pending_new_time_lapses_at_the_original_start() -> None:
    session = rescheduling()
    refused(session, TooEarly, lambda s: s.expire_proposal(now=START - MIN, policy=POLICY))
    assert session.expire_proposal(now=START, policy=POLICY) == [
        TimelineRecorded(T.EXPIRED, None, S.RESCHEDULING, S.CONFIRMED, "PROPOSAL", None, START, NEW_START),
        PartyNotified(Party.MEMBER, N.NEW_TIME_EXPIRED),
        PartyNotified(Party.PROVIDER, N.NEW_TIME_EXPIRED),
    ]
    assert (session.status, session.starts_at, session.proposal, session.version) == (S.CONFIRMED, START, None, 4)


# ------------------------------------------------------------------ the meeting


def test_a_member_joining_early_waits_for_the_provider() -> None:
    session = confirmed()
    refused(session, TooEarly, lambda s: s.join(actor=MEMBER, now=START - 16 * MIN, policy=POLICY))
    events = session.join(actor=MEMBER, now=START - 15 * MIN, policy=POLICY)
    assert events == [
        TimelineRecorded(T.MEMBER_JOINED, MEMBER),
        PartyNotified(Party.PROVIDER, N.MEMBER_WAITING),
    ]
    assert (session.member_joined_at, session.member_late_minutes, session.member_present) == (
        START - 15 * MIN,
        0,
        True,
    )
    refused(session, InvalidTransition, lambda s: s.join(actor=MEMBER, now=START, policy=POLICY))


def test_a_member_joining_after_start_is_late_by_whole_minutes_and_the_end_stays() -> None:
    session = in_progress()
    assert session.join(actor=MEMBER, now=START + 7 * MIN + 30 * timedelta(seconds=1), policy=POLICY) == [
        TimelineRecorded(T.MEMBER_JOINED, MEMBER)
    ]
    assert (session.member_late_minutes, session.ends_at) == (7, END)


def test_joining_from_the_end_on_is_too_late() -> None:
    refused(confirmed(), TooLate, lambda s: s.join(actor=PROVIDER, now=END, policy=POLICY))


def test_the_provider_joins_and_leaves_and_the_first_join_is_kept() -> None:
    session = confirmed()
    assert session.join(actor=PROVIDER, now=START - 5 * MIN, policy=POLICY) == [
        TimelineRecorded(T.PROVIDER_JOINED, PROVIDER)
    ]
    assert session.leave(actor=PROVIDER, now=START, policy=POLICY) == [TimelineRecorded(T.PROVIDER_LEFT, PROVIDER)]
    session.join(actor=PROVIDER, now=START + MIN, policy=POLICY)
    assert (session.provider_joined_at, session.provider_present, session.version) == (START - 5 * MIN, True, 5)


def test_leaving_without_being_in_is_invalid() -> None:
    refused(confirmed(), InvalidTransition, lambda s: s.leave(actor=MEMBER, now=START, policy=POLICY))


def test_the_provider_starts_from_30_minutes_before_until_the_end() -> None:
    refused(confirmed(), TooEarly, lambda s: s.start(actor=PROVIDER, now=START - 31 * MIN, policy=POLICY))
    refused(confirmed(), TooLate, lambda s: s.start(actor=PROVIDER, now=END, policy=POLICY))
    refused(confirmed(), Forbidden, lambda s: s.start(actor=MEMBER, now=START, policy=POLICY))
    session = confirmed()
    assert session.start(actor=PROVIDER, now=START - 30 * MIN, policy=POLICY) == [
        TimelineRecorded(T.STARTED, PROVIDER, S.CONFIRMED, S.IN_PROGRESS)
    ]
    assert (session.started_at, session.provider_present) == (START - 30 * MIN, True)


def test_the_provider_marks_a_member_no_show_from_10_minutes_after_start_and_the_credits_are_captured() -> None:
    refused(confirmed(), TooEarly, lambda s: s.mark_no_show(actor=PROVIDER, now=START + 9 * MIN, policy=POLICY))
    refused(confirmed(), Forbidden, lambda s: s.mark_no_show(actor=MEMBER, now=START + 10 * MIN, policy=POLICY))
    session = confirmed()
    events = session.mark_no_show(actor=PROVIDER, now=START + 10 * MIN, policy=POLICY)
    assert events == [
        TimelineRecorded(T.NO_SHOW_MARKED, PROVIDER, S.CONFIRMED, S.NO_SHOW, "MEMBER"),
        TimelineRecorded(T.FUNDS_CAPTURED, PROVIDER, credits=5),
        moved(LedgerEntryKind.CAPTURE, 5),
        PartyNotified(Party.MEMBER, N.NO_SHOW_MARKED),
    ]
    assert (session.no_show_party, session.payment_status, session.provider_earnings) == (
        Party.MEMBER,
        PaymentStatus.CAPTURED,
        Decimal("45.00"),
    )


def test_a_member_who_joined_cannot_be_marked_no_show() -> None:
    session = confirmed()
    session.join(actor=MEMBER, now=START + MIN, policy=POLICY)
    session.leave(actor=MEMBER, now=START + 2 * MIN, policy=POLICY)
    refused(session, InvalidTransition, lambda s: s.mark_no_show(actor=PROVIDER, now=START + 10 * MIN, policy=POLICY))


def test_undoing_a_no_show_keeps_the_capture_and_ending_does_not_capture_twice() -> None:
    session = member_no_show()
    refused(session, TooLate, lambda s: s.undo_no_show(actor=PROVIDER, now=END, policy=POLICY))
    refused(session, Forbidden, lambda s: s.undo_no_show(actor=MEMBER, now=START + 20 * MIN, policy=POLICY))
    assert session.undo_no_show(actor=PROVIDER, now=START + 20 * MIN, policy=POLICY) == [
        TimelineRecorded(T.NO_SHOW_UNDONE, PROVIDER, S.NO_SHOW, S.CONFIRMED)
    ]
    assert (session.no_show_party, session.payment_status, session.captured_credits) == (
        None,
        PaymentStatus.CAPTURED,
        5,
    )
    session.start(actor=PROVIDER, now=START + 21 * MIN, policy=POLICY)
    assert session.end(actor=PROVIDER, now=END, policy=POLICY) == [
        TimelineRecorded(T.COMPLETED, PROVIDER, S.IN_PROGRESS, S.COMPLETED),
        SessionCompleted(),
    ]
    assert (session.captured_credits, session.provider_earnings) == (5, Decimal("45.00"))


def test_a_provider_no_show_after_an_undone_member_no_show_refunds_the_capture() -> None:
    session = member_no_show()
    session.undo_no_show(actor=PROVIDER, now=START + 20 * MIN, policy=POLICY)
    events = session.provider_no_show(now=END + 30 * MIN, policy=POLICY)
    assert events[:3] == [
        TimelineRecorded(T.NO_SHOW_MARKED, None, S.CONFIRMED, S.NO_SHOW, "PROVIDER"),
        TimelineRecorded(T.REFUNDED, None, credits=5),
        moved(LedgerEntryKind.REFUND, 5),
    ]
    assert (session.payment_status, session.refundable_credits, session.provider_earnings) == (
        PaymentStatus.REFUNDED,
        0,
        Decimal("0.00"),
    )


def test_undoing_a_provider_no_show_is_invalid() -> None:
    session = confirmed()
    session.provider_no_show(now=END + 30 * MIN, policy=POLICY)
    refused(session, InvalidTransition, lambda s: s.undo_no_show(actor=PROVIDER, now=START, policy=POLICY))


def test_the_provider_ends_the_session_and_the_credits_are_captured() -> None:
    session = in_progress()
    events = session.end(actor=PROVIDER, now=START + 50 * MIN, policy=POLICY)
    assert events == [
        TimelineRecorded(T.COMPLETED, PROVIDER, S.IN_PROGRESS, S.COMPLETED),
        TimelineRecorded(T.FUNDS_CAPTURED, PROVIDER, credits=5),
        moved(LedgerEntryKind.CAPTURE, 5),
        SessionCompleted(),
    ]
    assert (session.ended_at, session.payment_status, session.provider_earnings, session.held_intervals()) == (
        START + 50 * MIN,
        PaymentStatus.CAPTURED,
        Decimal("45.00"),
        [],
    )


def test_the_system_closes_an_ongoing_session_from_end_plus_grace() -> None:
    refused(in_progress(), TooEarly, lambda s: s.end(actor=None, now=END + 29 * MIN, policy=POLICY))
    refused(in_progress(), Forbidden, lambda s: s.end(actor=MEMBER, now=END, policy=POLICY))
    session = in_progress()
    assert session.end(actor=None, now=END + 30 * MIN, policy=POLICY)[0] == TimelineRecorded(
        T.COMPLETED, None, S.IN_PROGRESS, S.COMPLETED
    )


def test_a_session_never_started_is_a_provider_no_show_at_end_plus_grace() -> None:
    session = confirmed()
    refused(session, TooEarly, lambda s: s.provider_no_show(now=END + 29 * MIN, policy=POLICY))
    assert session.provider_no_show(now=END + 30 * MIN, policy=POLICY) == [
        TimelineRecorded(T.NO_SHOW_MARKED, None, S.CONFIRMED, S.NO_SHOW, "PROVIDER"),
        TimelineRecorded(T.FUNDS_RETURNED, None, credits=5),
        moved(LedgerEntryKind.RELEASE, 5),
        VideoRoomRequested("cancel"),
        PartyNotified(Party.MEMBER, N.NO_SHOW_MARKED),
        PartyNotified(Party.PROVIDER, N.NO_SHOW_MARKED),
        ProviderCancelled(late=True),
    ]
    assert (session.no_show_party, session.payment_status) == (Party.PROVIDER, PaymentStatus.RETURNED)


# ------------------------------------------------------------------ refund


def test_the_provider_refunds_part_then_an_admin_the_rest() -> None:
    session = completed()
    events = session.refund(actor=PROVIDER, now=END, policy=POLICY, credits=2, note="audio broke")
    assert events == [
        TimelineRecorded(T.REFUNDED, PROVIDER, note="audio broke", credits=2),
        FundsMoved(LedgerMove(LedgerEntryKind.REFUND, 2, 0, "audio broke"), Funding.CREDITS),
        PartyNotified(Party.MEMBER, N.SESSION_REFUNDED),
    ]
    assert (session.status, session.payment_status, session.provider_earnings) == (
        S.COMPLETED,
        PaymentStatus.PARTIALLY_REFUNDED,
        Decimal("27.00"),
    )
    assert session.refund(actor=ADMIN, now=END, policy=POLICY) == [
        TimelineRecorded(T.REFUNDED, ADMIN, credits=3),
        moved(LedgerEntryKind.REFUND, 3),
        PartyNotified(Party.MEMBER, N.SESSION_REFUNDED),
        PartyNotified(Party.PROVIDER, N.SESSION_REFUNDED),
    ]
    assert (session.payment_status, session.refunded_credits, session.provider_earnings) == (
        PaymentStatus.REFUNDED,
        5,
        Decimal("0.00"),
    )
    refused(session, InvalidTransition, lambda s: s.refund(actor=ADMIN, now=END, policy=POLICY))


@pytest.mark.parametrize("credits", [0, 6, -1])
def test_a_refund_is_between_one_credit_and_what_is_left(credits: int) -> None:
    error = refused(
        completed(), ValidationError, lambda s: s.refund(actor=PROVIDER, now=END, policy=POLICY, credits=credits)
    )
    assert error.field == "credits"


def test_a_member_no_show_can_be_refunded_and_a_member_may_not_refund() -> None:
    refused(member_no_show(), Forbidden, lambda s: s.refund(actor=MEMBER, now=END, policy=POLICY))
    assert member_no_show().refund(actor=PROVIDER, now=END, policy=POLICY, credits=5) == [
        TimelineRecorded(T.REFUNDED, PROVIDER, credits=5),
        moved(LedgerEntryKind.REFUND, 5),
        PartyNotified(Party.MEMBER, N.SESSION_REFUNDED),
    ]


@pytest.mark.parametrize(
    "build", [cancelled, lambda: completed_free()], ids=["returned-cancellation", "free-consultation"]
)
def test_nothing_captured_means_nothing_to_refund(build: Callable[[], Session]) -> None:
    refused(build(), InvalidTransition, lambda s: s.refund(actor=ADMIN, now=END, policy=POLICY))


def completed_free() -> Session:
    session = confirmed(Funding.FREE_CONSULTATION)
    session.start(actor=PROVIDER, now=START, policy=POLICY)
    session.end(actor=PROVIDER, now=END, policy=POLICY)
    return session


def test_a_completed_free_consultation_moves_nothing_and_earns_nothing() -> None:
    session = confirmed(Funding.FREE_CONSULTATION)
    session.start(actor=PROVIDER, now=START, policy=POLICY)
    assert session.end(actor=PROVIDER, now=END, policy=POLICY) == [
        TimelineRecorded(T.COMPLETED, PROVIDER, S.IN_PROGRESS, S.COMPLETED),
        SessionCompleted(),
    ]
    assert (session.payment_status, session.provider_earnings) == (PaymentStatus.NONE, Decimal("0.00"))


def test_a_sponsored_refund_returns_minutes_in_proportion_and_all_of_them_in_the_end() -> None:
    session = confirmed(Funding.SPONSORED)
    session.start(actor=PROVIDER, now=START, policy=POLICY)
    assert session.end(actor=PROVIDER, now=END, policy=POLICY)[1:3] == [
        TimelineRecorded(T.FUNDS_CAPTURED, PROVIDER, credits=5),
        moved(LedgerEntryKind.CAPTURE, 0, 60, Funding.SPONSORED),
    ]
    assert session.refund(actor=PROVIDER, now=END, policy=POLICY, credits=2)[1] == moved(
        LedgerEntryKind.REFUND, 0, 24, Funding.SPONSORED
    )
    assert session.refund(actor=PROVIDER, now=END, policy=POLICY, credits=3)[1] == moved(
        LedgerEntryKind.REFUND, 0, 36, Funding.SPONSORED
    )
    assert (session.refunded_sponsored_minutes, session.payment_status) == (60, PaymentStatus.REFUNDED)


# ------------------------------------------------------------------ derived state


def test_reminders_exist_only_while_the_session_is_agreed() -> None:
    assert requested().reminders_due() == []
    assert confirmed().reminders_due() == [(N.MEETING_REMINDER, START - 24 * H), (N.MEETING_LINK, START - H)]
    assert rescheduling().reminders_due() == [(N.MEETING_REMINDER, START - 24 * H), (N.MEETING_LINK, START - H)]
    assert in_progress().reminders_due() == []
    assert cancelled().reminders_due() == []


@pytest.mark.parametrize(
    ("status", "held"),
    [(status, status in {S.AWAITING_APPROVAL, S.CONFIRMED, S.RESCHEDULING, S.IN_PROGRESS}) for status in S],
)
def test_only_open_statuses_hold_the_slot(status: SessionStatus, held: bool) -> None:
    kinds = [kind for kind, _ in IN_STATUS[status]().held_intervals()]
    assert kinds == (["session", "proposal"] if status is S.RESCHEDULING else ["session"] if held else [])


def test_every_successful_transition_bumps_the_version_by_one() -> None:
    session = requested()
    versions = [session.version]
    session.confirm(actor=PROVIDER, now=NOW, policy=POLICY)
    versions.append(session.version)
    session.propose_new_time(actor=MEMBER, now=NOW, policy=POLICY, starts_at=NEW_START)
    versions.append(session.version)
    session.accept_new_time(actor=PROVIDER, now=NOW, policy=POLICY)
    versions.append(session.version)
    session.start(actor=PROVIDER, now=NEW_START, policy=POLICY)
    versions.append(session.version)
    session.end(actor=PROVIDER, now=NEW_START + H, policy=POLICY)
    versions.append(session.version)
    assert versions == [1, 2, 3, 4, 5, 6]
