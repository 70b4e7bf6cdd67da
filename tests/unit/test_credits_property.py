"""Random booking histories over a few sessions, packages and one member's funds never break the money invariants.

Packages: purchases, bookings of their places, every outcome of those sessions and refunds of unused places; a
package's places are derived from its sessions as the service does (services/packages.places_from).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import timedelta
from uuid import UUID

from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from sessions_gql.domain.actors import Actor
from sessions_gql.domain.credits import Funds, LedgerMove, choose_funding
from sessions_gql.domain.enums import (
    OPEN_STATUSES,
    CancellationReason,
    DeclineReason,
    Funding,
    Party,
    RefundKind,
    SessionStatus,
)
from sessions_gql.domain.errors import DomainError, InsufficientFunds, ValidationError
from sessions_gql.domain.events import DomainEvent, FundsMoved
from sessions_gql.domain.packages import Places, place_share
from sessions_gql.domain.session import Session
from sessions_gql.domain.session_values import RefundChoice
from tests.unit.test_session_transitions import ADMIN, MEMBER, NOW, POLICY, PROVIDER, terms

GRANTED_CREDITS, GRANTED_MINUTES = 20, 60
MIN = timedelta(minutes=1)
AWAITING = frozenset({SessionStatus.AWAITING_APPROVAL})
AGREED = frozenset({SessionStatus.CONFIRMED, SessionStatus.RESCHEDULING})
MEETING = frozenset({SessionStatus.IN_PROGRESS})
CLOSED = frozenset({SessionStatus.COMPLETED, SessionStatus.NO_SHOW, SessionStatus.CANCELLED})
REFUNDS = st.sampled_from(
    [None, RefundChoice(RefundKind.FULL), RefundChoice(RefundKind.NONE), RefundChoice(RefundKind.PARTIAL, 1)]
)


class Bought:
    """One package in the model: its terms and refunds; which places are taken is read from the sessions."""

    def __init__(self, package_id: UUID, total: int, price: int) -> None:
        self.id, self.total, self.price = package_id, total, price
        self.refunded: set[int] = set()
        self.refunded_credits = 0


class Bookings(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.funds = Funds()
        self.ledger: list[LedgerMove] = [self.funds.grant(credits=GRANTED_CREDITS, sponsored_minutes=GRANTED_MINUTES)]
        self.sessions: list[Session] = []
        self.used_free = False
        self.packages: list[Bought] = []

    def _places(self, package: Bought) -> Places:
        taken = [s.package_place for s in self.sessions
                 if s.package_id == package.id and s.holds_package_place and s.package_place is not None]
        return Places.of(total=package.total, price_credits=package.price, taken=taken, refunded=package.refunded)

    def _funding(self, session: Session, *, free: bool) -> Funding | None:
        try:
            funding = choose_funding(
                service_offers_free_consultation=free,
                used_free_consultation_with_provider=self.used_free,
                sponsored_minutes_available=self.funds.available_minutes,
                duration_minutes=session.duration_minutes,
                available_credits=self.funds.available_credits,
                price_credits=session.price_credits,
            )
        except InsufficientFunds:
            return None
        self.used_free |= funding is Funding.FREE_CONSULTATION
        return funding

    def _apply(self, events: list[DomainEvent]) -> None:
        for event in events:
            if isinstance(event, FundsMoved):
                self.ledger.append(self.funds.apply(event.move))

    def _pick(self, pick: int, statuses: frozenset[SessionStatus] | None) -> Session:
        """A session in one of `statuses` when there is one (else any), so rules mostly hit their row."""
        fitting = [s for s in self.sessions if statuses is None or s.status in statuses] or self.sessions
        return fitting[pick % len(fitting)]

    def _attempt(
        self,
        pick: int,
        call: Callable[[Session], list[DomainEvent]],
        statuses: frozenset[SessionStatus] | None = None,
    ) -> None:
        session = self._pick(pick, statuses)
        before = copy.deepcopy(session)
        try:
            events = call(session)
        except DomainError:
            assert session == before
            return
        assert session.version == before.version + 1
        self._apply(events)

    @rule(
        price=st.integers(0, 8),
        hours=st.sampled_from([3, 30, 80]),
        duration=st.sampled_from([30, 60, 90]),
        free=st.sampled_from([False, False, False, True]),
    )
    def request(self, price: int, hours: int, duration: int, free: bool) -> None:
        draft = terms(price_credits=price, starts_at=NOW + timedelta(hours=hours), duration_minutes=duration)
        probe = Session.propose(session_id=UUID(int=0), terms=draft, actor=PROVIDER, now=NOW, policy=POLICY)[0]
        funding = self._funding(probe, free=free)
        if funding is None:
            return
        session, events = Session.request(
            session_id=UUID(int=len(self.sessions)), terms=draft, actor=MEMBER, funding=funding, now=NOW, policy=POLICY
        )
        self._apply(events)
        self.sessions.append(session)

    @rule(total=st.integers(2, 4), price=st.integers(1, 15))
    def purchase(self, total: int, price: int) -> None:
        before = copy.deepcopy(self.funds)
        try:
            self.ledger.append(self.funds.purchase(credits=price))
        except InsufficientFunds as refused:
            assert (refused.required, refused.available, self.funds) == (price, before.available_credits, before)
            return
        self.packages.append(Bought(UUID(int=1000 + len(self.packages)), total, price))

    @precondition(lambda self: self.packages)
    @rule(pick=st.integers(0, 99), hours=st.sampled_from([3, 30, 80]))
    def book_from_package(self, pick: int, hours: int) -> None:
        package = self.packages[pick % len(self.packages)]
        places = self._places(package)
        try:
            place = places.take()
        except ValidationError:
            assert places.remaining == 0
            return
        draft = terms(price_credits=places.share(place), starts_at=NOW + timedelta(hours=hours),
                      package_id=package.id, package_place=place)
        session, events = Session.request(session_id=UUID(int=len(self.sessions)), terms=draft, actor=MEMBER,
                                          funding=Funding.PACKAGE, now=NOW, policy=POLICY)
        assert not any(isinstance(event, FundsMoved) for event in events)  # paid at purchase: nothing is held
        self.sessions.append(session)

    @precondition(lambda self: self.packages)
    @rule(pick=st.integers(0, 99), sessions=st.integers(0, 4))
    def refund_package(self, pick: int, sessions: int) -> None:
        package = self.packages[pick % len(self.packages)]
        places = self._places(package)
        try:
            chosen, credits = places.refund(sessions)
        except ValidationError:
            assert not 0 < sessions <= places.remaining
            return
        self.ledger.append(self.funds.refund(credits=credits))
        package.refunded.update(chosen)
        package.refunded_credits += credits

    @rule(price=st.integers(0, 8), hours=st.sampled_from([3, 30, 80]))
    def propose(self, price: int, hours: int) -> None:
        draft = terms(price_credits=price, starts_at=NOW + timedelta(hours=hours))
        session, events = Session.propose(
            session_id=UUID(int=len(self.sessions)), terms=draft, actor=PROVIDER, now=NOW, policy=POLICY
        )
        self._apply(events)
        self.sessions.append(session)

    @precondition(lambda self: self.sessions)
    @rule(pick=st.integers(0, 99), free=st.booleans())
    def confirm(self, pick: int, free: bool) -> None:
        session = self._pick(pick, AWAITING)
        actor = MEMBER if session.awaiting_response_from is Party.MEMBER else PROVIDER
        funding = self._funding(session, free=free) if session.needs_funding else None
        if session.needs_funding and funding is None:
            return
        self._attempt(pick, lambda s: s.confirm(actor=actor, now=NOW + MIN, policy=POLICY, funding=funding), AWAITING)

    @precondition(lambda self: self.sessions)
    @rule(pick=st.integers(0, 99), by_member=st.booleans())
    def decline_or_withdraw(self, pick: int, by_member: bool) -> None:
        actor = MEMBER if by_member else PROVIDER
        self._attempt(pick, lambda s: s.decline(actor=actor, now=NOW + MIN, policy=POLICY, reason=DeclineReason.OTHER))
        self._attempt(pick, lambda s: s.withdraw(actor=actor, now=NOW + MIN, policy=POLICY))

    @precondition(lambda self: self.sessions)
    @rule(
        pick=st.integers(0, 99),
        actor=st.sampled_from([MEMBER, PROVIDER, ADMIN]),
        hours_before=st.sampled_from([1, 30, 60]),
        acknowledge=st.booleans(),
        refund=REFUNDS,
    )
    def cancel(
        self, pick: int, actor: Actor, hours_before: int, acknowledge: bool, refund: RefundChoice | None
    ) -> None:
        self._attempt(
            pick,
            lambda s: s.cancel(
                actor=actor,
                now=s.starts_at - timedelta(hours=hours_before),
                policy=POLICY,
                reason=CancellationReason.OTHER,
                acknowledge_late=acknowledge,
                refund=refund,
            ),
            AGREED,
        )

    @precondition(lambda self: self.sessions)
    @rule(pick=st.integers(0, 99), by_member=st.booleans())
    def new_time(self, pick: int, by_member: bool) -> None:
        actor, other = (MEMBER, PROVIDER) if by_member else (PROVIDER, MEMBER)
        later = NOW + timedelta(hours=100)
        self._attempt(
            pick, lambda s: s.propose_new_time(actor=actor, now=NOW + MIN, policy=POLICY, starts_at=later), AGREED
        )
        self._attempt(pick, lambda s: s.accept_new_time(actor=other, now=NOW + 2 * MIN, policy=POLICY), AGREED)

    @precondition(lambda self: self.sessions)
    @rule(pick=st.integers(0, 99))
    def complete(self, pick: int) -> None:
        self._attempt(pick, lambda s: s.start(actor=PROVIDER, now=s.starts_at, policy=POLICY), AGREED)
        self._attempt(pick, lambda s: s.end(actor=PROVIDER, now=s.ends_at, policy=POLICY), MEETING)

    @precondition(lambda self: self.sessions)
    @rule(pick=st.integers(0, 99), undo=st.booleans())
    def member_no_show(self, pick: int, undo: bool) -> None:
        self._attempt(pick, lambda s: s.mark_no_show(actor=PROVIDER, now=s.starts_at + 10 * MIN, policy=POLICY), AGREED)
        if undo:
            self._attempt(
                pick, lambda s: s.undo_no_show(actor=PROVIDER, now=s.starts_at + 20 * MIN, policy=POLICY), CLOSED
            )

    @precondition(lambda self: self.sessions)
    @rule(pick=st.integers(0, 99))
    def system_jobs(self, pick: int) -> None:
        self._attempt(pick, lambda s: s.expire(now=s.respond_by or NOW, policy=POLICY))
        self._attempt(pick, lambda s: s.expire_proposal(now=s.starts_at, policy=POLICY))
        self._attempt(pick, lambda s: s.provider_no_show(now=s.ends_at + 30 * MIN, policy=POLICY))

    @precondition(lambda self: self.sessions)
    @rule(pick=st.integers(0, 99), by_admin=st.booleans(), credits=st.none() | st.integers(-1, 9))
    def refund(self, pick: int, by_admin: bool, credits: int | None) -> None:
        actor = ADMIN if by_admin else PROVIDER
        self._attempt(pick, lambda s: s.refund(actor=actor, now=s.ends_at, policy=POLICY, credits=credits), CLOSED)

    @invariant()
    def balances_are_never_negative_and_equal_the_ledger(self) -> None:
        funds = self.funds
        assert min(funds.available_credits, funds.held_credits, funds.available_minutes, funds.held_minutes) >= 0
        assert Funds.from_ledger(self.ledger) == funds

    @invariant()
    def held_funds_are_exactly_those_of_open_sessions(self) -> None:
        assert self.funds.held_credits == sum(s.held_credits for s in self.sessions)
        assert self.funds.held_minutes == sum(s.held_sponsored_minutes for s in self.sessions)
        assert all(
            s.held_credits == s.held_sponsored_minutes == 0 for s in self.sessions if s.status not in OPEN_STATUSES
        )

    @invariant()
    def captured_minus_refunded_is_never_negative_and_credits_are_conserved(self) -> None:
        assert all(s.captured_credits - s.refunded_credits >= 0 for s in self.sessions)
        kept = sum(s.captured_credits - s.refunded_credits for s in self.sessions if s.funding is Funding.CREDITS)
        kept_minutes = sum(s.captured_sponsored_minutes - s.refunded_sponsored_minutes for s in self.sessions)
        in_packages = sum(p.price - p.refunded_credits for p in self.packages) - sum(
            s.refunded_credits for s in self.sessions if s.funding is Funding.PACKAGE)
        assert self.funds.available_credits + self.funds.held_credits + kept + in_packages == GRANTED_CREDITS
        assert self.funds.available_minutes + self.funds.held_minutes + kept_minutes == GRANTED_MINUTES


    @invariant()
    def places_are_never_negative_nor_above_the_total_and_refunds_are_their_share(self) -> None:
        for package in self.packages:
            places = self._places(package)
            held = [s.package_place for s in self.sessions if s.package_id == package.id and s.holds_package_place]
            assert len(held) == len(set(held))  # no place is held by two sessions
            assert not places.taken & package.refunded
            assert 0 <= places.remaining == package.total - len(places.taken) - len(package.refunded)
            assert package.refunded_credits == sum(places.share(place) for place in package.refunded)
        for session in self.sessions:
            if session.funding is Funding.PACKAGE:
                assert session.held_credits == session.held_sponsored_minutes == 0
                assert session.captured_credits in (0, session.price_credits)


Bookings.TestCase.settings = settings(max_examples=100, stateful_step_count=30, deadline=None)
TestBookings = Bookings.TestCase


@given(price=st.integers(1, 1_000_000), total=st.integers(2, 50))
def test_a_packages_place_shares_are_whole_credits_at_most_one_apart_adding_up_to_its_price(
        price: int, total: int) -> None:
    shares = [place_share(price, total, place) for place in range(total)]
    assert sum(shares) == price
    assert max(shares) - min(shares) <= 1
