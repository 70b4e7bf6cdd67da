"""`providers(orderBy: RECOMMENDED | NAME)`: the ranking of "find a provider" (DOMAIN.md "Provider reliability"),
keyset pages in both orders, and cursors that belong to one order only. Figures come from real transitions."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from sessions_gql.clock import FrozenClock
from tests.api.lifecycle_helpers import (
    CANCEL,
    CONFIRM,
    END,
    SAVE_SERVICE,
    SET_AVAILABILITY,
    START_SESSION,
    World,
    at,
    ok,
    request,
    when,
)
from tests.harness.app import START, Api, Person

RANKED = """query($first: Int, $after: String, $order: ProviderOrder) {
  providers(first: $first, after: $after, orderBy: $order) {
    edges { cursor node { id displayName reliability { flagged lateResponses averageResponseMinutes } } }
    pageInfo { hasNextPage hasPreviousPage endCursor } } }"""
DEFAULT_ORDER = "{ providers(first: 100) { edges { node { id } } } }"
SET_VISIBILITY = """mutation($visibility: ProviderVisibility!, $id: ID) {
  setProviderVisibility(visibility: $visibility, providerId: $id) { __typename } }"""
SLOTS = [(day, hour) for day in (1, 2, 3, 4) for hour in range(8, 18)]


async def open_practice(api: Api, name: str, member: Person) -> World:
    """A London provider free on weekdays 08:00-18:00 with a 60-minute VIDEO service at 1 credit."""
    provider = await api.provider(name, tz="Europe/London")
    rules = [{"weekday": day, "start": "08:00", "end": "18:00"}
             for day in ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY")]
    await api.gql(SET_AVAILABILITY, {"input": {"timeZone": "Europe/London", "weeklyRules": rules}}, as_=provider)
    saved = await api.gql(SAVE_SERVICE, {"input": {
        "name": "Sessions", "skills": ["Listening"], "durationMinutes": 60, "priceCredits": 1, "fee": "10.00",
        "currency": "GBP", "modalities": ["VIDEO"], "freeInitialConsultation": False}}, as_=provider)
    return World(api=api, provider=provider, member=member, service_id=saved["saveService"]["service"]["id"])


async def listed(api: Api, as_: Person, order: str | None = None) -> list[dict[str, Any]]:
    variables: dict[str, Any] = {"first": 100}
    if order is not None:
        variables["order"] = order
    data = await api.gql(RANKED, variables, as_=as_)
    assert data["providers"]["pageInfo"]["hasNextPage"] is False
    return [edge["node"] for edge in data["providers"]["edges"]]


async def walk(api: Api, as_: Person, order: str, first: int) -> list[str]:
    """Every page of `first`, following endCursor; the ids in the order they came."""
    seen: list[str] = []
    after = None
    while True:
        data = (await api.gql(RANKED, {"first": first, "after": after, "order": order}, as_=as_))["providers"]
        assert data["pageInfo"]["hasPreviousPage"] is (after is not None)
        seen += [edge["node"]["id"] for edge in data["edges"]]
        if not data["pageInfo"]["hasNextPage"]:
            return seen
        assert len(data["edges"]) == first
        after = data["pageInfo"]["endCursor"]
        assert len(seen) < 100, "the pages do not end"


def refusal(body: dict[str, Any]) -> tuple[Any, str, dict[str, Any]]:
    (error,) = body["errors"]
    return body["data"], error["message"], error["extensions"]


class Ranked:
    """Providers with different flags, late responses and average response times, made through the API: every
    request at 08:00 on Monday, each confirmed so many minutes later."""

    def __init__(self, api: Api, clock: FrozenClock, member: Person) -> None:
        self.api, self.clock, self.member = api, clock, member
        self.slots: Iterator[tuple[int, int]] = iter(SLOTS)
        self.practices: dict[str, World] = {}

    async def add(self, key: str, name: str) -> World:
        self.practices[key] = await open_practice(self.api, name, self.member)
        return self.practices[key]

    async def requested(self, key: str, *, min_day: int = 1) -> str:
        day, hour = next(self.slots)
        while day < min_day:
            day, hour = next(self.slots)
        return (await request(self.practices[key], at(day, hour)))["id"]  # type: ignore[no-any-return]

    async def confirm_after(self, minutes: int, sessions: list[tuple[str, str]]) -> None:
        self.clock.set(START + timedelta(minutes=minutes))
        for key, session_id in sessions:
            await ok(self.practices[key], CONFIRM, {"sessionId": session_id}, self.practices[key].provider)

    def gid(self, key: str) -> str:
        return self.practices[key].provider.gid


async def ranked_world(api: Api, clock: FrozenClock) -> Ranked:
    member = await api.member("Sam Member", credits=100)
    r = Ranked(api, clock, member)
    for key, name in [("fay", "Fay"), ("ada", "Ada"), ("bea1", "Bea"), ("bea2", "Bea"), ("ben", "Ben"),
                      ("cal", "Cal"), ("dee", "Dee"), ("eve", "Eve"), ("gil", "Gil"), ("ivy", "Ivy"),
                      ("dan", "Dan")]:
        await r.add(key, name)
    fay = [await r.requested("fay", min_day=3) for _ in range(3)]  # 3 days ahead: early provider cancels
    sessions = {key: await r.requested(key) for key in ("ada", "bea1", "bea2", "ben", "dee", "gil", "ivy", "dan")}
    eve = [await r.requested("eve"), await r.requested("eve")]
    await r.confirm_after(0, [("fay", session_id) for session_id in fay])
    for session_id in fay:
        await ok(r.practices["fay"], CANCEL, {"sessionId": session_id, "reason": "SCHEDULE_CONFLICT"},
                 r.practices["fay"].provider)
    await r.confirm_after(10, [("ivy", sessions["ivy"]), ("dan", sessions["dan"])])
    await r.confirm_after(30, [("ada", sessions["ada"]), ("eve", eve[0])])
    await r.confirm_after(90, [("bea1", sessions["bea1"]), ("bea2", sessions["bea2"]), ("ben", sessions["ben"])])
    await r.confirm_after(170, [("gil", sessions["gil"])])
    await r.confirm_after(240, [("dee", sessions["dee"])])
    await r.confirm_after(300, [("eve", eve[1])])
    await api.gql(SET_VISIBILITY, {"visibility": "INVISIBLE"}, as_=r.practices["ivy"].provider)
    await api.gql(SET_VISIBILITY, {"visibility": "DEACTIVATED", "id": r.gid("dan")}, as_=await api.admin())
    return r


def by_id(*gids: str) -> list[str]:
    """Providers with the same sort key come by id (time-ordered, so in the order they were made)."""
    return sorted(gids, key=lambda gid: base64.urlsafe_b64decode(gid + "=" * (-len(gid) % 4)))


async def test_recommended_ranks_flagged_last_then_late_responses_then_average_then_name(
        api: Api, clock: FrozenClock) -> None:
    r = await ranked_world(api, clock)
    beas = by_id(r.gid("bea1"), r.gid("bea2"))
    expected = [  # (id, name, flagged, late responses, average response minutes)
        (r.gid("ada"), "Ada", False, 0, 30.0),
        (beas[0], "Bea", False, 0, 90.0),
        (beas[1], "Bea", False, 0, 90.0),
        (r.gid("ben"), "Ben", False, 0, 90.0),
        (r.gid("gil"), "Gil", False, 0, 170.0),  # slower, but never late
        (r.gid("cal"), "Cal", False, 0, None),  # no response yet: after every measured one, before any late one
        (r.gid("eve"), "Eve", False, 1, 165.0),
        (r.gid("dee"), "Dee", False, 1, 240.0),
        (r.gid("fay"), "Fay", True, 0, 0.0),  # the fastest, but flagged after 3 cancellations in a row
    ]
    for viewer in (r.member, r.practices["ada"].provider, await api.admin()):
        nodes = await listed(api, viewer)
        assert [(n["id"], n["displayName"], n["reliability"]["flagged"], n["reliability"]["lateResponses"],
                 n["reliability"]["averageResponseMinutes"]) for n in nodes] == expected
        assert await listed(api, viewer, "RECOMMENDED") == nodes
    assert [edge["node"]["id"] for edge in (await api.gql(DEFAULT_ORDER, as_=r.member))["providers"]["edges"]] \
        == [row[0] for row in expected]


async def test_name_order_is_alphabetical_then_by_id_and_lists_only_active_providers(
        api: Api, clock: FrozenClock) -> None:
    r = await ranked_world(api, clock)
    nodes = await listed(api, r.member, "NAME")
    assert [(n["id"], n["displayName"]) for n in nodes] == [
        (r.gid("ada"), "Ada"), *((gid, "Bea") for gid in by_id(r.gid("bea1"), r.gid("bea2"))),
        (r.gid("ben"), "Ben"), (r.gid("cal"), "Cal"), (r.gid("dee"), "Dee"), (r.gid("eve"), "Eve"),
        (r.gid("fay"), "Fay"), (r.gid("gil"), "Gil")]
    invisible, deactivated = r.practices["ivy"].provider, r.practices["dan"].provider
    for themselves in (invisible, deactivated):  # not even to themselves: the list is what members may find
        assert [n["id"] for n in await listed(api, themselves, "NAME")] == [n["id"] for n in nodes]


async def test_pages_of_two_walk_each_order_exactly_once(api: Api, clock: FrozenClock) -> None:
    r = await ranked_world(api, clock)
    for order in ("RECOMMENDED", "NAME"):
        everything = [n["id"] for n in await listed(api, r.member, order)]
        assert len(everything) == 9
        assert await walk(api, r.member, order, 2) == everything, order
        assert await walk(api, r.member, order, 4) == everything, order


def bent(cursor: str, change: Any) -> str:
    values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    changed = change(values)
    return base64.urlsafe_b64encode(json.dumps(changed).encode()).decode().rstrip("=")


async def test_a_cursor_of_the_other_order_or_a_bent_one_is_validation(api: Api, clock: FrozenClock) -> None:
    r = await ranked_world(api, clock)
    recommended = (await api.gql(RANKED, {"first": 2}, as_=r.member))["providers"]["pageInfo"]["endCursor"]
    by_name = (await api.gql(RANKED, {"first": 2, "order": "NAME"}, as_=r.member))["providers"]["pageInfo"][
        "endCursor"]
    for cursor, order in ((by_name, "RECOMMENDED"), (by_name, None), (recommended, "NAME")):
        body = await api.post(RANKED, {"first": 2, "after": cursor, "order": order}, token=r.member.token)
        wanted = order or "RECOMMENDED"
        assert refusal(body) == (None, f"that cursor belongs to another orderBy than {wanted}",
                                 {"code": "VALIDATION", "field": "after"}), order
    bad = [
        "garbage!", recommended[:-3], recommended + "AAAA",
        bent(recommended, lambda v: [*v, "extra"]),
        bent(recommended, lambda v: ["X", *v[1:]]),
        bent(recommended, lambda v: [v[0], "2", *v[2:]]),  # a flag is 0 or 1
        bent(recommended, lambda v: [v[0], v[1], "-1", *v[3:]]),
        bent(recommended, lambda v: [v[0], v[1], v[2], "1e3", *v[4:]]),
        bent(recommended, lambda v: [v[0], v[1], v[2], str(2**31), *v[4:]]),
        bent(recommended, lambda v: [*v[:5], "not-a-uuid"]),
        bent(recommended, lambda v: [v[0], 0, *v[2:]]),  # not a string
        bent(by_name, lambda v: [v[0], v[1], "not-a-uuid"]),
    ]
    for cursor in bad:
        for order in ("RECOMMENDED", "NAME"):
            body = await api.post(RANKED, {"first": 2, "after": cursor, "order": order}, token=r.member.token)
            data, message, extensions = refusal(body)
            assert (data, extensions) == (None, {"code": "VALIDATION", "field": "after"}), (cursor, order)
            assert message in ("that cursor is not one this API gave out",
                               f"that cursor belongs to another orderBy than {order}"), (cursor, order)
    after_bad = await listed(api, r.member)
    assert len(after_bad) == 9  # nothing moved


async def test_third_cancellation_in_a_row_moves_a_provider_below_every_unflagged_one(
        api: Api, clock: FrozenClock) -> None:
    member = await api.member("Sam Member", credits=100)
    r = Ranked(api, clock, member)
    for key, name in [("abe", "Abe"), ("bob", "Bob"), ("cy", "Cy")]:
        await r.add(key, name)
    kept = await r.requested("abe")  # Tuesday 08:00, completed later
    streak = [await r.requested("abe", min_day=3) for _ in range(3)]
    slow = await r.requested("bob")
    await r.confirm_after(0, [("abe", kept), *(("abe", session_id) for session_id in streak)])
    await r.confirm_after(60, [("bob", slow)])
    abe, bob, cy = r.gid("abe"), r.gid("bob"), r.gid("cy")

    async def order() -> list[tuple[str, bool]]:
        return [(n["id"], n["reliability"]["flagged"]) for n in await listed(api, member)]

    assert await order() == [(abe, False), (bob, False), (cy, False)]
    for count, session_id in enumerate(streak, start=1):
        await ok(r.practices["abe"], CANCEL, {"sessionId": session_id, "reason": "SCHEDULE_CONFLICT"},
                 r.practices["abe"].provider)
        if count < 3:
            assert await order() == [(abe, False), (bob, False), (cy, False)], count
    assert await order() == [(bob, False), (cy, False), (abe, True)]
    assert [n["id"] for n in await listed(api, member, "NAME")] == [abe, bob, cy]
    clock.set(when(1, 7, 55))
    await ok(r.practices["abe"], START_SESSION, {"sessionId": kept}, r.practices["abe"].provider)
    clock.set(when(1, 9))
    await ok(r.practices["abe"], END, {"sessionId": kept}, r.practices["abe"].provider)
    assert await order() == [(abe, False), (bob, False), (cy, False)]  # a completed session lowers the flag
