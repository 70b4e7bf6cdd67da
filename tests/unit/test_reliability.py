"""A provider's cancellation streak, flag, deactivation and response times."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sessions_gql.domain.enums import CancellationReason, NotificationKind, Party
from sessions_gql.domain.events import (
    PartyNotified,
    ProviderCancelled,
    ProviderDeactivationRequested,
    ProviderFlagged,
)
from sessions_gql.domain.policy import BookingPolicy
from sessions_gql.domain.reliability import ProviderReliability
from tests.unit.test_session_transitions import POLICY, PROVIDER, START, confirmed

FLAGGED = PartyNotified(Party.PROVIDER, NotificationKind.ACCOUNT_FLAGGED)
DEACTIVATED = PartyNotified(Party.PROVIDER, NotificationKind.ACCOUNT_DEACTIVATED)


def test_the_third_cancellation_in_a_row_flags_and_the_fifth_asks_to_deactivate() -> None:
    reliability = ProviderReliability()
    answers = [reliability.record_cancellation(late=False, policy=POLICY) for _ in range(6)]
    assert answers == [
        [],
        [],
        [ProviderFlagged(3), FLAGGED],
        [],
        [ProviderDeactivationRequested(5), DEACTIVATED],
        [ProviderDeactivationRequested(6), DEACTIVATED],
    ]
    assert (reliability.consecutive_cancellations, reliability.flagged, reliability.late_cancellations) == (6, True, 0)


def test_late_cancellations_are_counted_apart() -> None:
    reliability = ProviderReliability()
    reliability.record_cancellation(late=True, policy=POLICY)
    reliability.record_cancellation(late=False, policy=POLICY)
    assert (reliability.late_cancellations, reliability.consecutive_cancellations) == (1, 2)


def test_a_completed_session_resets_the_streak_and_lowers_the_flag() -> None:
    reliability = ProviderReliability()
    for _ in range(3):
        reliability.record_cancellation(late=True, policy=POLICY)
    reliability.record_completed()
    assert (reliability.consecutive_cancellations, reliability.flagged, reliability.late_cancellations) == (0, False, 3)
    assert reliability.record_cancellation(late=False, policy=POLICY) == []


def test_the_thresholds_come_from_the_policy() -> None:
    strict = BookingPolicy(flag_after_cancellations=1, deactivate_after_cancellations=2)
    reliability = ProviderReliability()
    assert reliability.record_cancellation(late=False, policy=strict) == [ProviderFlagged(1), FLAGGED]
    assert reliability.record_cancellation(late=False, policy=strict) == [ProviderDeactivationRequested(2), DEACTIVATED]


def test_response_times_average_and_late_ones_pass_the_three_hour_target() -> None:
    reliability = ProviderReliability()
    assert reliability.average_response_minutes is None
    for minutes in (30.0, 180.0, 181.0):
        reliability.record_response(minutes=minutes, policy=POLICY)
    assert (reliability.response_count, reliability.late_responses) == (3, 1)
    assert reliability.average_response_minutes == pytest.approx(391.0 / 3)


def test_five_provider_cancellations_of_sessions_deactivate_the_provider() -> None:
    reliability = ProviderReliability()
    answers = []
    for _ in range(5):
        session = confirmed()
        events = session.cancel(
            actor=PROVIDER, now=START - timedelta(hours=72), policy=POLICY, reason=CancellationReason.ILLNESS
        )
        for event in events:
            if isinstance(event, ProviderCancelled):
                answers += reliability.record_cancellation(late=event.late, policy=POLICY)
    assert answers == [ProviderFlagged(3), FLAGGED, ProviderDeactivationRequested(5), DEACTIVATED]
