"""Calendar sync: the provider's secret iCalendar feed, and busy times imported from ICS."""

from __future__ import annotations

from urllib.parse import urlparse

import icalendar

from sessions_gql.api.ids import split
from tests.api.lifecycle_helpers import CONFIRM, REQUEST, World, at, ok, request, world
from tests.harness.app import Api

FEED_URL = "query($id: ID!) { provider(id: $id) { calendarFeedUrl } }"
ROTATE = "mutation { rotateCalendarFeed { __typename ... on ProviderSuccess { provider { calendarFeedUrl } } } }"
IMPORT = """mutation($ics: String!) { importBusyTimes(ics: $ics) { __typename
  ... on AvailabilitySuccess { availability { overrides { kind startsAt endsAt note } } }
  ... on BasicError { code field } } }"""
SLOTS = """query($p: ID!, $s: ID!, $from: DateTime!, $to: DateTime!) {
  availableSlots(providerId: $p, serviceId: $s, from: $from, to: $to) { startsAt } }"""
WEEKLY_BUSY = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
BEGIN:VEVENT
UID:standup@example.org
DTSTART:20261124T100000Z
DTEND:20261124T110000Z
RRULE:FREQ=WEEKLY;COUNT=3
SUMMARY:Team stand-up
END:VEVENT
BEGIN:VEVENT
UID:free@example.org
DTSTART:20261124T140000Z
DTEND:20261124T150000Z
TRANSP:TRANSPARENT
SUMMARY:Shown as free
END:VEVENT
END:VCALENDAR
"""
EMPTY = "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//test//EN\nEND:VCALENDAR\n"


async def feed_url(api: Api, w: World) -> str:
    return (await api.gql(FEED_URL, {"id": w.provider.gid}, as_=w.provider))["provider"]["calendarFeedUrl"]


async def events(api: Api, url: str) -> list[icalendar.Event]:
    response = await api.client.get(urlparse(url).path)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    return list(icalendar.Calendar.from_ical(response.content).walk("VEVENT"))


async def test_the_feed_updates_one_event_in_place_as_the_session_changes(api: Api) -> None:
    w = await world(api)
    url = await feed_url(api, w)
    assert (await api.gql(FEED_URL, {"id": w.provider.gid}, as_=w.member))["provider"]["calendarFeedUrl"] is None
    requested = await request(w, at(1, 10))
    (tentative,) = await events(api, url)
    confirmed = await ok(w, CONFIRM, {"sessionId": requested["id"]}, w.provider)
    (agreed,) = await events(api, url)
    assert str(tentative["uid"]) == str(agreed["uid"]) == f"{_uuid(requested['id'])}@sessions-gql"
    assert (int(tentative["sequence"]), str(tentative["status"])) == (1, "TENTATIVE")
    assert (int(agreed["sequence"]), str(agreed["status"])) == (confirmed["version"], "CONFIRMED")
    assert agreed.decoded("dtstart").isoformat() == at(1, 10)
    assert agreed.decoded("dtend").isoformat() == at(1, 11)


async def test_rotating_the_feed_revokes_the_old_url(api: Api) -> None:
    w = await world(api)
    old = await feed_url(api, w)
    rotated = await api.gql(ROTATE, as_=w.provider)
    new = rotated["rotateCalendarFeed"]["provider"]["calendarFeedUrl"]
    assert new != old
    assert (await api.client.get(urlparse(old).path)).status_code == 404
    assert await events(api, new) == []


async def test_imported_busy_times_block_slots_and_requests_until_replaced(api: Api) -> None:
    w = await world(api)
    imported = await api.gql(IMPORT, {"ics": WEEKLY_BUSY}, as_=w.provider)
    overrides = imported["importBusyTimes"]["availability"]["overrides"]
    assert [(o["kind"], o["startsAt"], o["endsAt"]) for o in overrides] == [
        ("BLOCKED", at(1, 10), at(1, 11)), ("BLOCKED", at(8, 10), at(8, 11)), ("BLOCKED", at(15, 10), at(15, 11))]
    window = {"p": w.provider.gid, "s": w.service_id, "from": at(1, 8), "to": at(1, 12)}
    slots = [s["startsAt"] for s in (await api.gql(SLOTS, window, as_=w.member))["availableSlots"]]
    assert slots == [at(1, 8), at(1, 8, 15), at(1, 8, 30), at(1, 8, 45), at(1, 9),  # 09:15 would run into 10:00
                     at(1, 11), at(1, 11, 15), at(1, 11, 30), at(1, 11, 45)]
    refused = await w.run(REQUEST, {"providerId": w.provider.gid, "serviceId": w.service_id,
                                    "startsAt": at(1, 10), "modality": "VIDEO"}, w.member)
    assert (refused["__typename"], refused["code"]) == ("BasicError", "SLOT_UNAVAILABLE")
    cleared = await api.gql(IMPORT, {"ics": EMPTY}, as_=w.provider)
    assert cleared["importBusyTimes"]["availability"]["overrides"] == []
    assert (await request(w, at(1, 10)))["status"] == "AWAITING_APPROVAL"


async def test_a_file_that_is_not_icalendar_is_refused_and_changes_nothing(api: Api) -> None:
    w = await world(api)
    await api.gql(IMPORT, {"ics": WEEKLY_BUSY}, as_=w.provider)
    refused = await api.gql(IMPORT, {"ics": "hello"}, as_=w.provider)
    assert refused["importBusyTimes"] == {"__typename": "BasicError", "code": "VALIDATION", "field": "ics"}
    again = await api.gql(IMPORT, {"ics": WEEKLY_BUSY}, as_=w.provider)
    assert len(again["importBusyTimes"]["availability"]["overrides"]) == 3
    member = await api.gql(IMPORT, {"ics": EMPTY}, as_=w.member)
    assert member["importBusyTimes"] == {"__typename": "BasicError", "code": "FORBIDDEN", "field": None}


def _uuid(global_id: str) -> str:
    return split(global_id)[1]
