"""Limits on what one request may ask for, masking of unexpected errors, and the health endpoints."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest

from sessions_gql.services.people import people_queries
from tests.harness.app import Api

PROVIDERS = "{ providers { edges { node { id } } } }"


def nested(levels: int) -> str:
    """viewer { user { member { user { ... { id } } } } } with `levels` fields between viewer and id."""
    inner = "id"
    for level in range(levels):
        inner = f"{('user', 'member')[level % 2]} {{ {inner} }}"
    return f"{{ viewer {{ {inner} }} }}"


def aliased(count: int) -> str:
    return "{ " + " ".join(f"a{i}: serverTime" for i in range(count)) + " }"


def tokens(count: int) -> str:
    """A valid document of exactly `count` tokens (19 of them around the status list)."""
    return "{ sessions(first: 1, filter: {statuses: [" + " CONFIRMED" * (count - 19) + "]}) { totalCount } }"


def only_error(body: dict[str, Any]) -> tuple[str, str]:
    assert body["data"] is None
    (error,) = body["errors"]
    return error["extensions"]["code"], error["message"]


@pytest.mark.parametrize(("allowed", "refused", "message"), [
    (nested(11), nested(12), "'anonymous' exceeds maximum operation depth of 12"),
    (aliased(30), aliased(31), "31 aliases found. Allowed: 30"),
    (tokens(4000), tokens(4001), "Syntax Error: Document contains more than 4000 tokens. Parsing aborted."),
])
async def test_documents_over_a_limit_are_refused_before_running(api: Api, allowed: str, refused: str,
                                                                 message: str) -> None:
    mia = await api.member("Mia")
    assert "errors" not in await api.post(allowed, token=mia.token)
    assert only_error(await api.post(refused, token=mia.token)) == ("GRAPHQL_VALIDATION", message)


async def test_a_body_over_the_limit_gets_413(api: Api) -> None:
    limit = api.deps.settings.max_body_bytes
    padding = " " * (limit - len('{"query": "{ serverTime }"}'))
    at_limit = await api.client.post("/graphql", content=f'{{"query": "{{ serverTime }}"{padding}}}'.encode(),
                                     headers={"content-type": "application/json"})
    assert (at_limit.status_code, at_limit.json()) == (200, {"data": {"serverTime": "2026-11-23T08:00:00+00:00"}})
    response = await api.client.post("/graphql", content=b'{"query": "' + b"x" * limit + b'"}',
                                     headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert response.json() == {"errors": [{"message": f"request body over {limit} bytes",
                                           "extensions": {"code": "PAYLOAD_TOO_LARGE"}}]}


async def test_a_streamed_body_without_length_is_cut_off_at_the_limit(api: Api) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(40):
            yield b" " * 10_000

    response = await api.client.post("/graphql", content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"] == {"code": "PAYLOAD_TOO_LARGE"}


async def test_an_unexpected_exception_is_masked_and_logged_with_the_request_id(
        api: Api, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    async def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("secret detail")

    monkeypatch.setattr(people_queries, "providers_page", broken)
    mia = await api.member("Mia")
    with caplog.at_level(logging.ERROR, logger="sessions_gql.errors"):
        response = await api.client.post("/graphql", json={"query": PROVIDERS},
                                         headers={"Authorization": f"Bearer {mia.token}", "X-Request-Id": "req-42"})
    assert response.status_code == 200
    assert response.headers["x-request-id"] == "req-42"
    assert "secret detail" not in response.text
    body = response.json()
    assert body["data"] is None
    (error,) = body["errors"]
    assert error["message"] == "Internal server error (request id req-42)"
    assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR", "requestId": "req-42"}
    (record,) = [r for r in caplog.records if r.name == "sessions_gql.errors"]
    assert "req-42" in record.getMessage()
    assert record.exc_info is not None and str(record.exc_info[1]) == "secret detail"


async def test_a_request_gets_a_fresh_id_when_the_callers_is_unusable(api: Api,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    async def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("secret detail")

    monkeypatch.setattr(people_queries, "providers_page", broken)
    mia = await api.member("Mia")
    response = await api.client.post("/graphql", json={"query": PROVIDERS},
                                     headers={"Authorization": f"Bearer {mia.token}", "X-Request-Id": "<script>"})
    request_id = response.headers["x-request-id"]
    assert len(request_id) == 32 and request_id.isalnum()
    assert response.json()["errors"][0]["message"] == f"Internal server error (request id {request_id})"


async def test_health_and_readiness(api: Api) -> None:
    health = await api.client.get("/healthz")
    assert (health.status_code, health.text) == (200, "ok")
    ready = await api.client.get("/readyz")
    assert (ready.status_code, ready.json()) == (200, {"ready": True, "checks": {"database": "ok"}})
