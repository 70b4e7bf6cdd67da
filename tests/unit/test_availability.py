"""Unit tests for sessions_gql.domain.availability: pure, no database, exact UTC outcomes."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from sessions_gql.domain.availability import (
    AvailabilityPolicy,
    Override,
    WeeklyRule,
    available_slots,
    free_intervals,
    slot_is_bookable,
    validate_policy_numbers,
    validate_time_zone,
    validate_weekly_rules,
)
from sessions_gql.domain.enums import OverrideKind, Weekday
from sessions_gql.domain.errors import Interval, ValidationError

LONDON = "Europe/London"
NEW_YORK = "America/New_York"
MON, SAT, SUN = Weekday.MONDAY, Weekday.SATURDAY, Weekday.SUNDAY
AVAILABLE, BLOCKED = OverrideKind.AVAILABLE, OverrideKind.BLOCKED


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def iv(start: datetime, end: datetime) -> Interval:
    return Interval(start, end)


def rule(weekday: Weekday, start: str, end: str) -> WeeklyRule:
    return WeeklyRule(weekday, time.fromisoformat(start), time.fromisoformat(end))


def policy(
    zone: str, *rules: WeeklyRule, overrides: tuple[Override, ...] = (), **numbers: int
) -> AvailabilityPolicy:
    return AvailabilityPolicy(time_zone=zone, weekly_rules=rules, overrides=overrides, **numbers)


MONDAY_MORNING = policy(LONDON, rule(MON, "09:00", "12:00"), minimum_notice_minutes=0)
JAN_5 = iv(utc(2026, 1, 5), utc(2026, 1, 6))  # a winter Monday
EARLY = utc(2026, 1, 1)  # a `now` well before the windows used below


def starts(slots: list[Interval]) -> list[datetime]:
    return [s.starts_at for s in slots]


# --- free_intervals: weekly rules and DST ----------------------------------------------------------


def test_monday_london_rule_is_0900_utc_in_winter_and_0800_utc_in_summer() -> None:
    summer = iv(utc(2026, 7, 6), utc(2026, 7, 7))
    assert free_intervals(MONDAY_MORNING, window=JAN_5) == [iv(utc(2026, 1, 5, 9), utc(2026, 1, 5, 12))]
    assert free_intervals(MONDAY_MORNING, window=summer) == [iv(utc(2026, 7, 6, 8), utc(2026, 7, 6, 11))]


def test_london_rule_keeps_local_0900_across_spring_forward_week() -> None:
    window = iv(utc(2026, 3, 23), utc(2026, 3, 31))
    assert free_intervals(MONDAY_MORNING, window=window) == [
        iv(utc(2026, 3, 23, 9), utc(2026, 3, 23, 12)),
        iv(utc(2026, 3, 30, 8), utc(2026, 3, 30, 11)),
    ]


def test_london_rule_keeps_local_0900_across_fall_back_week() -> None:
    window = iv(utc(2026, 10, 19), utc(2026, 10, 27))
    assert free_intervals(MONDAY_MORNING, window=window) == [
        iv(utc(2026, 10, 19, 8), utc(2026, 10, 19, 11)),
        iv(utc(2026, 10, 26, 9), utc(2026, 10, 26, 12)),
    ]


def test_new_york_sunday_rule_on_both_transition_days_stays_0900_local() -> None:
    sundays = policy(NEW_YORK, rule(SUN, "09:00", "10:00"))
    spring = free_intervals(sundays, window=iv(utc(2026, 3, 1), utc(2026, 3, 9)))
    fall = free_intervals(sundays, window=iv(utc(2026, 10, 25), utc(2026, 11, 2)))
    assert spring == [
        iv(utc(2026, 3, 1, 14), utc(2026, 3, 1, 15)),
        iv(utc(2026, 3, 8, 13), utc(2026, 3, 8, 14)),
    ]
    assert fall == [
        iv(utc(2026, 10, 25, 13), utc(2026, 10, 25, 14)),
        iv(utc(2026, 11, 1, 14), utc(2026, 11, 1, 15)),
    ]


@pytest.mark.parametrize(
    ("zone", "day", "start", "end", "expected"),
    [
        # London 2026-03-29: 01:00-02:00 local does not exist; the gap ends at 01:00Z.
        (LONDON, 29, "01:30", "03:00", [iv(utc(2026, 3, 29, 1), utc(2026, 3, 29, 2))]),
        (LONDON, 29, "00:30", "01:30", [iv(utc(2026, 3, 29, 0, 30), utc(2026, 3, 29, 1))]),
        (LONDON, 29, "01:15", "01:45", []),
        # New York 2026-03-08: 02:00-03:00 local does not exist; the gap ends at 07:00Z.
        (NEW_YORK, 8, "02:30", "04:00", [iv(utc(2026, 3, 8, 7), utc(2026, 3, 8, 8))]),
    ],
)
def test_spring_forward_skips_the_nonexistent_wall_times(
    zone: str, day: int, start: str, end: str, expected: list[Interval]
) -> None:
    sunday = policy(zone, rule(SUN, start, end))
    assert free_intervals(sunday, window=iv(utc(2026, 3, day - 1), utc(2026, 3, day + 1))) == expected


@pytest.mark.parametrize(
    ("zone", "month", "day", "start", "end", "expected"),
    [
        # London 2026-10-25: 01:00-02:00 local happens twice; fold=0 is the BST (first) one.
        (LONDON, 10, 25, "01:30", "03:00", [iv(utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 3))]),
        (LONDON, 10, 25, "00:00", "01:30", [iv(utc(2026, 10, 24, 23), utc(2026, 10, 25, 0, 30))]),
        # New York 2026-11-01: 01:00-02:00 local happens twice; fold=0 is the EDT (first) one.
        (NEW_YORK, 11, 1, "01:00", "01:30", [iv(utc(2026, 11, 1, 5), utc(2026, 11, 1, 5, 30))]),
        (NEW_YORK, 11, 1, "00:00", "02:00", [iv(utc(2026, 11, 1, 4), utc(2026, 11, 1, 7))]),
    ],
)
def test_fall_back_reads_ambiguous_wall_times_as_first_occurrence(
    zone: str, month: int, day: int, start: str, end: str, expected: list[Interval]
) -> None:
    window = iv(utc(2026, month, day) - timedelta(days=1), utc(2026, month, day) + timedelta(days=1))
    assert free_intervals(policy(zone, rule(SUN, start, end)), window=window) == expected


def test_rule_ending_at_midnight_runs_to_end_of_day_and_joins_next_day() -> None:
    late = policy(LONDON, rule(Weekday.FRIDAY, "22:00", "00:00"), rule(SAT, "00:00", "01:00"))
    window = iv(utc(2026, 1, 9), utc(2026, 1, 11))
    assert free_intervals(late, window=window) == [iv(utc(2026, 1, 9, 22), utc(2026, 1, 10, 1))]


def test_whole_day_rule_on_spring_forward_sunday_is_23_hours() -> None:
    all_sunday = policy(LONDON, rule(SUN, "00:00", "00:00"))
    window = iv(utc(2026, 3, 28), utc(2026, 3, 31))
    assert free_intervals(all_sunday, window=window) == [iv(utc(2026, 3, 29, 0), utc(2026, 3, 29, 23))]


def test_rule_crossing_window_edges_is_clipped() -> None:
    window = iv(utc(2026, 1, 5, 10, 30), utc(2026, 1, 5, 11, 15))
    assert free_intervals(MONDAY_MORNING, window=window) == [window]


def test_window_in_any_offset_gives_utc_output() -> None:
    plus_five = timezone(timedelta(hours=5))
    window = iv(datetime(2026, 1, 5, 15, tzinfo=plus_five), datetime(2026, 1, 5, 16, tzinfo=plus_five))
    result = free_intervals(MONDAY_MORNING, window=window)
    assert result == [iv(utc(2026, 1, 5, 10), utc(2026, 1, 5, 11))]
    assert [(i.starts_at.tzinfo, i.ends_at.tzinfo) for i in result] == [(UTC, UTC)]


def test_empty_or_reversed_window_has_no_free_time() -> None:
    assert free_intervals(MONDAY_MORNING, window=iv(utc(2026, 1, 5, 12), utc(2026, 1, 5, 9))) == []


# --- free_intervals: overrides -------------------------------------------------------------------


def with_overrides(*overrides: Override) -> AvailabilityPolicy:
    return policy(LONDON, rule(MON, "09:00", "12:00"), overrides=overrides, minimum_notice_minutes=0)


def test_available_override_outside_any_rule_adds_free_time() -> None:
    extra = Override(AVAILABLE, utc(2026, 1, 10, 14), utc(2026, 1, 10, 16))
    window = iv(utc(2026, 1, 5), utc(2026, 1, 12))
    assert free_intervals(with_overrides(extra), window=window) == [
        iv(utc(2026, 1, 5, 9), utc(2026, 1, 5, 12)),
        iv(utc(2026, 1, 10, 14), utc(2026, 1, 10, 16)),
    ]


def test_available_override_straddling_midnight_and_given_in_an_offset() -> None:
    minus_three = timezone(timedelta(hours=-3))
    night = Override(
        AVAILABLE,
        datetime(2026, 1, 10, 19, tzinfo=minus_three),
        datetime(2026, 1, 10, 23, tzinfo=minus_three),
    )
    window = iv(utc(2026, 1, 10), utc(2026, 1, 12))
    assert free_intervals(with_overrides(night), window=window) == [
        iv(utc(2026, 1, 10, 22), utc(2026, 1, 11, 2))
    ]


def test_available_override_touching_a_rule_merges_with_it() -> None:
    early = Override(AVAILABLE, utc(2026, 1, 5, 8), utc(2026, 1, 5, 9))
    assert free_intervals(with_overrides(early), window=JAN_5) == [
        iv(utc(2026, 1, 5, 8), utc(2026, 1, 5, 12))
    ]


def test_blocked_override_cuts_a_hole_in_a_rule() -> None:
    lunch = Override(BLOCKED, utc(2026, 1, 5, 10), utc(2026, 1, 5, 10, 30))
    assert free_intervals(with_overrides(lunch), window=JAN_5) == [
        iv(utc(2026, 1, 5, 9), utc(2026, 1, 5, 10)),
        iv(utc(2026, 1, 5, 10, 30), utc(2026, 1, 5, 12)),
    ]


def test_blocked_override_straddling_days_removes_all_it_covers() -> None:
    two_days = policy(
        LONDON,
        rule(MON, "09:00", "12:00"),
        rule(Weekday.TUESDAY, "09:00", "12:00"),
        overrides=(Override(BLOCKED, utc(2026, 1, 4, 20), utc(2026, 1, 6, 10)),),
    )
    window = iv(utc(2026, 1, 5), utc(2026, 1, 7))
    assert free_intervals(two_days, window=window) == [iv(utc(2026, 1, 6, 10), utc(2026, 1, 6, 12))]


def test_blocked_override_wins_over_available_override() -> None:
    extra = Override(AVAILABLE, utc(2026, 1, 5, 12), utc(2026, 1, 5, 14))
    block = Override(BLOCKED, utc(2026, 1, 5, 11), utc(2026, 1, 5, 13))
    assert free_intervals(with_overrides(extra, block), window=JAN_5) == [
        iv(utc(2026, 1, 5, 9), utc(2026, 1, 5, 11)),
        iv(utc(2026, 1, 5, 13), utc(2026, 1, 5, 14)),
    ]


# --- available_slots -------------------------------------------------------------------------------


def test_slots_step_15_by_default_for_multiples_of_15() -> None:
    slots = available_slots(MONDAY_MORNING, duration_minutes=60, window=JAN_5, now=EARLY, busy=[])
    assert starts(slots) == [utc(2026, 1, 5, 9) + timedelta(minutes=15 * k) for k in range(9)]
    assert slots[-1] == iv(utc(2026, 1, 5, 11), utc(2026, 1, 5, 12))
    assert {s.starts_at.tzinfo for s in slots} == {UTC}


def test_slots_step_5_by_default_for_other_durations() -> None:
    slots = available_slots(MONDAY_MORNING, duration_minutes=50, window=JAN_5, now=EARLY, busy=[])
    assert starts(slots) == [utc(2026, 1, 5, 9) + timedelta(minutes=5 * k) for k in range(27)]


def test_slots_explicit_step() -> None:
    slots = available_slots(
        MONDAY_MORNING, duration_minutes=60, window=JAN_5, now=EARLY, busy=[], step_minutes=60
    )
    assert starts(slots) == [utc(2026, 1, 5, 9), utc(2026, 1, 5, 10), utc(2026, 1, 5, 11)]


def test_slot_grid_is_anchored_at_the_free_interval_start() -> None:
    early = Override(AVAILABLE, utc(2026, 1, 5, 8, 50), utc(2026, 1, 5, 9))
    slots = available_slots(with_overrides(early), duration_minutes=60, window=JAN_5, now=EARLY, busy=[])
    assert starts(slots) == [utc(2026, 1, 5, 8, 50) + timedelta(minutes=15 * k) for k in range(9)]


def test_window_starting_mid_interval_keeps_the_grid_and_lists_starts_inside_it() -> None:
    window = iv(utc(2026, 1, 5, 9, 7), utc(2026, 1, 5, 10))
    slots = available_slots(MONDAY_MORNING, duration_minutes=60, window=window, now=EARLY, busy=[])
    assert starts(slots) == [utc(2026, 1, 5, 9, 15), utc(2026, 1, 5, 9, 30), utc(2026, 1, 5, 9, 45)]
    assert slots[-1].ends_at == utc(2026, 1, 5, 10, 45)


def test_slots_across_spring_forward_keep_local_times() -> None:
    window = iv(utc(2026, 3, 23), utc(2026, 3, 31))
    slots = available_slots(
        MONDAY_MORNING, duration_minutes=60, window=window, now=EARLY, busy=[], step_minutes=60
    )
    assert starts(slots) == [
        utc(2026, 3, 23, 9),
        utc(2026, 3, 23, 10),
        utc(2026, 3, 23, 11),
        utc(2026, 3, 30, 8),
        utc(2026, 3, 30, 9),
        utc(2026, 3, 30, 10),
    ]


def test_duration_longer_than_any_free_interval_gives_no_slots() -> None:
    assert available_slots(MONDAY_MORNING, duration_minutes=240, window=JAN_5, now=EARLY, busy=[]) == []


def test_busy_interval_removes_overlapping_slots() -> None:
    busy = [iv(utc(2026, 1, 5, 10), utc(2026, 1, 5, 11))]
    slots = available_slots(MONDAY_MORNING, duration_minutes=30, window=JAN_5, now=EARLY, busy=busy)
    assert starts(slots) == [
        utc(2026, 1, 5, 9),
        utc(2026, 1, 5, 9, 15),
        utc(2026, 1, 5, 9, 30),
        utc(2026, 1, 5, 11),
        utc(2026, 1, 5, 11, 15),
        utc(2026, 1, 5, 11, 30),
    ]


def test_buffer_widens_busy_time_on_both_sides() -> None:
    buffered = policy(LONDON, rule(MON, "09:00", "12:00"), buffer_minutes=15, minimum_notice_minutes=0)
    busy = [iv(utc(2026, 1, 5, 10), utc(2026, 1, 5, 11))]
    slots = available_slots(buffered, duration_minutes=30, window=JAN_5, now=EARLY, busy=busy)
    assert starts(slots) == [
        utc(2026, 1, 5, 9),
        utc(2026, 1, 5, 9, 15),
        utc(2026, 1, 5, 11, 15),
        utc(2026, 1, 5, 11, 30),
    ]


def test_off_grid_busy_interval_in_another_offset_skips_to_next_grid_point() -> None:
    plus_one = timezone(timedelta(hours=1))
    busy = [iv(datetime(2026, 1, 5, 10, 5, tzinfo=plus_one), datetime(2026, 1, 5, 10, 20, tzinfo=plus_one))]
    slots = available_slots(MONDAY_MORNING, duration_minutes=90, window=JAN_5, now=EARLY, busy=busy)
    assert starts(slots) == [
        utc(2026, 1, 5, 9, 30),
        utc(2026, 1, 5, 9, 45),
        utc(2026, 1, 5, 10, 0),
        utc(2026, 1, 5, 10, 15),
        utc(2026, 1, 5, 10, 30),
    ]


def test_minimum_notice_drops_starts_too_close_to_now() -> None:
    noticed = policy(LONDON, rule(MON, "09:00", "12:00"), minimum_notice_minutes=120)
    now = utc(2026, 1, 5, 8, 10)
    slots = available_slots(noticed, duration_minutes=60, window=JAN_5, now=now, busy=[])
    assert starts(slots) == [
        utc(2026, 1, 5, 10, 15),
        utc(2026, 1, 5, 10, 30),
        utc(2026, 1, 5, 10, 45),
        utc(2026, 1, 5, 11),
    ]


def test_horizon_drops_starts_at_or_after_now_plus_horizon() -> None:
    short = policy(LONDON, rule(MON, "09:00", "12:00"), minimum_notice_minutes=0, horizon_days=1)
    now = utc(2026, 1, 4, 10, 15)
    slots = available_slots(short, duration_minutes=60, window=JAN_5, now=now, busy=[])
    assert starts(slots) == [
        utc(2026, 1, 5, 9),
        utc(2026, 1, 5, 9, 15),
        utc(2026, 1, 5, 9, 30),
        utc(2026, 1, 5, 9, 45),
        utc(2026, 1, 5, 10),
    ]


def test_ninety_day_window_of_weekday_rules_is_complete() -> None:
    weekdays = [Weekday.MONDAY, Weekday.TUESDAY, Weekday.WEDNESDAY, Weekday.THURSDAY, Weekday.FRIDAY]
    office = policy(LONDON, *(rule(d, "09:00", "17:00") for d in weekdays), minimum_notice_minutes=0)
    window = iv(utc(2026, 3, 2), utc(2026, 5, 31))
    slots = available_slots(
        office, duration_minutes=60, window=window, now=utc(2026, 3, 1), busy=[], step_minutes=60
    )
    assert len(slots) == 13 * 5 * 8
    assert slots[:2] == [
        iv(utc(2026, 3, 2, 9), utc(2026, 3, 2, 10)),
        iv(utc(2026, 3, 2, 10), utc(2026, 3, 2, 11)),
    ]
    assert slots[-1] == iv(utc(2026, 5, 29, 15), utc(2026, 5, 29, 16))
    assert starts(slots) == sorted(set(starts(slots)))


def test_ninety_day_window_of_whole_days_at_five_minute_steps() -> None:
    always = policy(
        "UTC", *(rule(d, "00:00", "00:00") for d in Weekday), minimum_notice_minutes=0, horizon_days=365
    )
    window = iv(utc(2026, 1, 1), utc(2026, 4, 1))
    slots = available_slots(
        always, duration_minutes=25, window=window, now=EARLY - timedelta(days=1), busy=[]
    )
    assert len(slots) == 90 * 24 * 12
    assert slots[0].starts_at == utc(2026, 1, 1) and slots[-1].starts_at == utc(2026, 3, 31, 23, 55)


def test_non_positive_duration_or_step_is_rejected() -> None:
    with pytest.raises(ValidationError) as duration:
        available_slots(MONDAY_MORNING, duration_minutes=0, window=JAN_5, now=EARLY, busy=[])
    with pytest.raises(ValidationError) as step:
        available_slots(MONDAY_MORNING, duration_minutes=30, window=JAN_5, now=EARLY, busy=[], step_minutes=0)
    assert (duration.value.field, step.value.field) == ("durationMinutes", "stepMinutes")


def test_naive_datetimes_are_a_programming_error() -> None:
    naive = iv(datetime(2026, 1, 5), datetime(2026, 1, 6))
    with pytest.raises(ValueError, match="aware"):
        free_intervals(MONDAY_MORNING, window=naive)


# --- slot_is_bookable ----------------------------------------------------------------------------


BOOKABLE = policy(
    LONDON,
    rule(MON, "09:00", "12:00"),
    rule(MON, "12:00", "14:00"),
    overrides=(
        Override(BLOCKED, utc(2026, 1, 5, 13), utc(2026, 1, 5, 14)),
        Override(AVAILABLE, utc(2026, 1, 10, 10), utc(2026, 1, 10, 11)),
    ),
    buffer_minutes=15,
    minimum_notice_minutes=120,
    horizon_days=30,
)
BUSY = [iv(utc(2026, 1, 5, 10), utc(2026, 1, 5, 11))]
NOW = utc(2026, 1, 4, 12)


@pytest.mark.parametrize(
    ("start", "end", "now", "expected"),
    [
        (utc(2026, 1, 5, 9), utc(2026, 1, 5, 9, 45), NOW, None),
        (utc(2026, 1, 5, 9, 7), utc(2026, 1, 5, 9, 37), NOW, None),  # off the grid is fine
        (utc(2026, 1, 5, 11, 15), utc(2026, 1, 5, 12, 30), NOW, None),  # spans two adjacent rules
        (utc(2026, 1, 10, 10), utc(2026, 1, 10, 11), NOW, None),  # AVAILABLE override
        (utc(2026, 1, 5, 9), utc(2026, 1, 5, 9, 30), utc(2026, 1, 5, 7), None),  # exactly at notice
        (utc(2026, 1, 5, 9), utc(2026, 1, 5, 9, 30), utc(2026, 1, 5, 7, 1), "TOO_SOON"),
        (utc(2026, 1, 5, 9), utc(2026, 1, 5, 9, 30), utc(2025, 12, 6, 9), "BEYOND_HORIZON"),
        (utc(2026, 1, 5, 9), utc(2026, 1, 5, 9, 30), utc(2025, 12, 6, 9, 1), None),
        (utc(2026, 1, 5, 8, 30), utc(2026, 1, 5, 9, 30), NOW, "OUTSIDE_AVAILABILITY"),
        (utc(2026, 1, 5, 12, 30), utc(2026, 1, 5, 13, 30), NOW, "OUTSIDE_AVAILABILITY"),  # blocked
        (utc(2026, 1, 5, 9, 30), utc(2026, 1, 5, 9, 50), NOW, "BUSY"),  # inside the 15-minute buffer
        (utc(2026, 1, 5, 11), utc(2026, 1, 5, 11, 30), NOW, "BUSY"),
        (utc(2026, 1, 5, 11, 15), utc(2026, 1, 5, 11, 45), NOW, None),
    ],
)
def test_slot_is_bookable_reasons(
    start: datetime, end: datetime, now: datetime, expected: str | None
) -> None:
    assert slot_is_bookable(BOOKABLE, starts_at=start, ends_at=end, now=now, busy=BUSY) == expected


def test_slot_is_bookable_rejects_an_empty_interval() -> None:
    with pytest.raises(ValidationError) as error:
        slot_is_bookable(BOOKABLE, starts_at=utc(2026, 1, 5, 9), ends_at=utc(2026, 1, 5, 9), now=NOW, busy=[])
    assert error.value.field == "endsAt"


# --- validation ------------------------------------------------------------------------------------


def test_validate_time_zone_returns_the_zone() -> None:
    assert validate_time_zone(LONDON) == ZoneInfo(LONDON)


@pytest.mark.parametrize(
    "name", ["Mars/Olympus", "", "Europe", "../etc/passwd", "Europe/London ", "localtime"]
)
def test_validate_time_zone_rejects_unknown_names(name: str) -> None:
    with pytest.raises(ValidationError) as error:
        validate_time_zone(name)
    assert error.value.field == "timeZone"


def test_free_intervals_with_unknown_zone_raises_time_zone_error() -> None:
    with pytest.raises(ValidationError) as error:
        free_intervals(policy("Nowhere/Town", rule(MON, "09:00", "10:00")), window=JAN_5)
    assert error.value.field == "timeZone"


def test_validate_weekly_rules_sorts_by_weekday_then_start() -> None:
    rules = [
        rule(SUN, "08:00", "09:00"),
        rule(MON, "13:00", "00:00"),
        rule(MON, "09:00", "13:00"),
        rule(Weekday.TUESDAY, "09:00", "13:00"),
    ]
    assert validate_weekly_rules(rules) == (rules[2], rules[1], rules[3], rules[0])


@pytest.mark.parametrize(
    "rules",
    [
        [rule(MON, "10:00", "09:00")],
        [rule(MON, "09:00", "09:00")],
        [rule(MON, "09:00", "12:00"), rule(MON, "11:59", "13:00")],
        [rule(MON, "20:00", "00:00"), rule(MON, "23:00", "23:30")],
        [rule(MON, "00:00", "00:00"), rule(MON, "09:00", "10:00")],
    ],
)
def test_validate_weekly_rules_rejects_reversed_or_overlapping_rules(rules: list[WeeklyRule]) -> None:
    with pytest.raises(ValidationError) as error:
        validate_weekly_rules(rules)
    assert error.value.field == "weeklyRules"


def test_validate_weekly_rules_accepts_touching_rules_and_same_times_on_other_days() -> None:
    rules = [rule(MON, "09:00", "12:00"), rule(MON, "12:00", "00:00"), rule(SAT, "09:00", "12:00")]
    assert validate_weekly_rules(rules) == tuple(rules)


@pytest.mark.parametrize(
    ("numbers", "field"),
    [
        ({"buffer_minutes": -1}, "bufferMinutes"),
        ({"buffer_minutes": 241}, "bufferMinutes"),
        ({"minimum_notice_minutes": -1}, "minimumNoticeMinutes"),
        ({"minimum_notice_minutes": 10081}, "minimumNoticeMinutes"),
        ({"horizon_days": 0}, "horizonDays"),
        ({"horizon_days": 366}, "horizonDays"),
    ],
)
def test_validate_policy_numbers_names_the_bad_field(numbers: dict[str, int], field: str) -> None:
    valid = {"buffer_minutes": 0, "minimum_notice_minutes": 0, "horizon_days": 1}
    with pytest.raises(ValidationError) as error:
        validate_policy_numbers(**(valid | numbers))
    assert error.value.field == field


def test_validate_policy_numbers_accepts_the_bounds() -> None:
    validate_policy_numbers(buffer_minutes=0, minimum_notice_minutes=0, horizon_days=1)
    validate_policy_numbers(buffer_minutes=240, minimum_notice_minutes=10080, horizon_days=365)
