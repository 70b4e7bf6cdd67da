"""Over the API: a string that is not an id this API gave out finds nothing (null, VALIDATION or NOT_FOUND, never
INTERNAL_SERVER_ERROR), and every id it gave out finds its object again."""

from __future__ import annotations

import base64

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.api.factories import gid, insert_service
from tests.fuzz.threaded import ThreadedApi, threaded_api  # noqa: F401 (the fixture)

LOOKUP = ("query($id: ID!) { node(id: $id) { id } session(id: $id) { id } member(id: $id) { id } "
          "provider(id: $id) { id } }")
TYPES = st.sampled_from(["Member", "Provider", "Session", "Service", "Message", "Notification", "User", "Nope"])


def encoded(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def near_misses(issued: list[str]) -> st.SearchStrategy[str]:
    """Issued ids, bent: padded, a character changed, added or dropped, another case."""
    return st.sampled_from(issued).flatmap(lambda real: st.one_of(
        st.just(real + "=" * (-len(real) % 4 or 4)), st.just(real.swapcase()), st.just(real[:-1]),
        st.integers(0, len(real) - 1).flatmap(lambda at: st.sampled_from("A_-!=+/ ").map(
            lambda char: real[:at] + char + real[at + 1:])),
        st.text(min_size=1, max_size=3).map(lambda extra: real + extra)))


def strings(issued: list[str]) -> st.SearchStrategy[str]:
    keys = st.text(max_size=40) | st.uuids().map(str).map(str.upper) | st.integers().map(str) | st.uuids().map(
        lambda u: u.hex) | st.uuids().map(lambda u: "{" + str(u) + "}") | st.integers(2**63, 2**80).map(str)
    return (st.text(max_size=80) | st.builds("{}:{}".format, TYPES, keys).map(encoded) | near_misses(issued)).filter(
        lambda value: value not in issued)


def test_strings_that_are_not_issued_ids_find_nothing(threaded_api: ThreadedApi) -> None:  # noqa: F811
    api = threaded_api.api
    admin = threaded_api.run(api.admin())
    mia, pat = threaded_api.run(api.member("Mia")), threaded_api.run(api.provider("Pat"))
    assert pat.provider_id is not None
    service = gid("Service", threaded_api.run(insert_service(api.deps, pat.provider_id)))
    issued = [mia.gid, pat.gid, service, gid("User", mia.viewer.user_id)]
    codes: list[str] = []

    @given(value=strings(issued))
    @settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
    def lookup(value: str) -> None:
        body = threaded_api.run(api.post(LOOKUP, {"id": value}, token=admin.token))
        assert body["data"] == {"node": None, "session": None, "member": None, "provider": None}, body
        for error in body.get("errors") or []:
            assert error["extensions"]["code"] in ("VALIDATION", "NOT_FOUND"), error
            codes.append(error["extensions"]["code"])

    lookup()
    assert "VALIDATION" in codes  # the refusals were really exercised

    found = threaded_api.run(api.gql("query($m: ID!, $p: ID!, $s: ID!) { m: node(id: $m) { id } "
                                     "p: provider(id: $p) { id } s: node(id: $s) { id } }",
                                     {"m": mia.gid, "p": pat.gid, "s": service}, as_=admin))
    assert found == {"m": {"id": mia.gid}, "p": {"id": pat.gid}, "s": {"id": service}}
