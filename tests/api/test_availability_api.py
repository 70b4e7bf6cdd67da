"""Weekly rules, overrides and the bookable slots they leave, through the API."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sessions_gql.api import ids
from sessions_gql.clock import FrozenClock
from sessions_gql.domain.enums import SessionStatus
from tests.api.factories import gid, insert_service, insert_session, refused
from tests.harness.app import Api, Person

ERROR = "... on BasicError { code field }"
AVAILABILITY = """availability { timeZone weeklyRules { weekday start end } bufferMinutes minimumNoticeMinutes
  horizonDays overrides { id kind startsAt endsAt note } }"""
SET = f"""mutation($input: SetAvailabilityInput!) {{ setAvailability(input: $input) {{ __typename
  ... on AvailabilitySuccess {{ {AVAILABILITY} }} {ERROR} }} }}"""
ADD_OVERRIDE = f"""mutation($input: AddAvailabilityOverrideInput!) {{ addAvailabilityOverride(input: $input) {{
  __typename ... on AvailabilitySuccess {{ {AVAILABILITY} }} {ERROR} }} }}"""
REMOVE_OVERRIDE = f"""mutation($id: ID!) {{ removeAvailabilityOverride(id: $id) {{ __typename
  ... on AvailabilitySuccess {{ {AVAILABILITY} }} {ERROR} }} }}"""
STATE = f"query($id: ID!) {{ provider(id: $id) {{ {AVAILABILITY} }} }}"
OVERRIDES_BETWEEN = """query($id: ID!, $from: DateTime, $to: DateTime) { provider(id: $id) { availability {
  overrides(from: $from, to: $to) { kind } } } }"""
SLOTS = """query($p: ID!, $s: ID!, $from: DateTime!, $to: DateTime!, $d: Int) {
  availableSlots(providerId: $p, serviceId: $s, from: $from, to: $to, durationMinutes: $d) { startsAt endsAt } }"""
MONDAY_MORNING = [{"weekday": "MONDAY", "start": "09:00", "end": "12:00"}]


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture
async def pat(api: Api) -> Person:
    """A Europe/London provider free on Mondays 09:00-12:00 (its 60-minute service comes from `service_of`)."""
    pat = await api.provider("Pat", tz="Europe/London")
    data = await api.gql(SET, {"input": {"timeZone": "Europe/London", "weeklyRules": MONDAY_MORNING}}, as_=pat)
    assert data["setAvailability"]["__typename"] == "AvailabilitySuccess"
    return pat


async def service_of(api: Api, provider: Person) -> str:
    assert provider.provider_id is not None
    return gid("Service", await insert_service(api.deps, provider.provider_id))


def key_of(global_id: str) -> uuid.UUID:
    return uuid.UUID(ids.split(global_id)[1])


async def starts(api: Api, viewer: Person, provider: Person, service: str, day_from: str, day_to: str,
                 **extra: Any) -> list[str]:
    """Slot starts as UTC wall times ('2026-11-30 09:00'), checking each slot lasts `d` minutes (default 60)."""
    data = await api.gql(SLOTS, {"p": provider.gid, "s": service, "from": f"{day_from}T00:00:00Z",
                                 "to": f"{day_to}T00:00:00Z", **extra}, as_=viewer)
    found = []
    for slot in data["availableSlots"]:
        begins, ends = datetime.fromisoformat(slot["startsAt"]), datetime.fromisoformat(slot["endsAt"])
        assert begins.utcoffset() == timedelta(0) and ends - begins == timedelta(minutes=extra.get("d", 60))
        found.append(f"{begins:%Y-%m-%d %H:%M}")
    return found


def grid(day: str, *times: str) -> list[str]:
    return [f"{day} {t}" for t in times]


async def test_set_availability_replaces_rules_and_keeps_omitted_numbers(api: Api, pat: Person) -> None:
    data = await api.gql(SET, {"input": {"timeZone": "Europe/Paris", "bufferMinutes": 10, "minimumNoticeMinutes": 60,
                                         "horizonDays": 30, "weeklyRules": [
                                             {"weekday": "WEDNESDAY", "start": "13:00", "end": "17:30"},
                                             {"weekday": "MONDAY", "start": "14:00", "end": "00:00"},
                                             *MONDAY_MORNING]}}, as_=pat)
    assert data["setAvailability"] == {"__typename": "AvailabilitySuccess", "availability": {
        "timeZone": "Europe/Paris", "bufferMinutes": 10, "minimumNoticeMinutes": 60, "horizonDays": 30,
        "overrides": [], "weeklyRules": [{"weekday": "MONDAY", "start": "09:00", "end": "12:00"},
                                         {"weekday": "MONDAY", "start": "14:00", "end": "00:00"},
                                         {"weekday": "WEDNESDAY", "start": "13:00", "end": "17:30"}]}}
    again = await api.gql(SET, {"input": {"timeZone": "Europe/London", "weeklyRules": [
        {"weekday": "TUESDAY", "start": "08:30", "end": "10:00"}]}}, as_=pat)
    availability = again["setAvailability"]["availability"]
    assert availability["weeklyRules"] == [{"weekday": "TUESDAY", "start": "08:30", "end": "10:00"}]
    assert (availability["timeZone"], availability["bufferMinutes"], availability["horizonDays"]) == \
        ("Europe/London", 10, 30)


AVAILABILITY_CASES = [
    ({"timeZone": "Europe/Atlantis"}, "VALIDATION", "timeZone"), ({"timeZone": "Europe"}, "VALIDATION", "timeZone"),
    ({"weeklyRules": [*MONDAY_MORNING, {"weekday": "MONDAY", "start": "11:00", "end": "13:00"}]}, "VALIDATION",
     "weeklyRules"),
    ({"weeklyRules": [{"weekday": "FRIDAY", "start": "12:00", "end": "09:00"}]}, "VALIDATION", "weeklyRules"),
    ({"weeklyRules": [{"weekday": "FRIDAY", "start": "09:00", "end": "09:00"}]}, "VALIDATION", "weeklyRules"),
    ({"bufferMinutes": 999}, "VALIDATION", "bufferMinutes"),
    ({"minimumNoticeMinutes": -1}, "VALIDATION", "minimumNoticeMinutes"),
    ({"horizonDays": 0}, "VALIDATION", "horizonDays"),
    ({"providerId": "x"}, "VALIDATION", "providerId"),
]


async def test_set_availability_refuses_bad_input_and_writes_nothing(api: Api, pat: Person) -> None:
    admin, mia, quinn = await api.admin(), await api.member("Mia"), await api.provider("Quinn")
    before = await api.gql(STATE, {"id": pat.gid}, as_=pat)
    valid = {"timeZone": "America/Chicago", "weeklyRules": [{"weekday": "FRIDAY", "start": "10:00", "end": "11:00"}]}
    for changes, code, field in AVAILABILITY_CASES:
        data = await api.gql(SET, {"input": {**valid, **changes}}, as_=pat)
        assert data["setAvailability"] == refused(code, field), changes
    for caller, changes, expected in ((mia, {}, refused("FORBIDDEN", None)),
                                      (quinn, {"providerId": pat.gid}, refused("FORBIDDEN", "providerId")),
                                      (admin, {}, refused("VALIDATION", "providerId"))):
        data = await api.gql(SET, {"input": {**valid, **changes}}, as_=caller)
        assert data["setAvailability"] == expected, caller.viewer.role
    assert await api.gql(STATE, {"id": pat.gid}, as_=pat) == before


async def test_overrides_are_added_listed_and_removed_by_their_provider_only(api: Api, pat: Person) -> None:
    quinn = await api.provider("Quinn")
    blocked = {"kind": "BLOCKED", "startsAt": "2026-11-30T10:00:00+01:00", "endsAt": "2026-11-30T11:00:00Z",
               "note": " dentist "}
    data = await api.gql(ADD_OVERRIDE, {"input": blocked}, as_=pat)
    (override,) = data["addAvailabilityOverride"]["availability"]["overrides"]
    assert override == {"id": override["id"], "kind": "BLOCKED", "startsAt": "2026-11-30T09:00:00+00:00",
                        "endsAt": "2026-11-30T11:00:00+00:00", "note": "dentist"}
    await api.gql(ADD_OVERRIDE, {"input": {"kind": "AVAILABLE", "startsAt": "2026-12-01T14:00:00Z",
                                           "endsAt": "2026-12-01T15:30:00Z"}}, as_=pat)
    between = {"id": pat.gid, "from": "2026-12-01T00:00:00Z", "to": "2026-12-02T00:00:00Z"}
    assert await api.gql(OVERRIDES_BETWEEN, between, as_=pat) == {"provider": {"availability": {
        "overrides": [{"kind": "AVAILABLE"}]}}}
    before = await api.gql(STATE, {"id": pat.gid}, as_=pat)
    for caller, override_id, expected in ((quinn, override["id"], refused("NOT_FOUND", "id")),
                                          (pat, "#", refused("VALIDATION", "id")),
                                          (pat, pat.gid, refused("NOT_FOUND", "id")),
                                          (pat, gid("AvailabilityOverride", uuid.uuid4()), refused("NOT_FOUND", "id"))):
        data = await api.gql(REMOVE_OVERRIDE, {"id": override_id}, as_=caller)
        assert data["removeAvailabilityOverride"] == expected, override_id
    bad = await api.gql(ADD_OVERRIDE, {"input": {**blocked, "endsAt": "2026-11-30T09:00:00Z"}}, as_=pat)
    assert bad["addAvailabilityOverride"] == refused("VALIDATION", "endsAt")
    assert await api.gql(STATE, {"id": pat.gid}, as_=pat) == before
    removed = await api.gql(REMOVE_OVERRIDE, {"id": override["id"]}, as_=pat)
    assert [o["kind"] for o in removed["removeAvailabilityOverride"]["availability"]["overrides"]] == ["AVAILABLE"]


QUARTERS = ("09:00", "09:15", "09:30", "09:45", "10:00", "10:15", "10:30", "10:45", "11:00")


async def test_slots_in_a_winter_week_follow_the_rule_and_the_minimum_notice(api: Api, pat: Person) -> None:
    mia, service = await api.member("Mia"), await service_of(api, pat)
    assert await starts(api, mia, pat, service, "2026-11-23", "2026-12-01") == [
        *grid("2026-11-23", "10:00", "10:15", "10:30", "10:45", "11:00"), *grid("2026-11-30", *QUARTERS)]
    assert await starts(api, mia, pat, service, "2026-11-30", "2026-12-01", d=90) == grid(
        "2026-11-30", "09:00", "09:15", "09:30", "09:45", "10:00", "10:15", "10:30")


async def test_a_nine_oclock_rule_stays_nine_oclock_local_across_the_spring_forward(
        api: Api, pat: Person, clock: FrozenClock) -> None:
    service = await service_of(api, pat)
    clock.set(utc("2027-03-20T08:00:00"))
    mia = await api.member("Mia")  # after the jump: tokens live a day
    assert await starts(api, mia, pat, service, "2027-03-22", "2027-03-30") == [
        *grid("2027-03-22", *QUARTERS),
        *grid("2027-03-29", "08:00", "08:15", "08:30", "08:45", "09:00", "09:15", "09:30", "09:45", "10:00")]


async def test_blocked_and_available_overrides_change_the_slots(api: Api, pat: Person) -> None:
    mia, service = await api.member("Mia"), await service_of(api, pat)
    for kind, begins, ends in (("BLOCKED", "2026-11-30T10:00:00Z", "2026-11-30T11:00:00Z"),
                               ("AVAILABLE", "2026-12-01T14:00:00Z", "2026-12-01T15:30:00Z")):
        await api.gql(ADD_OVERRIDE, {"input": {"kind": kind, "startsAt": begins, "endsAt": ends}}, as_=pat)
    assert await starts(api, mia, pat, service, "2026-11-30", "2026-12-02") == [
        *grid("2026-11-30", "09:00", "11:00"), *grid("2026-12-01", "14:00", "14:15", "14:30")]


async def test_held_slots_are_excluded_and_the_buffer_widens_them(api: Api, pat: Person) -> None:
    mia, max_, service = await api.member("Mia"), await api.member("Max"), await service_of(api, pat)
    assert max_.member_id and pat.provider_id
    await insert_session(api.deps, max_.member_id, pat.provider_id, key_of(service), utc("2026-11-30T10:30:00"),
                         SessionStatus.CONFIRMED, duration_minutes=30, hold=True)
    assert await starts(api, mia, pat, service, "2026-11-30", "2026-12-01") == grid(
        "2026-11-30", "09:00", "09:15", "09:30", "11:00")
    await api.gql(SET, {"input": {"timeZone": "Europe/London", "weeklyRules": MONDAY_MORNING, "bufferMinutes": 15}},
                  as_=pat)
    assert await starts(api, mia, pat, service, "2026-11-30", "2026-12-01") == grid("2026-11-30", "09:00", "09:15")


async def test_a_members_own_hold_elsewhere_hides_the_slot_from_that_member_only(api: Api, pat: Person) -> None:
    mia, max_, quinn = await api.member("Mia"), await api.member("Max"), await api.provider("Quinn")
    assert mia.member_id and quinn.provider_id
    service, quinn_service = await service_of(api, pat), await insert_service(api.deps, quinn.provider_id)
    await insert_session(api.deps, mia.member_id, quinn.provider_id, quinn_service, utc("2026-11-30T09:00:00"),
                         SessionStatus.AWAITING_APPROVAL, hold=True)
    assert await starts(api, mia, pat, service, "2026-11-30", "2026-12-01") == grid(
        "2026-11-30", "10:00", "10:15", "10:30", "10:45", "11:00")
    assert await starts(api, max_, pat, service, "2026-11-30", "2026-12-01") == grid("2026-11-30", *QUARTERS)


async def test_horizon_and_notice_bound_the_slots(api: Api, pat: Person, clock: FrozenClock) -> None:
    mia, service = await api.member("Mia"), await service_of(api, pat)
    await api.gql(SET, {"input": {"timeZone": "Europe/London", "weeklyRules": MONDAY_MORNING, "horizonDays": 7,
                                  "minimumNoticeMinutes": 0}}, as_=pat)
    clock.advance(timedelta(hours=2))
    assert await starts(api, mia, pat, service, "2026-11-23", "2026-12-01") == [
        *grid("2026-11-23", "10:00", "10:15", "10:30", "10:45", "11:00"),
        *grid("2026-11-30", "09:00", "09:15", "09:30", "09:45")]


VISIBILITY = """mutation($v: ProviderVisibility!, $id: ID) {
  setProviderVisibility(visibility: $v, providerId: $id) { __typename } }"""


async def test_only_a_provider_taking_new_sessions_has_bookable_slots(api: Api, pat: Person) -> None:
    admin, mia, service = await api.admin(), await api.member("Mia"), await service_of(api, pat)
    await api.gql(VISIBILITY, {"v": "INVISIBLE"}, as_=pat)  # unlisted, still bookable by whoever reaches them
    assert await starts(api, mia, pat, service, "2026-11-30", "2026-12-01") == grid("2026-11-30", *QUARTERS)
    await api.gql(VISIBILITY, {"v": "PAUSED"}, as_=pat)
    assert await starts(api, mia, pat, service, "2026-11-30", "2026-12-01") == []
    await api.gql(VISIBILITY, {"v": "DEACTIVATED", "id": pat.gid}, as_=admin)
    body = await api.post(SLOTS, {"p": pat.gid, "s": service, "from": "2026-11-30T00:00:00Z",
                                  "to": "2026-12-01T00:00:00Z"}, token=mia.token)
    assert body["data"] is None
    assert [(e["extensions"]["code"], e["extensions"]["field"]) for e in body["errors"]] == [("NOT_FOUND",
                                                                                              "providerId")]
    assert await starts(api, admin, pat, service, "2026-11-30", "2026-12-01") == []
    await api.gql(VISIBILITY, {"v": "ACTIVE", "id": pat.gid}, as_=admin)
    assert await starts(api, mia, pat, service, "2026-11-30", "2026-12-01") == grid("2026-11-30", *QUARTERS)


async def test_slot_queries_refuse_bad_windows(api: Api, pat: Person) -> None:
    mia, quinn = await api.member("Mia"), await api.provider("Quinn")
    service, other = await service_of(api, pat), await service_of(api, quinn)
    cases = [
        ({"from": "2026-11-30T10:00:00Z", "to": "2026-11-30T10:00:00Z"}, "VALIDATION", "to"),
        ({"from": "2026-11-30T10:00:00Z", "to": "2026-11-30T09:00:00Z"}, "VALIDATION", "to"),
        ({"to": "2027-01-31T00:00:01Z"}, "VALIDATION", "to"),
        ({"d": 7}, "VALIDATION", "durationMinutes"),
        ({"s": other}, "NOT_FOUND", "serviceId"),
        ({"p": gid("Provider", uuid.uuid4())}, "NOT_FOUND", "providerId"),
        ({"s": "??"}, "VALIDATION", "serviceId"),
    ]
    mondays = ("2026-11-30", "2026-12-07", "2026-12-14", "2026-12-21", "2026-12-28", "2027-01-04", "2027-01-11",
               "2027-01-18", "2027-01-25")
    assert await starts(api, mia, pat, service, "2026-11-30", "2027-01-31") == [  # exactly 62 days is allowed
        start for monday in mondays for start in grid(monday, *QUARTERS)]
    for changes, code, field in cases:
        body = await api.post(SLOTS, {"p": pat.gid, "s": service, "from": "2026-11-30T00:00:00Z",
                                      "to": "2026-12-01T00:00:00Z", **changes}, token=mia.token)
        assert body["data"] is None, changes
        assert [(e["extensions"]["code"], e["extensions"]["field"]) for e in body["errors"]] == [(code, field)], changes
