"""`users`: admins find anyone by part of a name, email or phone, page through them, and book for who they find."""

from __future__ import annotations

from typing import Any

from tests.api.factories import gid
from tests.api.lifecycle_helpers import REQUEST, at, world
from tests.harness.app import Api, Person

USERS = """query($first: Int, $after: String, $filter: UserFilter) { users(first: $first, after: $after,
  filter: $filter) { edges { cursor node { id displayName role email phone } }
  pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }"""
FOUND_MEMBER = """query($search: String) { users(filter: {search: $search, role: MEMBER}) {
  edges { node { displayName member { id phone } } } } }"""


async def found(api: Api, admin: Person, **filter_: Any) -> list[str]:
    data = await api.gql(USERS, {"first": 100, "filter": filter_}, as_=admin)
    return [edge["node"]["displayName"] for edge in data["users"]["edges"]]


def errors(body: dict[str, Any]) -> list[tuple[str, str | None]]:
    return [(error["extensions"]["code"], error["extensions"].get("field")) for error in body["errors"]]


async def test_search_matches_part_of_a_name_email_or_phone_in_any_case(api: Api) -> None:
    admin = await api.admin()
    anna = await api.member("Anna Ames", phone="+44 20 7946 0958")
    await api.member("Joanne Jones", phone="+1 212 555 0100")
    await api.provider("Dr Hannah Hill")
    await api.provider("Bo Berg")
    assert await found(api, admin, search="ANN") == ["Anna Ames", "Dr Hannah Hill", "Joanne Jones"]
    assert await found(api, admin, search=" 7946 0 ") == ["Anna Ames"]  # trimmed, then any part of the phone
    assert await found(api, admin, search="@PROVIDER.test") == ["Bo Berg", "Dr Hannah Hill"]
    assert await found(api, admin, search="root@admin") == ["root"]
    assert await found(api, admin, search="nobody") == []
    assert await found(api, admin, search="ann", role="MEMBER") == ["Anna Ames", "Joanne Jones"]
    assert await found(api, admin, role="PROVIDER") == ["Bo Berg", "Dr Hannah Hill"]
    assert await found(api, admin, role="ADMIN") == ["root"]
    assert await found(api, admin, search="   ") == await found(api, admin)  # blank: no filter
    data = await api.gql(USERS, {"filter": {"search": "7946"}}, as_=admin)
    assert data["users"]["edges"][0]["node"] == {"id": gid("User", anna.viewer.user_id), "displayName": "Anna Ames",
                                                 "role": "MEMBER", "email": data["users"]["edges"][0]["node"]["email"],
                                                 "phone": "+44 20 7946 0958"}
    assert data["users"]["edges"][0]["node"]["email"].startswith("anna.ames.")


async def test_percent_underscore_and_backslash_are_literal(api: Api) -> None:
    admin = await api.admin()
    for name in ("Pct 100% Sure", "Snake_Case", "Back\\Slash", "Plain Name"):
        await api.member(name)
    assert await found(api, admin, search="%") == ["Pct 100% Sure"]
    assert await found(api, admin, search="0% s") == ["Pct 100% Sure"]
    assert await found(api, admin, search="_") == ["Snake_Case"]
    assert await found(api, admin, search="\\") == ["Back\\Slash"]
    assert await found(api, admin, search="k\\s") == ["Back\\Slash"]


async def test_pages_follow_display_name_then_id_with_opaque_cursors(api: Api) -> None:
    admin = await api.admin()
    people = [await api.member(name) for name in ("Cy Cole", "Anna Ames", "Cy Cole", "Eve East", "Dee Dunn")]
    first_cy, second_cy = sorted((people[0], people[2]), key=lambda p: str(p.viewer.user_id))
    expected = [gid("User", p.viewer.user_id) for p in (people[1], first_cy, second_cy, people[4], people[3])]
    seen, after, pages = [], None, []
    while True:
        data = (await api.gql(USERS, {"first": 2, "after": after, "filter": {"role": "MEMBER"}}, as_=admin))["users"]
        seen += [edge["node"]["id"] for edge in data["edges"]]
        pages.append((len(data["edges"]), data["pageInfo"]["hasNextPage"], data["pageInfo"]["hasPreviousPage"]))
        assert data["pageInfo"]["endCursor"] == data["edges"][-1]["cursor"]
        if not data["pageInfo"]["hasNextPage"]:
            break
        after = data["pageInfo"]["endCursor"]
    assert seen == expected
    assert pages == [(2, True, False), (2, True, True), (1, False, True)]
    empty = await api.gql(USERS, {"first": 0, "filter": {"role": "MEMBER"}}, as_=admin)
    assert empty["users"]["edges"] == [] and empty["users"]["pageInfo"]["hasNextPage"] is True


async def test_only_admins_list_users_and_bad_arguments_are_refused(api: Api) -> None:
    mia, pat, admin = await api.member("Mia"), await api.provider("Pat"), await api.admin()
    for outsider in (mia, pat):
        body = await api.post(USERS, {}, token=outsider.token)
        assert body["data"] is None
        assert [(e["extensions"]["code"], e["message"]) for e in body["errors"]] == [
            ("FORBIDDEN", "only admins may do this")]
    limit = api.deps.settings.max_page_size
    cases = [({"first": limit + 1}, ("VALIDATION", "first")), ({"first": -1}, ("VALIDATION", "first")),
             ({"after": "not-a-cursor"}, ("VALIDATION", "after")),
             ({"after": "WyJhIl0"}, ("VALIDATION", "after")),  # ["a"]: one part, not two
             ({"filter": {"search": "x" * 201}}, ("VALIDATION", "filter.search"))]
    for variables, expected in cases:
        body = await api.post(USERS, variables, token=admin.token)
        assert (body["data"], errors(body)) == (None, [expected]), variables
    assert len((await api.gql(USERS, {"first": limit}, as_=admin))["users"]["edges"]) == 3


async def test_an_admin_finds_a_member_by_phone_and_books_a_phone_session_for_them(api: Api) -> None:
    w = await world(api)
    admin = await api.admin()
    caller = await api.member("Nguyen Van A", phone="+84 90 123 4567", credits=100)
    data = await api.gql(FOUND_MEMBER, {"search": "123 4567"}, as_=admin)
    (edge,) = data["users"]["edges"]
    assert edge["node"] == {"displayName": "Nguyen Van A", "member": {"id": caller.gid, "phone": "+84 90 123 4567"}}
    booked = await w.run(REQUEST, {"providerId": w.provider.gid, "serviceId": w.service_id, "startsAt": at(1, 10),
                                   "modality": "PHONE", "memberId": edge["node"]["member"]["id"]}, admin)
    assert (booked["__typename"], booked["session"]["status"], booked["session"]["paymentStatus"]) == (
        "SessionSuccess", "AWAITING_APPROVAL", "HELD")
