"""Busy times from an iCalendar file, expanded lazily and within fixed bounds of work, memory and time.

Recurrences are walked one occurrence at a time (dateutil's rrule iterator, uncached), from DTSTART up to the
end of the booking horizon and no further, counting every occurrence looked at and checking a deadline after
each. A file whose events look at more than MAX_EXAMINED occurrences, keep more than `max_spans` busy times, or
run past the deadline is refused with a ValidationError that names the limit.

dateutil can still spend a long time inside one step on rules whose day filters rarely or never match (e.g.
FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30 scans every day up to year 9999 without yielding), where no deadline can be
checked. `expand_in_process` therefore runs the expansion in a child process that is killed at the time limit.
This module imports only icalendar and dateutil, so that child starts quickly.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
import warnings
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from multiprocessing.connection import Connection
from typing import Any

import icalendar
from dateutil.rrule import rrule, rrulestr  # type: ignore[import-untyped]

from sessions_gql.domain.errors import RateLimited, ValidationError

MAX_EXAMINED = 50_000
"""Occurrences (recurrences, RDATEs, single events) one file may make us look at, in the window or before it."""
Span = tuple[datetime, datetime]


class LimitExceeded(ValidationError):
    """A bound of the import was reached; nothing is imported."""


def expand(ics: str, *, start: datetime, end: datetime, max_spans: int, deadline: float,
           max_examined: int = MAX_EXAMINED) -> list[Span]:
    """Opaque events of an ICS file overlapping [start, end), recurring ones expanded, in UTC, sorted.

    `deadline` is a time.monotonic() value.
    """
    try:
        calendar = icalendar.Calendar.from_ical(ics)
    except (ValueError, KeyError, TypeError, IndexError) as exc:
        raise ValidationError(f"not an iCalendar file: {exc}", field="ics") from None
    budget = _Budget(max_examined, deadline)
    events = list(calendar.walk("VEVENT"))
    replaced = {(str(event.get("uid", "")), _instant(event.decoded("recurrence-id")))
                for event in events if event.get("recurrence-id") is not None}
    found: list[Span] = []
    for event in events:
        try:
            spans = _spans(event, start=start, end=end, replaced=replaced, budget=budget)
            for begins, ends in spans:
                found.append((max(begins, start), min(ends, end)))
                if len(found) > max_spans:
                    raise LimitExceeded(f"at most {max_spans} busy times per import", field="ics")
        except ValidationError:
            raise
        except (ValueError, KeyError, TypeError, OverflowError, IndexError, AttributeError) as exc:
            raise ValidationError(f"not a usable iCalendar event: {exc}", field="ics") from None
    return sorted(found)


class _Budget:
    def __init__(self, examined: int, deadline: float) -> None:
        self.left = examined
        self.limit = examined
        self.deadline = deadline

    def spend(self) -> None:
        self.left -= 1
        if self.left < 0:
            raise LimitExceeded(f"the file's recurrences expand to more than {self.limit} occurrences "
                                "(counted from each event's start)", field="ics")
        if time.monotonic() > self.deadline:
            raise _TimedOut


class _TimedOut(Exception):
    """The deadline passed; reported by the caller, which knows the limit in seconds."""


def _spans(event: Any, *, start: datetime, end: datetime, replaced: set[tuple[str, datetime]],
           budget: _Budget) -> Iterator[Span]:
    """The event's occurrences overlapping [start, end), each as a UTC span; nothing for transparent ones."""
    if str(event.get("transp", "OPAQUE")).upper() == "TRANSPARENT" or event.get("dtstart") is None:
        return
    first = event.decoded("dtstart")
    all_day = not isinstance(first, datetime)
    if event.get("dtend") is not None:
        length = _instant(event.decoded("dtend")) - _instant(first)
    elif event.get("duration") is not None:
        length = event.decoded("duration")
    else:
        length = timedelta(0)
    if length <= timedelta(0):
        length = timedelta(days=1) if all_day else timedelta(0)
    uid = str(event.get("uid", ""))
    overriding = event.get("recurrence-id") is not None
    excluded = set() if overriding else _dates(event, "exdate", budget)
    seen: set[datetime] = set()
    for begins, own_length in _starts(event, first, end=end, budget=budget, single=overriding):
        if begins >= end or begins in seen:
            continue
        if not overriding and (begins in excluded or (uid, begins) in replaced):
            continue
        ends = begins + (own_length if own_length is not None else length)
        if ends > begins and ends > start:
            seen.add(begins)
            yield begins, ends


def _starts(event: Any, first: date | datetime, *, end: datetime, budget: _Budget, single: bool
            ) -> Iterator[tuple[datetime, timedelta | None]]:
    """DTSTART, every RDATE (a period with its own length), then each RRULE's occurrences up to `end`."""
    budget.spend()
    yield _instant(first), None
    if single:
        return
    for value in _values(event, "rdate"):
        budget.spend()
        if isinstance(value, tuple):
            begins = _instant(value[0])
            yield begins, value[1] if isinstance(value[1], timedelta) else _instant(value[1]) - begins
        else:
            yield _instant(value), None
    for recur in _list(event.get("rrule")):
        for occurrence in _rule(recur, first, end):  # stops at `end`: its UNTIL is cut there
            budget.spend()
            yield _instant(occurrence), None


def _rule(recur: Any, first: date | datetime, end: datetime) -> rrule:
    """The RRULE from DTSTART, its UNTIL cut at the end of the window (so the walk stops there)."""
    parts = dict(recur)
    until = parts.pop("UNTIL", None)
    body = icalendar.vRecur(parts).to_ical().decode()  # type: ignore[no-untyped-call]
    dtstart = first if isinstance(first, datetime) else datetime(first.year, first.month, first.day)
    rule = rrulestr(body, dtstart=dtstart, cache=False)
    if not isinstance(rule, rrule):
        raise ValueError("one RRULE expected")
    stop = end if dtstart.tzinfo is not None else end.astimezone(UTC).replace(tzinfo=None)
    if until:
        given = until[0] if isinstance(until, list) else until
        stop = min(stop, _until_like(given, dtstart))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # COUNT with UNTIL: we need both bounds
        return rule.replace(until=stop)


def _until_like(until: date | datetime, dtstart: datetime) -> datetime:
    """UNTIL in DTSTART's frame: aware with an aware start, naive (UTC) with a floating one; a date is inclusive."""
    if not isinstance(until, datetime):
        until = datetime(until.year, until.month, until.day, 23, 59, 59)
        return until.replace(tzinfo=dtstart.tzinfo)
    if dtstart.tzinfo is None:
        return until.astimezone(UTC).replace(tzinfo=None) if until.tzinfo is not None else until
    return until if until.tzinfo is not None else until.replace(tzinfo=dtstart.tzinfo)


def _dates(event: Any, name: str, budget: _Budget) -> set[datetime]:
    found = set()
    for value in _values(event, name):
        budget.spend()
        found.add(_instant(value[0] if isinstance(value, tuple) else value))
    return found


def _values(event: Any, name: str) -> Iterator[Any]:
    for prop in _list(event.get(name)):
        for item in getattr(prop, "dts", []):
            yield item.dt


def _list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _instant(value: date | datetime) -> datetime:
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return datetime(value.year, value.month, value.day, tzinfo=UTC)


# -- in a child process, killed at the time limit ------------------------------------------------------------

def _child(conn: Connection, ics: str, start: datetime, end: datetime, max_spans: int, seconds: float) -> None:
    conn.send(("started", ""))
    try:
        spans = expand(ics, start=start, end=end, max_spans=max_spans, deadline=time.monotonic() + seconds)
        conn.send(("ok", spans))
    except ValidationError as exc:
        conn.send(("refused", exc.message))
    except _TimedOut:
        conn.send(("timeout", ""))
    except Exception as exc:  # a library failing on odd input: still the caller's VALIDATION
        conn.send(("refused", f"not a usable iCalendar file: {type(exc).__name__}"))
    finally:
        conn.close()


MAX_CONCURRENT = 4
"""Child processes one server runs at once; more imports meanwhile are refused (RATE_LIMITED), not queued."""
_running = 0
STARTUP_SECONDS = 20.0
"""How long a child may take to start (a spawn imports icalendar and dateutil) before it is given up on."""


async def expand_in_process(ics: str, *, start: datetime, end: datetime, max_spans: int, seconds: float
                            ) -> list[Span]:
    """`expand` in a fresh child process; `seconds` after it started it is killed and the import refused.

    The child has the same deadline itself, so it usually answers "timeout" on its own; the kill covers one
    dateutil step that never returns. The parent only waits (in a thread), so the event loop stays free.
    """
    global _running
    if _running >= MAX_CONCURRENT:
        raise RateLimited(f"at most {MAX_CONCURRENT} calendar imports run at once on a server; try again shortly")
    _running += 1
    try:
        return await _expand_in_child(ics, start=start, end=end, max_spans=max_spans, seconds=seconds)
    finally:
        _running -= 1


async def _expand_in_child(ics: str, *, start: datetime, end: datetime, max_spans: int, seconds: float
                           ) -> list[Span]:
    context = multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_child, args=(sender, ics, start, end, max_spans, seconds), daemon=True,
                            name="ics-expand")
    await asyncio.to_thread(child.start)
    sender.close()
    outcome: tuple[str, Any] = ("timeout", "")
    try:
        if await asyncio.to_thread(receiver.poll, STARTUP_SECONDS):
            receiver.recv()  # "started"
            if await asyncio.to_thread(receiver.poll, seconds + 0.5):
                outcome = await asyncio.to_thread(receiver.recv)
        else:
            outcome = ("refused", "the import could not be started; try again")
    except EOFError:  # the child died without answering
        outcome = ("refused", "the file could not be read")
    finally:  # kill first: a poll still waiting in its thread then sees EOF before the pipe is closed
        if child.is_alive():
            child.kill()
        await asyncio.to_thread(child.join, 5)
        receiver.close()
    kind, value = outcome
    if kind == "ok":
        return list(value)
    if kind == "timeout":
        raise LimitExceeded(f"the file took longer than the limit of {seconds:g} s to expand", field="ics")
    raise ValidationError(str(value), field="ics")
