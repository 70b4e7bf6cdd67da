"""The late rules of cancelling a confirmed session: windows, acknowledgement, who pays, refund choices."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from sessions_gql.domain.credits import LedgerMove
from sessions_gql.domain.enums import (
    CancellationReason,
    Funding,
    LedgerEntryKind,
    Party,
    PaymentStatus,
    RefundKind,
    Role,
)
from sessions_gql.domain.errors import LateCancellationUnacknowledged, ValidationError
from sessions_gql.domain.events import (
    FundsMoved,
    PartyNotified,
    ProviderCancelled,
    TimelineRecorded,
    VideoRoomRequested,
)
from sessions_gql.domain.session_values import Cancellation, RefundChoice
from tests.unit.test_session_transitions import (
    ADMIN,
    END,
    MEMBER,
    POLICY,
    PROVIDER,
    START,
    H,
    N,
    S,
    T,
    confirmed,
    moved,
    refused,
    rescheduling,
)

ILLNESS = CancellationReason.ILLNESS
ONE_SECOND = timedelta(seconds=1)


def test_a_member_cancelling_24_hours_or_more_before_gets_everything_back() -> None:
    session = confirmed()
    now = START - 24 * H
    events = session.cancel(actor=MEMBER, now=now, policy=POLICY, reason=CancellationReason.SCHEDULE_CONFLICT)
    assert events == [
        TimelineRecorded(T.CANCELLED_BY_MEMBER, MEMBER, S.CONFIRMED, S.CANCELLED, "SCHEDULE_CONFLICT"),
        TimelineRecorded(T.FUNDS_RETURNED, MEMBER, credits=5),
        moved(LedgerEntryKind.RELEASE, 5),
        VideoRoomRequested("cancel"),
        PartyNotified(Party.PROVIDER, N.SESSION_CANCELLED),
    ]
    assert session.cancellation == Cancellation(Role.MEMBER, CancellationReason.SCHEDULE_CONFLICT, None, now, False)
    assert (session.payment_status, session.held_credits, session.provider_earnings) == (
        PaymentStatus.RETURNED,
        0,
        Decimal("0.00"),
    )
    assert (session.reminders_due(), session.held_intervals()) == ([], [])


def test_a_late_member_cancellation_without_acknowledgement_states_window_consequence_and_credits() -> None:
    error = refused(
        confirmed(),
        LateCancellationUnacknowledged,
        lambda s: s.cancel(actor=MEMBER, now=START - 24 * H + ONE_SECOND, policy=POLICY),
    )
    assert isinstance(error, LateCancellationUnacknowledged)
    assert (error.window_hours, error.credits_at_stake, error.field) == (24, 5, "acknowledgeLateCancellation")
    assert error.consequence == (
        "Cancelling less than 24 hours before the start: "
        "the 5 credits held for this session will not be returned and the provider is paid."
    )


def test_an_acknowledged_late_member_cancellation_captures_the_credits_and_the_provider_earns() -> None:
    session = confirmed()
    events = session.cancel(actor=MEMBER, now=START - 2 * H, policy=POLICY, acknowledge_late=True, note="sorry")
    assert events == [
        TimelineRecorded(T.CANCELLED_BY_MEMBER, MEMBER, S.CONFIRMED, S.CANCELLED, note="sorry"),
        TimelineRecorded(T.FUNDS_CAPTURED, MEMBER, credits=5),
        moved(LedgerEntryKind.CAPTURE, 5),
        VideoRoomRequested("cancel"),
        PartyNotified(Party.PROVIDER, N.SESSION_CANCELLED),
    ]
    assert session.cancellation is not None and session.cancellation.late
    assert (session.payment_status, session.captured_credits, session.provider_earnings) == (
        PaymentStatus.CAPTURED,
        5,
        Decimal("45.00"),
    )


def test_the_late_window_counts_from_the_original_start_while_a_new_time_is_pending() -> None:
    session = rescheduling()
    refused(
        session,
        LateCancellationUnacknowledged,
        lambda s: s.cancel(actor=MEMBER, now=START - 23 * H, policy=POLICY),
    )
    session.cancel(actor=MEMBER, now=START - 23 * H, policy=POLICY, acknowledge_late=True)
    assert (session.status, session.proposal, session.payment_status, session.held_intervals()) == (
        S.CANCELLED,
        None,
        PaymentStatus.CAPTURED,
        [],
    )


def test_a_member_may_not_choose_a_refund() -> None:
    error = refused(
        confirmed(),
        ValidationError,
        lambda s: s.cancel(actor=MEMBER, now=START - 48 * H, policy=POLICY, refund=RefundChoice(RefundKind.FULL)),
    )
    assert error.field == "refund"


def test_a_late_sponsored_cancellation_uses_the_sponsored_minutes() -> None:
    session = confirmed(Funding.SPONSORED)
    error = refused(
        session, LateCancellationUnacknowledged, lambda s: s.cancel(actor=MEMBER, now=START - H, policy=POLICY)
    )
    assert isinstance(error, LateCancellationUnacknowledged)
    assert error.consequence == (
        "Cancelling less than 24 hours before the start: "
        "the 60 sponsored minutes held for this session will not be returned and the provider is paid."
    )
    events = session.cancel(actor=MEMBER, now=START - H, policy=POLICY, acknowledge_late=True)
    assert events[1:3] == [
        TimelineRecorded(T.FUNDS_CAPTURED, MEMBER, credits=5),
        moved(LedgerEntryKind.CAPTURE, 0, 60, Funding.SPONSORED),
    ]


def test_a_late_free_consultation_cancellation_still_needs_acknowledging_and_charges_nothing() -> None:
    session = confirmed(Funding.FREE_CONSULTATION)
    error = refused(
        session, LateCancellationUnacknowledged, lambda s: s.cancel(actor=MEMBER, now=START - H, policy=POLICY)
    )
    assert isinstance(error, LateCancellationUnacknowledged)
    assert (error.credits_at_stake, error.consequence) == (
        0,
        "Cancelling less than 24 hours before the start: nothing is charged.",
    )
    assert [type(e) for e in session.cancel(actor=MEMBER, now=START - H, policy=POLICY, acknowledge_late=True)] == [
        TimelineRecorded,
        VideoRoomRequested,
        PartyNotified,
    ]


def test_a_provider_must_give_a_reason() -> None:
    error = refused(confirmed(), ValidationError, lambda s: s.cancel(actor=PROVIDER, now=START - 72 * H, policy=POLICY))
    assert error.field == "reason"


def test_a_provider_cancelling_48_hours_or_more_before_returns_everything_and_counts_in_the_streak() -> None:
    session = confirmed()
    events = session.cancel(actor=PROVIDER, now=START - 48 * H, policy=POLICY, reason=ILLNESS)
    assert events == [
        TimelineRecorded(T.CANCELLED_BY_PROVIDER, PROVIDER, S.CONFIRMED, S.CANCELLED, "ILLNESS"),
        TimelineRecorded(T.FUNDS_RETURNED, PROVIDER, credits=5),
        moved(LedgerEntryKind.RELEASE, 5),
        VideoRoomRequested("cancel"),
        PartyNotified(Party.MEMBER, N.SESSION_CANCELLED),
        ProviderCancelled(late=False),
    ]


def test_a_late_provider_cancellation_without_acknowledgement_is_refused() -> None:
    error = refused(
        confirmed(),
        LateCancellationUnacknowledged,
        lambda s: s.cancel(actor=PROVIDER, now=START - 48 * H + ONE_SECOND, policy=POLICY, reason=ILLNESS),
    )
    assert isinstance(error, LateCancellationUnacknowledged)
    assert (error.window_hours, error.credits_at_stake) == (48, 5)
    assert error.consequence == (
        "Cancelling less than 48 hours before the start: it counts as a late cancellation against your "
        "reliability, and the member gets the 5 credits held for this session back."
    )


@pytest.mark.parametrize(
    ("refund", "outcome"),
    [
        (RefundChoice(RefundKind.NONE), "the member is not refunded"),
        (RefundChoice(RefundKind.PARTIAL, 2), "the member gets 2 of 5 credits back"),
    ],
)
def test_the_late_provider_consequence_follows_the_refund_choice(refund: RefundChoice, outcome: str) -> None:
    error = refused(
        confirmed(),
        LateCancellationUnacknowledged,
        lambda s: s.cancel(actor=PROVIDER, now=START - H, policy=POLICY, reason=ILLNESS, refund=refund),
    )
    assert isinstance(error, LateCancellationUnacknowledged)
    assert error.consequence.endswith(f"reliability, and {outcome}.")


def test_an_acknowledged_late_provider_cancellation_returns_the_credits_and_counts_late() -> None:
    session = confirmed()
    events = session.cancel(actor=PROVIDER, now=START - 47 * H, policy=POLICY, reason=ILLNESS, acknowledge_late=True)
    assert events[1:3] == [TimelineRecorded(T.FUNDS_RETURNED, PROVIDER, credits=5), moved(LedgerEntryKind.RELEASE, 5)]
    assert events[-1] == ProviderCancelled(late=True)
    assert session.cancellation is not None and session.cancellation.late


def test_a_partial_refund_on_cancel_captures_then_refunds_the_part_given_back() -> None:
    session = confirmed()
    events = session.cancel(
        actor=PROVIDER,
        now=START - 72 * H,
        policy=POLICY,
        reason=CancellationReason.PROVIDER_REQUEST,
        refund=RefundChoice(RefundKind.PARTIAL, 2),
    )
    assert events == [
        TimelineRecorded(T.CANCELLED_BY_PROVIDER, PROVIDER, S.CONFIRMED, S.CANCELLED, "PROVIDER_REQUEST"),
        TimelineRecorded(T.FUNDS_CAPTURED, PROVIDER, credits=5),
        moved(LedgerEntryKind.CAPTURE, 5),
        TimelineRecorded(T.REFUNDED, PROVIDER, credits=2),
        moved(LedgerEntryKind.REFUND, 2),
        VideoRoomRequested("cancel"),
        PartyNotified(Party.MEMBER, N.SESSION_CANCELLED),
        ProviderCancelled(late=False),
    ]
    assert (session.payment_status, session.refundable_credits, session.provider_earnings) == (
        PaymentStatus.PARTIALLY_REFUNDED,
        3,
        Decimal("27.00"),
    )


def test_no_refund_on_cancel_captures_everything_and_can_be_refunded_later() -> None:
    session = confirmed()
    session.cancel(
        actor=PROVIDER, now=START - 72 * H, policy=POLICY, reason=ILLNESS, refund=RefundChoice(RefundKind.NONE)
    )
    assert (session.payment_status, session.provider_earnings) == (PaymentStatus.CAPTURED, Decimal("45.00"))
    assert session.refund(actor=ADMIN, now=END, policy=POLICY)[1] == FundsMoved(
        LedgerMove(LedgerEntryKind.REFUND, 5), Funding.CREDITS
    )


@pytest.mark.parametrize(
    "refund",
    [
        RefundChoice(RefundKind.PARTIAL),
        RefundChoice(RefundKind.PARTIAL, 0),
        RefundChoice(RefundKind.PARTIAL, 6),
        RefundChoice(RefundKind.FULL, 2),
        RefundChoice(RefundKind.NONE, 1),
    ],
    ids=["partial-without-credits", "partial-zero", "partial-too-many", "full-with-credits", "none-with-credits"],
)
def test_an_invalid_refund_choice_is_refused(refund: RefundChoice) -> None:
    error = refused(
        confirmed(),
        ValidationError,
        lambda s: s.cancel(actor=PROVIDER, now=START - 72 * H, policy=POLICY, reason=ILLNESS, refund=refund),
    )
    assert error.field == "refund"


def test_an_admin_cancels_late_without_acknowledging_nor_counting_against_the_provider() -> None:
    session = confirmed()
    events = session.cancel(actor=ADMIN, now=START - H, policy=POLICY)
    assert events == [
        TimelineRecorded(T.CANCELLED_BY_ADMIN, ADMIN, S.CONFIRMED, S.CANCELLED),
        TimelineRecorded(T.FUNDS_RETURNED, ADMIN, credits=5),
        moved(LedgerEntryKind.RELEASE, 5),
        VideoRoomRequested("cancel"),
        PartyNotified(Party.MEMBER, N.SESSION_CANCELLED),
        PartyNotified(Party.PROVIDER, N.SESSION_CANCELLED),
    ]
    assert session.cancellation == Cancellation(Role.ADMIN, None, None, START - H, True)


def test_an_admin_may_keep_the_credits_of_a_late_cancellation() -> None:
    session = confirmed()
    session.cancel(actor=ADMIN, now=START - H, policy=POLICY, refund=RefundChoice(RefundKind.NONE))
    assert (session.payment_status, session.captured_credits) == (PaymentStatus.CAPTURED, 5)
