"""`SessionFilter.funding` (seed 002: "completed, cancelled, paid, free sessions"): sessions by how they were paid."""

from __future__ import annotations

from typing import Any

from sessions_gql.domain.enums import Funding
from tests.api.lifecycle_helpers import PROPOSE, WITHDRAW, World, at, ok, request, world
from tests.harness.app import Api, Person

SESSIONS = """query($filter: SessionFilter, $first: Int, $after: String) {
  sessions(first: $first, after: $after, filter: $filter) {
    totalCount edges { node { id funding status } } pageInfo { hasNextPage endCursor } } }"""
MEMBER_SESSIONS = """query($id: ID!, $filter: SessionFilter) { member(id: $id) {
  sessions(first: 20, filter: $filter) { totalCount edges { node { id } } } } }"""
SPONSOR = """mutation($input: GrantSponsorshipInput!) { grantSponsorship(input: $input) { __typename } }"""


async def listed(api: Api, who: Person, filter: dict[str, Any] | None, first: int = 20) -> tuple[int, list[str]]:
    data = (await api.gql(SESSIONS, {"filter": filter, "first": first}, as_=who))["sessions"]
    return data["totalCount"], [edge["node"]["id"] for edge in data["edges"]]


async def history(api: Api) -> tuple[World, dict[str, str], Person]:
    """A free consultation, a sponsored, a paid and a withdrawn paid session of one member, the free
    consultation of another member, and an offer the member has not accepted (not funded yet)."""
    w = await world(api, free_consultation=True)
    await api.gql(SPONSOR, {"input": {"memberId": w.member.gid, "sponsor": "Acme", "hours": 1.0}},
                  as_=await api.admin())
    other = await api.member("Other", credits=200)
    made = {
        "free": await request(w, at(1, 9)),
        "sponsored": await request(w, at(1, 11)),
        "paid": await request(w, at(1, 13)),
        "withdrawn": await request(w, at(1, 15)),
        "others": await request(w, at(2, 9), member=other),
        "offer": await ok(w, PROPOSE, {"memberId": w.member.gid, "serviceId": w.service_id, "startsAt": at(2, 11),
                                       "durationMinutes": 60, "priceCredits": 30, "modality": "VIDEO"}, w.provider),
    }
    await ok(w, WITHDRAW, {"sessionId": made["withdrawn"]["id"]}, w.member)
    assert [(made[k]["funding"]) for k in ("free", "sponsored", "paid", "withdrawn", "others", "offer")] == [
        "FREE_CONSULTATION", "SPONSORED", "CREDITS", "CREDITS", "FREE_CONSULTATION", None]
    return w, {key: row["id"] for key, row in made.items()}, other


async def test_sessions_filter_by_funding_for_the_provider_and_the_member(api: Api) -> None:
    w, ids, other = await history(api)
    every = [value.value for value in Funding]  # whatever values the contract has (PACKAGE included once added)
    assert await listed(api, w.provider, {"funding": ["FREE_CONSULTATION"]}) == (2, [ids["free"], ids["others"]])
    assert await listed(api, w.provider, {"funding": ["SPONSORED"]}) == (1, [ids["sponsored"]])
    assert await listed(api, w.provider, {"funding": ["CREDITS"]}) == (2, [ids["paid"], ids["withdrawn"]])
    assert await listed(api, w.provider, {"funding": ["CREDITS", "CREDITS"]}) == (2, [ids["paid"], ids["withdrawn"]])
    assert await listed(api, w.provider, {"funding": ["SPONSORED", "CREDITS"]}) == (
        3, [ids["sponsored"], ids["paid"], ids["withdrawn"]])
    funded = [ids["free"], ids["sponsored"], ids["paid"], ids["withdrawn"], ids["others"]]
    assert await listed(api, w.provider, {"funding": every}) == (5, funded)  # the unfunded offer matches none
    assert await listed(api, w.provider, {"funding": []}) == (6, [*funded, ids["offer"]])  # no filter
    assert await listed(api, w.provider, {"funding": None}) == (6, [*funded, ids["offer"]])
    # combined with the other filters: the cancelled paid sessions, and the free ones of one member
    assert await listed(api, w.provider, {"funding": ["CREDITS"], "statuses": ["CANCELLED"]}) == (
        1, [ids["withdrawn"]])
    assert await listed(api, w.provider, {"funding": ["FREE_CONSULTATION"], "memberId": other.gid}) == (
        1, [ids["others"]])
    # keyset pages keep the filter
    page = (await api.gql(SESSIONS, {"filter": {"funding": ["CREDITS", "SPONSORED"]}, "first": 2},
                          as_=w.provider))["sessions"]
    assert ([e["node"]["id"] for e in page["edges"]], page["pageInfo"]["hasNextPage"]) == (
        [ids["sponsored"], ids["paid"]], True)
    rest = await api.gql(SESSIONS, {"filter": {"funding": ["CREDITS", "SPONSORED"]}, "first": 2,
                                    "after": page["pageInfo"]["endCursor"]}, as_=w.provider)
    assert [e["node"]["id"] for e in rest["sessions"]["edges"]] == [ids["withdrawn"]]
    # a member sees only their own
    assert await listed(api, w.member, {"funding": ["CREDITS"]}) == (2, [ids["paid"], ids["withdrawn"]])
    assert await listed(api, other, {"funding": ["FREE_CONSULTATION", "SPONSORED"]}) == (1, [ids["others"]])
    assert await listed(api, other, {"funding": ["CREDITS"]}) == (0, [])
    on_member = await api.gql(MEMBER_SESSIONS, {"id": w.member.gid, "filter": {"funding": ["FREE_CONSULTATION"]}},
                              as_=w.provider)
    assert on_member["member"]["sessions"] == {"totalCount": 1, "edges": [{"node": {"id": ids["free"]}}]}


async def test_a_funding_list_longer_than_the_values_is_refused(api: Api) -> None:
    w, ids, _other = await history(api)
    every = [value.value for value in Funding]
    body = await api.post(SESSIONS, {"filter": {"funding": [*every, every[0]]}, "first": 20}, token=w.provider.token)
    assert body["data"] is None
    (refusal,) = body["errors"]
    assert (refusal["message"], refusal["extensions"]["code"], refusal["extensions"]["field"]) == (
        f"filter.funding lists at most {len(every)} values", "VALIDATION", "filter.funding")
    unknown = await api.post(SESSIONS, {"filter": {"funding": ["GIFT"]}}, token=w.provider.token)
    assert "GIFT" in unknown["errors"][0]["message"] and unknown.get("data") is None
    assert await listed(api, w.provider, None) == (6, list(ids.values()))  # nothing changed
