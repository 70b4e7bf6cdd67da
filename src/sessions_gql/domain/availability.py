"""A provider's availability: weekly rules and overrides turned into free time and bookable slots.

Pure functions: no I/O beyond the time-zone database, and the clock is always an argument.

Documented choices:

* Midnight end: a rule ending at ``00:00`` ends at 24:00, so ``(time(0), time(0))`` is a whole day.
* DST gap: a rule covers the instants whose local wall time is in ``[start, end)``; a wall time
  missing that day moves forward to the end of the gap (Europe/London 2026-03-29: a 01:30-03:00
  rule gives 02:00-03:00 BST; a rule wholly inside the gap gives nothing that day).
* DST overlap: ambiguous wall times use ``fold=0`` (first occurrence), for starts and ends alike.
* Slot grid: starts are ``free_start + k * step``, ``free_start`` being the merged free interval's
  start (looked up from one day before the window); busy time, notice and the window never move
  it. Default step: 15 minutes when the duration is a multiple of 15, else 5.
* ``available_slots`` lists slots whose *start* is in the window (the end may lie past it).
* Horizon counts exact 24-hour days from ``now``; the buffer widens busy intervals only.
* Naive datetimes are a programming error and raise ``ValueError``.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sessions_gql.domain.enums import OverrideKind, Weekday
from sessions_gql.domain.errors import Interval, ValidationError

_MIDNIGHT = time(0)
_NOT_IANA = frozenset({"localtime", "posixrules", "Factory"})
_ONE_DAY = timedelta(days=1)
_MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True)
class WeeklyRule:
    """A recurring free range in the provider's zone; ``end == time(0)`` means 24:00 (end of day)."""

    weekday: Weekday
    start: time
    end: time


@dataclass(frozen=True)
class Override:
    """A one-off AVAILABLE (extra) or BLOCKED range of instants; both datetimes are aware."""

    kind: OverrideKind
    starts_at: datetime
    ends_at: datetime


@dataclass(frozen=True)
class AvailabilityPolicy:
    time_zone: str
    weekly_rules: tuple[WeeklyRule, ...]
    overrides: tuple[Override, ...] = ()
    buffer_minutes: int = 0
    minimum_notice_minutes: int = 120
    horizon_days: int = 90


def validate_time_zone(name: str) -> ZoneInfo:
    """Return the zone for an IANA name; ValidationError(field="timeZone") when it is unknown."""
    if name in _NOT_IANA:
        raise ValidationError(f"Unknown time zone {name!r}.", field="timeZone")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise ValidationError(f"Unknown time zone {name!r}.", field="timeZone") from exc


def validate_weekly_rules(rules: Sequence[WeeklyRule]) -> tuple[WeeklyRule, ...]:
    """Check each rule and that rules of one weekday do not overlap; return them sorted."""
    for rule in rules:
        if rule.start.tzinfo is not None or rule.end.tzinfo is not None:
            raise ValidationError("Rule times must be wall-clock times without a zone.", field="weeklyRules")
        if rule.end != _MIDNIGHT and rule.start >= rule.end:
            raise ValidationError(f"{_show(rule)}: start must be before end.", field="weeklyRules")
    ordered = tuple(sorted(rules, key=lambda r: (r.weekday.iso_index, r.start)))
    for previous, current in pairwise(ordered):
        if previous.weekday == current.weekday and current.start < _end_of(previous):
            raise ValidationError(f"{_show(previous)} overlaps {_show(current)}.", field="weeklyRules")
    return ordered


def validate_policy_numbers(*, buffer_minutes: int, minimum_notice_minutes: int, horizon_days: int) -> None:
    """Raise ValidationError naming the first number outside its allowed range."""
    checks = (
        ("bufferMinutes", buffer_minutes, 0, 240),
        ("minimumNoticeMinutes", minimum_notice_minutes, 0, 10080),
        ("horizonDays", horizon_days, 1, 365),
    )
    for field, value, low, high in checks:
        if not low <= value <= high:
            raise ValidationError(f"{field} must be between {low} and {high}, got {value}.", field=field)


def _show(rule: WeeklyRule) -> str:
    return f"{rule.weekday.value} {rule.start:%H:%M}-{rule.end:%H:%M}"


def _end_of(rule: WeeklyRule) -> time:
    """The rule's end for comparisons: 24:00 stands in as the largest time."""
    return time.max if rule.end == _MIDNIGHT else rule.end


def free_intervals(policy: AvailabilityPolicy, *, window: Interval) -> list[Interval]:
    """The provider's free time inside ``window``: rules + AVAILABLE - BLOCKED, merged, sorted, UTC."""
    zone = validate_time_zone(policy.time_zone)
    start, end = _utc(window.starts_at), _utc(window.ends_at)
    if start >= end:
        return []
    clip = Interval(start, end)
    available = list(_expand_rules(policy.weekly_rules, zone, clip))
    available += _overrides(policy.overrides, OverrideKind.AVAILABLE, clip)
    blocked = _merge(_overrides(policy.overrides, OverrideKind.BLOCKED, clip))
    return _clip(_subtract(_merge(available), blocked), clip)


def _expand_rules(rules: Iterable[WeeklyRule], zone: ZoneInfo, window: Interval) -> Iterable[Interval]:
    """Each rule on each local date touching the window (one spare day each side), in UTC."""
    by_weekday: dict[int, list[WeeklyRule]] = {}
    for rule in rules:
        by_weekday.setdefault(rule.weekday.iso_index, []).append(rule)
    day = window.starts_at.astimezone(zone).date() - _ONE_DAY
    last = window.ends_at.astimezone(zone).date() + _ONE_DAY
    while day <= last:
        for rule in by_weekday.get(day.weekday(), ()):
            yield _rule_on(day, rule, zone)
        day += _ONE_DAY


def _rule_on(day: date, rule: WeeklyRule, zone: ZoneInfo) -> Interval:
    end_day = day + _ONE_DAY if rule.end == _MIDNIGHT else day
    return Interval(
        _local_to_utc(datetime.combine(day, rule.start), zone),
        _local_to_utc(datetime.combine(end_day, rule.end), zone),
    )


def _local_to_utc(wall: datetime, zone: ZoneInfo) -> datetime:
    """A naive wall time in ``zone`` as a UTC instant: fold=0 when ambiguous, gap end when missing."""
    instant = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) == wall:
        return instant
    return _gap_end(wall, zone)


def _gap_end(wall: datetime, zone: ZoneInfo) -> datetime:
    """The transition instant ending the DST gap that contains ``wall`` (binary search, gap days only)."""
    before = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)  # old offset: earlier than the gap end
    after = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)  # new offset: not earlier than it
    old_offset = before.astimezone(zone).utcoffset()
    while after - before > _MICROSECOND:
        middle = before + (after - before) // 2
        if middle.astimezone(zone).utcoffset() == old_offset:
            before = middle
        else:
            after = middle
    return after


def _overrides(overrides: Iterable[Override], kind: OverrideKind, window: Interval) -> list[Interval]:
    found = (Interval(_utc(o.starts_at), _utc(o.ends_at)) for o in overrides if o.kind == kind)
    return [i for i in found if i.overlaps(window)]


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"Expected an aware datetime, got naive {moment!r}.")
    return moment.astimezone(UTC)


def _merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Sorted union; touching intervals join, empty ones are dropped."""
    merged: list[Interval] = []
    for item in sorted((i for i in intervals if i.starts_at < i.ends_at), key=_starts_at):
        if merged and item.starts_at <= merged[-1].ends_at:
            merged[-1] = Interval(merged[-1].starts_at, max(merged[-1].ends_at, item.ends_at))
        else:
            merged.append(item)
    return merged


def _subtract(free: list[Interval], blocked: list[Interval]) -> list[Interval]:
    """``free`` minus ``blocked``; both merged and sorted, so one forward pass suffices."""
    result: list[Interval] = []
    first = 0
    for item in free:
        while first < len(blocked) and blocked[first].ends_at <= item.starts_at:
            first += 1
        cursor, index = item.starts_at, first
        while index < len(blocked) and blocked[index].starts_at < item.ends_at:
            if blocked[index].starts_at > cursor:
                result.append(Interval(cursor, blocked[index].starts_at))
            cursor = max(cursor, blocked[index].ends_at)
            index += 1
        if cursor < item.ends_at:
            result.append(Interval(cursor, item.ends_at))
    return result


def _clip(intervals: Iterable[Interval], window: Interval) -> list[Interval]:
    clipped = (
        Interval(max(i.starts_at, window.starts_at), min(i.ends_at, window.ends_at)) for i in intervals
    )
    return [i for i in clipped if i.starts_at < i.ends_at]


def _default_step(duration_minutes: int) -> int:
    """15 when the duration is a multiple of 15, else 5."""
    return 15 if duration_minutes % 15 == 0 else 5


def available_slots(
    policy: AvailabilityPolicy,
    *,
    duration_minutes: int,
    window: Interval,
    now: datetime,
    busy: Sequence[Interval],
    step_minutes: int | None = None,
) -> list[Interval]:
    """Bookable [start, start + duration) slots whose start lies in ``window``, ascending, in UTC."""
    if duration_minutes <= 0:
        raise ValidationError("Duration must be positive.", field="durationMinutes")
    step = timedelta(minutes=_default_step(duration_minutes) if step_minutes is None else step_minutes)
    if step <= timedelta(0):
        raise ValidationError("Step must be positive.", field="stepMinutes")
    duration = timedelta(minutes=duration_minutes)
    start, end = _utc(window.starts_at), _utc(window.ends_at)
    now = _utc(now)
    earliest = max(start, now + timedelta(minutes=policy.minimum_notice_minutes))
    latest = min(end, now + timedelta(days=policy.horizon_days))  # exclusive bound on starts
    if earliest >= latest:
        return []
    lookup = Interval(start - _ONE_DAY, end + duration)
    blocked = _busy_blocks(policy, busy)
    slots: list[Interval] = []
    for free in free_intervals(policy, window=lookup):
        slots += _slots_in(free, duration, step, Interval(earliest, latest), blocked)
    return slots


def _slots_in(
    free: Interval, duration: timedelta, step: timedelta, starts: Interval, blocked: list[Interval]
) -> list[Interval]:
    """Grid slots inside one free interval with start in ``starts`` and clear of ``blocked``."""
    slots: list[Interval] = []
    candidate = _grid_at_or_after(free.starts_at, step, starts.starts_at)
    last_start = min(free.ends_at - duration, starts.ends_at - _MICROSECOND)
    while candidate <= last_start:
        clash_end = _clash(blocked, candidate, candidate + duration)
        if clash_end is None:
            slots.append(Interval(candidate, candidate + duration))
            candidate += step
        else:
            candidate = _grid_at_or_after(free.starts_at, step, clash_end)
    return slots


def _grid_at_or_after(anchor: datetime, step: timedelta, moment: datetime) -> datetime:
    """The first point of the grid ``anchor + k * step`` (k >= 0) at or after ``moment``."""
    if moment <= anchor:
        return anchor
    return anchor + step * -(-(moment - anchor) // step)


def _busy_blocks(policy: AvailabilityPolicy, busy: Iterable[Interval]) -> list[Interval]:
    """Busy intervals widened by the buffer on both sides, merged."""
    pad = timedelta(minutes=policy.buffer_minutes)
    return _merge(Interval(_utc(b.starts_at) - pad, _utc(b.ends_at) + pad) for b in busy)


def _clash(blocks: list[Interval], starts_at: datetime, ends_at: datetime) -> datetime | None:
    """The end of the (merged, sorted) block overlapping [starts_at, ends_at), else None; O(log n)."""
    index = bisect_left(blocks, ends_at, key=_starts_at) - 1
    if index >= 0 and blocks[index].ends_at > starts_at:
        return blocks[index].ends_at
    return None


def _starts_at(interval: Interval) -> datetime:
    return interval.starts_at


def slot_is_bookable(
    policy: AvailabilityPolicy,
    *,
    starts_at: datetime,
    ends_at: datetime,
    now: datetime,
    busy: Sequence[Interval],
) -> str | None:
    """None when exactly [starts_at, ends_at) may be booked (on the grid or not), else a reason code.

    Codes: TOO_SOON, BEYOND_HORIZON, OUTSIDE_AVAILABILITY (not wholly inside one free interval) or
    BUSY (overlaps busy time widened by the buffer). An empty interval raises ValidationError.
    """
    start, end, now = _utc(starts_at), _utc(ends_at), _utc(now)
    if end <= start:
        raise ValidationError("The end must be after the start.", field="endsAt")
    if start < now + timedelta(minutes=policy.minimum_notice_minutes):
        return "TOO_SOON"
    if start >= now + timedelta(days=policy.horizon_days):
        return "BEYOND_HORIZON"
    if free_intervals(policy, window=Interval(start, end)) != [Interval(start, end)]:
        return "OUTSIDE_AVAILABILITY"
    if _clash(_busy_blocks(policy, busy), start, end) is not None:
        return "BUSY"
    return None
