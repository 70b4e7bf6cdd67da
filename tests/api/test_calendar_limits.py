"""importBusyTimes within bounds: runaway recurrences are refused quickly, with little memory, off the event loop."""

from __future__ import annotations

import asyncio
import time
import tracemalloc
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from sessions_gql.clock import FrozenClock
from sessions_gql.domain.errors import ValidationError
from sessions_gql.services.sessions import ics_expand
from sessions_gql.services.sessions.ics_expand import MAX_EXAMINED, expand
from tests.api.test_calendar import IMPORT, WEEKLY_BUSY
from tests.harness.app import START, Api, Person, running_api, settings_for
from tests.harness.bounds import PROMPT_SECONDS

LIMIT_SECONDS = 3.0
# the cases refused by a count get a longer time limit, so that on a loaded machine (50,000 steps took over 3 s
# beside a busy suite) the count, the thing they test, is what stops them
COUNTED_LIMIT_SECONDS = 15.0
ANSWERED_WITHIN = 20.0  # spawn + limit + kill on a machine shared by many test runs; the old code never answered
CAP = "at most 2000 busy times per import"
EXAMINED = f"the file's recurrences expand to more than {MAX_EXAMINED} occurrences (counted from each event's start)"
# the case refused by the clock gets a short one: the scan dateutil cannot interrupt ends by itself after about
# 2.8 s on a fast idle machine (it found nothing then and the import went through), so at 3 s the kill raced it
TIMED_LIMIT_SECONDS = 0.5
TIMED_OUT = f"the file took longer than the limit of {TIMED_LIMIT_SECONDS:g} s to expand"


def calendar(rule: str, dtstart: str = "20261124T100000Z", dtend: str = "20261124T100001Z") -> str:
    return ("BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//test//EN\nBEGIN:VEVENT\nUID:runaway@example.org\n"
            f"DTSTART:{dtstart}\nDTEND:{dtend}\nRRULE:{rule}\nSUMMARY:busy\nEND:VEVENT\nEND:VCALENDAR\n")


RUNAWAY = [
    pytest.param(calendar("FREQ=SECONDLY;UNTIL=29991231T000000Z"), CAP, id="secondly-until-far-future"),
    pytest.param(calendar("FREQ=MINUTELY"), CAP, id="minutely-unbounded"),
    pytest.param(calendar("FREQ=MINUTELY;COUNT=100000000"), CAP, id="minutely-count-1e8"),
    pytest.param(calendar("FREQ=HOURLY;COUNT=100000000;UNTIL=29991231T000000Z"), CAP, id="hourly-count-and-until"),
    pytest.param(calendar("FREQ=SECONDLY", dtstart="20200101T000000Z", dtend="20200101T000001Z"), EXAMINED,
                 id="secondly-since-2020"),
    # dateutil scans every day up to year 9999 inside one step without yielding: only the kill bounds this
    pytest.param(calendar("FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30"), TIMED_OUT, id="daily-never-matching"),
]


WEEKLY_STARTS = ["2026-11-24T10:00:00+00:00", "2026-12-01T10:00:00+00:00", "2026-12-08T10:00:00+00:00"]
AVAILABILITY = "query($id: ID!) { provider(id: $id) { availability { overrides { startsAt } } } }"


async def imported(api: Api, provider: Person) -> list[str]:
    data = await api.gql(AVAILABILITY, {"id": provider.gid}, as_=provider)
    return [o["startsAt"] for o in data["provider"]["availability"]["overrides"]]


@pytest.fixture
async def limited(database_url: str) -> AsyncIterator[Api]:
    async with running_api(settings_for(database_url, ics_import_seconds=LIMIT_SECONDS), FrozenClock(START)) as api:
        yield api


async def provider_with_import(api: Api) -> Person:
    provider = await api.provider("Dr Busy")
    await api.gql(IMPORT, {"ics": WEEKLY_BUSY}, as_=provider)
    assert await imported(api, provider) == WEEKLY_STARTS
    return provider


@pytest.mark.parametrize(("ics", "message"), RUNAWAY)
async def test_a_runaway_recurrence_is_refused_in_bounded_time_and_changes_nothing(
        database_url: str, ics: str, message: str) -> None:
    seconds = TIMED_LIMIT_SECONDS if message == TIMED_OUT else COUNTED_LIMIT_SECONDS
    async with running_api(settings_for(database_url, ics_import_seconds=seconds), FrozenClock(START)) as limited:
        await refused_in_bounded_time(limited, ics, message)


async def refused_in_bounded_time(limited: Api, ics: str, message: str) -> None:
    provider = await provider_with_import(limited)
    query = IMPORT.replace("code field", "code field message")
    started = time.monotonic()
    answer = asyncio.create_task(limited.gql(query, {"ics": ics}, as_=provider))
    while not answer.done():  # the event loop stays free meanwhile: a small query is answered promptly
        asked = time.monotonic()
        assert (await limited.gql("{ serverTime }"))["serverTime"] == START.isoformat()
        assert time.monotonic() - asked < PROMPT_SECONDS
        await asyncio.sleep(0.05)
    refused = (await answer)["importBusyTimes"]
    assert time.monotonic() - started < ANSWERED_WITHIN
    assert refused == {"__typename": "BasicError", "code": "VALIDATION", "field": "ics", "message": message}
    assert await imported(limited, provider) == WEEKLY_STARTS  # the previous import is kept


@pytest.mark.parametrize(("rule", "dtstart", "message"), [
    ("FREQ=SECONDLY;UNTIL=29991231T000000Z", "20261124T100000Z", CAP),
    ("FREQ=MINUTELY;COUNT=100000000", "20261124T100000Z", CAP),
    ("FREQ=SECONDLY", "20200101T000000Z", EXAMINED.replace(str(MAX_EXAMINED), "5000")),
])
def test_the_expansion_itself_is_bounded_in_memory(rule: str, dtstart: str, message: str) -> None:
    ics = calendar(rule, dtstart=dtstart, dtend=dtstart[:-3] + "01Z")
    tracemalloc.start()
    try:
        with pytest.raises(ValidationError) as refused:
            expand(ics, start=START, end=START + timedelta(days=90), max_spans=2000,
                   deadline=time.monotonic() + 60, max_examined=5000)  # tracemalloc makes each step slow
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (refused.value.message, refused.value.field) == (message, "ics")
    assert peak < 3 * 1024 * 1024


def test_recurrences_stop_at_the_horizon_and_keep_exceptions() -> None:
    ics = ("BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//test//EN\n"
           "BEGIN:VEVENT\nUID:daily@x\nDTSTART;TZID=Europe/Berlin:20261120T090000\n"
           "DTEND;TZID=Europe/Berlin:20261120T100000\nRRULE:FREQ=DAILY\n"
           "EXDATE;TZID=Europe/Berlin:20261125T090000\nEND:VEVENT\n"
           "BEGIN:VEVENT\nUID:daily@x\nRECURRENCE-ID;TZID=Europe/Berlin:20261126T090000\n"
           "DTSTART;TZID=Europe/Berlin:20261126T150000\nDTEND;TZID=Europe/Berlin:20261126T160000\nEND:VEVENT\n"
           "END:VCALENDAR\n")
    spans = expand(ics, start=START, end=START + timedelta(days=4), max_spans=2000, deadline=time.monotonic() + 60)
    utc = [(a.astimezone(UTC).isoformat(), b.astimezone(UTC).isoformat()) for a, b in spans]
    assert utc == [
        ("2026-11-23T08:00:00+00:00", "2026-11-23T09:00:00+00:00"),
        ("2026-11-24T08:00:00+00:00", "2026-11-24T09:00:00+00:00"),
        # the 25th is excluded, the 26th moved to the afternoon
        ("2026-11-26T14:00:00+00:00", "2026-11-26T15:00:00+00:00"),
    ]
    assert all(isinstance(a, datetime) and a.tzinfo is not None for a, _ in spans)


async def test_imports_beyond_the_concurrent_cap_are_refused_at_once(limited: Api,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    provider = await provider_with_import(limited)
    monkeypatch.setattr(ics_expand, "_running", ics_expand.MAX_CONCURRENT)  # that many children running already
    query = IMPORT.replace("code field", "code field message")
    busy = (await limited.gql(query, {"ics": WEEKLY_BUSY}, as_=provider))["importBusyTimes"]
    assert busy == {"__typename": "BasicError", "code": "RATE_LIMITED", "field": None, "message":
                    "at most 4 calendar imports run at once on a server; try again shortly"}
    monkeypatch.setattr(ics_expand, "_running", ics_expand.MAX_CONCURRENT - 1)
    done = await limited.gql(IMPORT, {"ics": WEEKLY_BUSY}, as_=provider)
    assert len(done["importBusyTimes"]["availability"]["overrides"]) == 3
    assert ics_expand._running == ics_expand.MAX_CONCURRENT - 1  # released again
