"""Random bytes, JSON and near-operations as POST bodies, and random GET parameters: never a 5xx, always a JSON
body whose errors carry a code (and never INTERNAL_SERVER_ERROR)."""

from __future__ import annotations

import json
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fuzz.threaded import ThreadedApi, threaded_api  # noqa: F401 (the fixture)

CODES = {"BAD_REQUEST", "GRAPHQL_VALIDATION", "UNAUTHENTICATED", "VALIDATION", "NOT_FOUND", "FORBIDDEN",
         "QUERY_TOO_COMPLEX", "PAYLOAD_TOO_LARGE", "RATE_LIMITED", "INVALID_TRANSITION"}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12)
documents = st.sampled_from([
    "{ serverTime }", "query Q { serverTime }", "{ viewer { user { id role } } }", "{", "",
    "mutation { advanceTestClock(minutes: 1) }", "subscription { notificationAdded { id } }",
    "query($id: ID!) { node(id: $id) { id } }", "query($n: Int) { providers(first: $n) { edges { node { id } } } }",
    "query($f: DateTime!) { sessions(filter: {startsAfter: $f}) { totalCount } }",
]) | st.text(max_size=60)
variables = json_values | st.dictionaries(st.sampled_from(["id", "n", "f"]), json_values, max_size=3)
operations = st.fixed_dictionaries({}, optional={
    "query": documents | json_values, "variables": variables, "operationName": st.none() | st.text(max_size=8)
    | json_values, "extensions": json_values})


def encoded(value: Any) -> bytes:
    return json.dumps(value).encode()


bodies = st.one_of(
    operations.map(encoded), operations.map(encoded).map(lambda body: body[:-1]), json_values.map(encoded),
    st.binary(max_size=200), operations.map(lambda op: json.dumps(op).encode("utf-16")),
    st.integers(1, 3000).map(lambda depth: b"[" * depth + b"]" * depth))
content_types = st.just("application/json") | st.sampled_from([
    "application/json; charset=utf-8", "text/plain", "", "application/graphql", "multipart/form-data; boundary=x",
    "application/x-www-form-urlencoded", "application/json; charset=latin-1"])
parameters = st.dictionaries(
    st.sampled_from(["query", "variables", "operationName", "extensions"]) | st.text(max_size=6),
    documents | json_values.map(json.dumps) | st.text(max_size=40), max_size=4)


def check(response: httpx.Response) -> None:
    assert response.status_code < 500, response.text
    assert response.headers["content-type"] == "application/json", response.text
    body = response.json()
    assert isinstance(body, dict)
    if response.status_code != 200:
        assert body.get("errors"), body
    assert "data" in body or body.get("errors"), body
    for error in body.get("errors") or []:
        assert isinstance(error["message"], str) and len(error["message"]) <= 500, error
        assert error["extensions"]["code"] in CODES, error


def test_random_post_bodies_get_coded_json(threaded_api: ThreadedApi) -> None:  # noqa: F811
    token = threaded_api.run(threaded_api.api.member("Mia")).token
    sent: list[int] = []

    @given(body=bodies, content_type=content_types, signed=st.booleans())
    @settings(max_examples=250, deadline=None, suppress_health_check=list(HealthCheck))
    def post(body: bytes, content_type: str, signed: bool) -> None:
        headers = {"content-type": content_type} if content_type else {}
        if signed:
            headers["authorization"] = f"Bearer {token}"
        response = threaded_api.run(threaded_api.api.client.post("/graphql", content=body, headers=headers))
        sent.append(response.status_code)
        check(response)

    post()
    assert {200, 400} <= set(sent)  # both well-formed and refused requests were really sent


def test_random_get_parameters_get_coded_json(threaded_api: ThreadedApi) -> None:  # noqa: F811
    sent: list[int] = []

    @given(params=parameters)
    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    def get(params: dict[str, str]) -> None:
        response = threaded_api.run(threaded_api.api.client.get("/graphql", params=params,
                                                                headers={"accept": "application/json"}))
        sent.append(response.status_code)
        check(response)

    get()
    assert {200, 400} <= set(sent)
