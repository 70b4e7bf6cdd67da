"""Malformed requests get a 400 with a GraphQL-shaped JSON body and a code, never a 500 or plain text.

Before the fix, invalid UTF-8, a body that is not an object and deep nesting were 500s (UnicodeDecodeError,
AttributeError, RecursionError), an integer operationName ran and failed inside graphql-core, and every other
refusal was a `text/plain` body.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.harness.app import Api

JSON = {"content-type": "application/json"}
OK = b'{"query": "{ serverTime }"}'


def bad(message: str, status: int = 400, code: str = "BAD_REQUEST") -> tuple[int, dict[str, Any]]:
    return status, {"errors": [{"message": message, "extensions": {"code": code}}]}


NOT_JSON = bad("not valid JSON")
NOT_AN_OBJECT = bad("the body must be a JSON object with a `query`")

POSTS: dict[str, tuple[bytes, dict[str, str], tuple[int, dict[str, Any]]]] = {
    "invalid UTF-8": (b'{"query": "{ serverTime }\xff"}', JSON, bad("the body is not valid UTF-8")),
    "UTF-16": ('{"query": "{ serverTime }"}'.encode("utf-16"), JSON, bad("the body is not valid UTF-8")),
    "null": (b"null", JSON, NOT_AN_OBJECT),
    "a string": (b'"x"', JSON, NOT_AN_OBJECT),
    "a number": (b"123", JSON, NOT_AN_OBJECT),
    "an empty list": (b"[]", JSON, bad("batching is not supported: send one operation per request")),
    "a batch": (b"[" + OK + b"]", JSON, bad("batching is not supported: send one operation per request")),
    "nested 100,000 deep": (b"[" * 100_000 + b"]" * 100_000, JSON, bad("the JSON is nested too deeply")),
    "variables nested 100,000 deep": (b'{"query": "{ serverTime }", "variables": {"v": ' + b"[" * 100_000
                                      + b"]" * 100_000 + b"}}", JSON, bad("the JSON is nested too deeply")),
    "truncated JSON": (b'{"query": ', JSON, NOT_JSON),
    "NaN": (b'{"query": "{ serverTime }", "variables": {"v": NaN}}', JSON, NOT_JSON),
    "an integer of 5,000 digits": (b'{"query": "{ serverTime }", "variables": {"v": ' + b"9" * 5000 + b"}}", JSON,
                                   NOT_JSON),
    "an integer operationName": (b'{"query": "{ serverTime }", "operationName": 1}', JSON, bad(
        "The GraphQL operation's `operationName` must be a string or null, if provided.")),
    "variables a list": (b'{"query": "{ serverTime }", "variables": []}', JSON, bad(
        "The GraphQL operation's `variables` must be an object or null, if provided.")),
    "variables a string": (b'{"query": "{ serverTime }", "variables": "{}"}', JSON, bad(
        "The GraphQL operation's `variables` must be an object or null, if provided.")),
    "query a number": (b'{"query": 1}', JSON, bad(
        "The GraphQL operation's `query` must be a string or null, if provided.")),
    "no query": (b"{}", JSON, bad("No GraphQL query found in the request")),
    "an unknown operation name": (b'{"query": "{ serverTime }", "operationName": "' + b"x" * 5000 + b'"}', JSON,
                                  bad('Unknown operation named "' + "x" * 175 + "...")),
    "a subscription": (b'{"query": "subscription { notificationAdded { id } }"}', JSON, bad(
        "subscriptions are not allowed when using POST")),
    "text/plain": (OK, {"content-type": "text/plain"}, bad("Unsupported content type")),
    "no content type": (OK, {}, bad("Unsupported content type")),
    "a form": (b"query=%7B+serverTime+%7D", {"content-type": "application/x-www-form-urlencoded"},
               bad("Unsupported content type")),
}

GETS: dict[str, tuple[dict[str, str], tuple[int, dict[str, Any]]]] = {
    "variables not JSON": ({"query": "{ serverTime }", "variables": "[1"}, NOT_JSON),
    "variables nested deep": ({"query": "{ serverTime }", "variables": "[" * 5000}, bad(
        "the JSON is nested too deeply")),
    "variables a list": ({"query": "{ serverTime }", "variables": "[]"}, bad(
        "The GraphQL operation's `variables` must be an object or null, if provided.")),
    "no query": ({}, bad("No GraphQL query found in the request")),
    "a subscription": ({"query": "subscription { notificationAdded { id } }"}, bad(
        "subscriptions are not allowed when using GET")),
    "a mutation": ({"query": "mutation { advanceTestClock(minutes: 1) }"}, bad(
        "mutations are not allowed when using GET")),
}


@pytest.mark.parametrize("name", list(POSTS))
async def test_a_malformed_post_gets_a_coded_400(api: Api, name: str) -> None:
    body, headers, expected = POSTS[name]
    response = await api.client.post("/graphql", content=body, headers=headers)
    assert response.headers["content-type"] == "application/json"
    assert (response.status_code, response.json()) == expected


@pytest.mark.parametrize("name", list(GETS))
async def test_a_malformed_get_gets_a_coded_400(api: Api, name: str) -> None:
    params, expected = GETS[name]
    response = await api.client.get("/graphql", params=params, headers={"accept": "application/json"})
    assert response.headers["content-type"] == "application/json"
    assert (response.status_code, response.json()) == expected


async def test_a_well_formed_post_and_get_still_work(api: Api) -> None:
    post = await api.client.post("/graphql", content=OK, headers={"content-type": "application/json; charset=utf-8"})
    get = await api.client.get("/graphql", params={"query": "{ serverTime }"}, headers={"accept": "application/json"})
    for response in (post, get):
        assert (response.status_code, response.json()) == (200, {"data": {"serverTime": "2026-11-23T08:00:00+00:00"}})
