"""Keyset pages of providers, sessions and the wallet ledger; the session views from both sides; filters."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest

from sessions_gql.api.cursors import encode_cursor
from sessions_gql.domain.enums import Party, SessionStatus
from sessions_gql.services.people import wallet
from tests.api.factories import gid, insert_service, insert_session
from tests.harness.app import START, Api, Person

PAGE_INFO = "pageInfo { hasNextPage hasPreviousPage startCursor endCursor }"
PROVIDERS = f"""query($first: Int, $after: String) {{ providers(first: $first, after: $after) {{
  edges {{ cursor node {{ id displayName }} }} {PAGE_INFO} }} }}"""
SESSIONS = f"""query($first: Int, $after: String, $filter: SessionFilter) {{
  sessions(first: $first, after: $after, filter: $filter) {{ totalCount edges {{ cursor node {{ id }} }} {PAGE_INFO} }}
}}"""
LEDGER = f"""query($id: ID!, $first: Int, $after: String) {{ member(id: $id) {{ wallet {{
  ledger(first: $first, after: $after) {{ edges {{ cursor node {{ credits }} }} {PAGE_INFO} }} }} }} }}"""


async def all_pages(api: Api, as_: Person, document: str, path: list[str], first: int,
                    **variables: Any) -> list[dict[str, Any]]:
    """Every page, following endCursor while hasNextPage; checks each page's pageInfo on the way."""
    pages: list[dict[str, Any]] = []
    after = None
    while True:
        data = await api.gql(document, {**variables, "first": first, "after": after}, as_=as_)
        for key in path:
            data = data[key]
        edges = data["edges"]
        assert data["pageInfo"] == {"hasNextPage": data["pageInfo"]["hasNextPage"],
                                    "hasPreviousPage": after is not None,
                                    "startCursor": edges[0]["cursor"], "endCursor": edges[-1]["cursor"]}
        pages.append(data)
        if not data["pageInfo"]["hasNextPage"]:
            return pages
        assert len(edges) == first
        after = data["pageInfo"]["endCursor"]
        assert len(pages) < 20, "pagination does not end"


def error_of(body: dict[str, Any]) -> tuple[str, str | None]:
    (error,) = body["errors"]
    return error["extensions"]["code"], error["extensions"].get("field")


async def test_providers_pages_by_name_then_id_without_gaps_or_duplicates(api: Api) -> None:
    admin = await api.admin()
    for name in ("Cy", "Bob", "Ann", "Bob", "Bob"):
        await api.provider(name)
    pages = await all_pages(api, admin, PROVIDERS, ["providers"], 2)
    names = [[e["node"]["displayName"] for e in page["edges"]] for page in pages]
    assert names == [["Ann", "Bob"], ["Bob", "Bob"], ["Cy"]]
    seen = [e["node"]["id"] for page in pages for e in page["edges"]]
    everything = await api.gql(PROVIDERS, {"first": 100}, as_=admin)
    assert seen == [e["node"]["id"] for e in everything["providers"]["edges"]]
    assert len(set(seen)) == 5


async def test_providers_first_zero_is_an_empty_page(api: Api) -> None:
    await api.provider("Ann")
    data = await api.gql(PROVIDERS, {"first": 0}, as_=await api.admin())
    assert data["providers"] == {"edges": [], "pageInfo": {"hasNextPage": True, "hasPreviousPage": False,
                                                           "startCursor": None, "endCursor": None}}


@pytest.mark.parametrize(("variables", "field"), [
    ({"first": 101}, "first"), ({"first": -1}, "first"), ({"after": "garbage"}, "after"),
    ({"after": encode_cursor("Ann", "not-a-uuid")}, "after"), ({"after": encode_cursor("Ann")}, "after"),
])
async def test_providers_page_refuses_bad_arguments(api: Api, variables: dict[str, Any], field: str) -> None:
    body = await api.post(PROVIDERS, variables, token=(await api.admin()).token)
    assert body["data"] is None
    assert error_of(body) == ("VALIDATION", field)


async def test_ledger_pages_newest_first(api: Api) -> None:
    admin, mia = await api.admin(), await api.member("Mia")
    assert mia.member_id is not None
    for credits in (1, 2, 3, 4, 5):
        await wallet.grant_credits(api.deps, viewer=admin.viewer,
                                   command=wallet.GrantCredits(member_id=mia.member_id, credits=credits))
    pages = await all_pages(api, mia, LEDGER, ["member", "wallet", "ledger"], 2, id=mia.gid)
    assert [[e["node"]["credits"] for e in page["edges"]] for page in pages] == [[5, 4], [3, 2], [1]]


@pytest.mark.parametrize(("variables", "field"), [
    ({"first": 101}, "first"), ({"after": "!!!"}, "after"), ({"after": encode_cursor("x")}, "after"),
    ({"after": encode_cursor("2026-11-23T08:00:00+00:00", uuid.uuid4())}, "after"),
])
async def test_ledger_page_refuses_bad_arguments(api: Api, variables: dict[str, Any], field: str) -> None:
    mia = await api.member("Mia", credits=3)
    body = await api.post(LEDGER, {"id": mia.gid, **variables}, token=mia.token)
    assert body["data"] == {"member": {"wallet": None}}
    assert error_of(body) == ("VALIDATION", field)
    assert body["errors"][0]["path"] == ["member", "wallet", "ledger"]


# ---------------------------------------------------------------- sessions

HOUR, DAY = timedelta(hours=1), timedelta(days=1)
S = SessionStatus
# label: (member, starts after START, status, approved by member, approved by provider, proposal by)
SESSIONS_OF = {
    "ongoing": ("mia", -10 * timedelta(minutes=1), S.IN_PROGRESS, True, True, None),
    "confirmed": ("mia", DAY, S.CONFIRMED, True, True, None),
    "max_confirmed": ("max", DAY + 2 * HOUR, S.CONFIRMED, True, True, None),
    "member_moves": ("mia", 2 * DAY, S.RESCHEDULING, True, True, Party.MEMBER),
    "declined": ("mia", 2 * DAY + HOUR, S.DECLINED, True, False, None),
    "requested": ("mia", 3 * DAY, S.AWAITING_APPROVAL, True, False, None),
    "proposed": ("mia", 4 * DAY, S.AWAITING_APPROVAL, False, True, None),
    "provider_moves": ("mia", 5 * DAY, S.RESCHEDULING, True, True, Party.PROVIDER),
    "completed": ("mia", -3 * DAY, S.COMPLETED, True, True, None),
    "unclosed": ("mia", -2 * DAY, S.CONFIRMED, True, True, None),
    "cancelled": ("mia", -DAY, S.CANCELLED, True, True, None),
}


@pytest.fixture
async def booked(api: Api) -> tuple[dict[str, Person], dict[str, str]]:
    people = {"mia": await api.member("Mia"), "max": await api.member("Max"), "pat": await api.provider("Pat"),
              "admin": await api.admin()}
    assert people["pat"].provider_id is not None
    service = await insert_service(api.deps, people["pat"].provider_id)
    labels: dict[str, str] = {}
    for label, (who, offset, status, by_member, by_provider, proposal) in SESSIONS_OF.items():
        member_id = people[who].member_id
        assert member_id is not None
        session_id = await insert_session(api.deps, member_id, people["pat"].provider_id, service, START + offset,
                                          status, approved_by_member=by_member, approved_by_provider=by_provider,
                                          proposal_by=proposal)
        labels[gid("Session", session_id)] = label
    return people, labels


async def listed(api: Api, person: Person, labels: dict[str, str], first: int = 50, **filter: Any) -> list[str]:
    data = await api.gql(SESSIONS, {"first": first, "filter": filter}, as_=person)
    assert data["sessions"]["totalCount"] == len(data["sessions"]["edges"])
    return [labels[e["node"]["id"]] for e in data["sessions"]["edges"]]


VIEWS = {
    ("mia", "UPCOMING"): ["ongoing", "confirmed", "member_moves", "provider_moves"],
    ("mia", "AWAITING_MY_RESPONSE"): ["proposed", "provider_moves"],
    ("mia", "AWAITING_THEIR_RESPONSE"): ["member_moves", "requested"],
    ("mia", "ONGOING"): ["ongoing"],
    ("mia", "PAST"): ["declined", "cancelled", "completed"],
    ("pat", "UPCOMING"): ["ongoing", "confirmed", "max_confirmed", "member_moves", "provider_moves"],
    ("pat", "AWAITING_MY_RESPONSE"): ["member_moves", "requested"],
    ("pat", "AWAITING_THEIR_RESPONSE"): ["proposed", "provider_moves"],
    ("pat", "ONGOING"): ["ongoing"],
    ("pat", "PAST"): ["declined", "cancelled", "completed"],
    ("admin", "AWAITING_MY_RESPONSE"): ["member_moves", "requested", "proposed", "provider_moves"],
}


async def test_session_views_from_the_member_and_the_provider_side(api: Api, booked: Any) -> None:
    people, labels = booked
    for (who, view), expected in VIEWS.items():
        assert await listed(api, people[who], labels, view=view) == expected, (who, view)


async def test_sessions_page_through_in_start_order_with_total_count(api: Api, booked: Any) -> None:
    people, labels = booked
    pages = await all_pages(api, people["mia"], SESSIONS, ["sessions"], 3)
    assert [page["totalCount"] for page in pages] == [10, 10, 10, 10]
    assert [[labels[e["node"]["id"]] for e in page["edges"]] for page in pages] == [
        ["completed", "unclosed", "cancelled"], ["ongoing", "confirmed", "member_moves"],
        ["declined", "requested", "proposed"], ["provider_moves"]]


async def test_past_view_pages_newest_first(api: Api, booked: Any) -> None:
    people, labels = booked
    pages = await all_pages(api, people["pat"], SESSIONS, ["sessions"], 2, filter={"view": "PAST"})
    assert [[labels[e["node"]["id"]] for e in page["edges"]] for page in pages] == [
        ["declined", "cancelled"], ["completed"]]
    assert [page["totalCount"] for page in pages] == [3, 3]


async def test_sessions_filter_by_status_and_start_window(api: Api, booked: Any) -> None:
    people, labels = booked
    mia = people["mia"]
    assert await listed(api, mia, labels, statuses=["CONFIRMED", "CANCELLED"]) == ["unclosed", "cancelled",
                                                                                    "confirmed"]
    window = {"startsAfter": (START + DAY).isoformat(), "startsBefore": (START + 3 * DAY).isoformat()}
    assert await listed(api, mia, labels, **window) == ["confirmed", "member_moves", "declined"]
    assert await listed(api, mia, labels, view="UPCOMING", statuses=["RESCHEDULING"]) == ["member_moves",
                                                                                          "provider_moves"]
    assert await listed(api, people["pat"], labels, memberId=people["max"].gid) == ["max_confirmed"]


async def test_sessions_first_zero_counts_without_edges(api: Api, booked: Any) -> None:
    people, _ = booked
    data = await api.gql(SESSIONS, {"first": 0}, as_=people["pat"])
    assert data["sessions"] == {"totalCount": 11, "edges": [], "pageInfo": {
        "hasNextPage": True, "hasPreviousPage": False, "startCursor": None, "endCursor": None}}


@pytest.mark.parametrize(("variables", "field"), [
    ({"first": 101}, "first"), ({"after": "garbage"}, "after"),
    ({"after": encode_cursor("Ann", uuid.uuid4())}, "after"),
    ({"after": encode_cursor(START.isoformat(), "x")}, "after"),
    ({"after": encode_cursor("2026-11-23T08:00:00", uuid.uuid4())}, "after"),
    ({"filter": {"startsAfter": START.isoformat(), "startsBefore": START.isoformat()}}, "filter.startsBefore"),
    ({"filter": {"memberId": "??"}}, "filter.memberId"),
])
async def test_sessions_page_refuses_bad_arguments(api: Api, variables: dict[str, Any], field: str) -> None:
    body = await api.post(SESSIONS, variables, token=(await api.admin()).token)
    assert body["data"] is None
    assert error_of(body) == ("VALIDATION", field)
