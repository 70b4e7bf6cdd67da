"""Schemathesis generates queries and mutations from the live schema and sends them with a valid token.

Every answer must be a proper GraphQL response: no 5xx, and no error that is not masked or coded.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.harness.app import TEST_SECRET
from tests.harness.servers import free_port

CODED = {"VALIDATION", "NOT_FOUND", "FORBIDDEN", "INVALID_TRANSITION", "TOO_LATE", "TOO_EARLY", "SLOT_UNAVAILABLE",
         "SCHEDULE_CONFLICT", "INSUFFICIENT_FUNDS", "LATE_CANCELLATION_UNACKNOWLEDGED", "STALE_VERSION",
         "PROVIDER_UNAVAILABLE", "IDEMPOTENCY_KEY_REUSED", "RATE_LIMITED", "GRAPHQL_VALIDATION", "UNAUTHENTICATED",
         "QUERY_TOO_COMPLEX",
         "INTERNAL_SERVER_ERROR"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """The embedded default in its own process, seeded with the demo world; yields (url, admin token)."""
    db = tmp_path_factory.mktemp("fuzz") / "fuzz.sqlite3"
    env = {**os.environ, "DATABASE_URL": f"sqlite+aiosqlite:///{db}", "SESSIONS_GQL_JWT_SECRET": TEST_SECRET,
           "SESSIONS_GQL_RUN_SCHEDULER": "0"}
    subprocess.run([sys.executable, "-m", "sessions_gql.cli", "seed", "--demo"], env=env, check=True,
                   capture_output=True)
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "sessions_gql.cli", "serve", "--port", str(port)], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(150):
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        token = _admin_token(env)
        yield f"http://127.0.0.1:{port}/graphql", token
    finally:
        process.terminate()
        process.wait(timeout=20)


def _admin_token(env: dict[str, str]) -> str:
    out = subprocess.run([sys.executable, "-m", "sessions_gql.cli", "token", "--email", "admin@demo.example"],
                         env=env, check=True, capture_output=True, text=True)
    return out.stdout.strip()


@pytest.fixture(scope="module")
def graphql_schema(server: tuple[str, str]) -> Any:
    url, token = server
    return schemathesis.graphql.from_url(url, headers={"Authorization": f"Bearer {token}"})


def test_generated_operations_never_fail_the_server(graphql_schema: Any, server: tuple[str, str]) -> None:
    """Every query and mutation field, a few generated documents each (schemathesis's pytest plugin does not yet
    support this pytest, so the operations' Hypothesis strategies are driven directly)."""
    _url, token = server
    strategies = [result.ok().as_strategy() for result in graphql_schema.get_all_operations()]
    assert len(strategies) >= 40
    seen: list[int] = []

    @given(data=st.data())
    @settings(max_examples=len(strategies) * 3, deadline=None, suppress_health_check=list(HealthCheck))
    def check(data: st.DataObject) -> None:
        case = data.draw(st.sampled_from(strategies).flatmap(lambda strategy: strategy))
        response = case.call(headers={"Authorization": f"Bearer {token}"})
        seen.append(response.status_code)
        assert response.status_code < 500, response.text
        for error in response.json().get("errors") or []:
            code = (error.get("extensions") or {}).get("code")
            assert code in CODED, error
            assert code != "INTERNAL_SERVER_ERROR", f"an unexpected error reached the client (masked): {error}"

    check()
    assert len(seen) >= len(strategies)  # the documents were really sent
