"""Observability: Prometheus metrics on /metrics and JSON logs that carry the request id."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from gql import Client, gql
from gql.transport.websockets import WebsocketsTransport
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from sessions_gql.app import create_app
from sessions_gql.clock import FrozenClock
from sessions_gql.db import models as m
from sessions_gql.logging_setup import JsonFormatter
from sessions_gql.observability import Metrics
from sessions_gql.services.people import people_queries
from tests.api.lifecycle_helpers import at, request, world
from tests.harness.app import Api, settings_for
from tests.harness.live import LiveServer

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def scrape(client: httpx.AsyncClient) -> Samples:
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(response.text) for sample in family.samples}


def picked(samples: Samples, name: str) -> dict[frozenset[tuple[str, str]], float]:
    return {labels: value for (sample, labels), value in samples.items() if sample == name}


def labels(**values: str) -> frozenset[tuple[str, str]]:
    return frozenset(values.items())


async def test_operations_are_counted_by_name_type_and_outcome_and_timed(api: Api) -> None:
    mia = await api.member("Mia")
    assert "errors" not in await api.post("query Ping { serverTime }", token=mia.token)
    assert "errors" not in await api.post("query Ping { serverTime }", token=mia.token)
    assert "errors" not in await api.post("{ serverTime }", token=mia.token)
    refused = await api.post("mutation Advance { advanceTestClock(minutes: 5) }")  # no token
    assert refused["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    invalid = await api.post("query " + "Long" * 20 + " { noSuchField }", token=mia.token)
    assert invalid["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION"

    samples = await scrape(api.client)
    assert picked(samples, "graphql_requests_total") == {
        labels(operation_name="Ping", operation_type="query", outcome="ok"): 2.0,
        labels(operation_name="anonymous", operation_type="query", outcome="ok"): 1.0,
        labels(operation_name="Advance", operation_type="mutation", outcome="error"): 1.0,
        labels(operation_name="other", operation_type="query", outcome="error"): 1.0,
    }
    counts = picked(samples, "graphql_request_seconds_count")
    assert counts[labels(operation_name="Ping", operation_type="query")] == 2.0
    assert counts[labels(operation_name="Advance", operation_type="mutation")] == 1.0
    ping_inf = labels(operation_name="Ping", operation_type="query", le="+Inf")
    assert picked(samples, "graphql_request_seconds_bucket")[ping_inf] == 2.0
    assert samples[("graphql_request_seconds_sum", labels(operation_name="Ping", operation_type="query"))] > 0
    assert samples[("websocket_connections", labels())] == 0.0
    assert samples[("active_subscriptions", labels())] == 0.0
    assert samples[("emails_sent_total", labels())] >= 0.0


def test_operation_names_are_capped() -> None:
    metrics = Metrics()
    assert [metrics.operation_label(name) for name in (None, "", "Ping", "a-b", "x" * 64, "x" * 65)] == [
        "anonymous", "anonymous", "Ping", "other", "x" * 64, "other"]
    for i in range(300):
        metrics.operation_label(f"Op{i}")
    assert (metrics.operation_label("Op0"), metrics.operation_label("Op299")) == ("Op0", "other")


async def test_outbox_pending_and_lag_count_only_unpublished_rows(api: Api) -> None:
    now = api.deps.clock.now()
    async with api.deps.sessions() as db:
        assert await db.scalar(select(func.count()).select_from(m.OutboxEvent)) == 0
        for age, published in ((90, None), (30, None), (10, None), (300, now)):
            db.add(m.OutboxEvent(channels=["test"], payload={}, created_at=now - timedelta(seconds=age),
                                 published_at=published))
        await db.commit()
    samples = await scrape(api.client)
    assert samples[("outbox_pending", labels())] == 3.0
    assert samples[("outbox_lag_seconds", labels())] == 90.0


async def test_job_lag_is_how_late_the_oldest_due_job_is(api: Api, clock: FrozenClock) -> None:
    w = await world(api)
    await request(w, at(3, 10))  # awaiting approval: an expiry job, and the member's reminder
    samples = await scrape(api.client)
    assert (samples[("job_lag_seconds", labels())], samples[("outbox_pending", labels())] > 0) == (0.0, True)
    async with api.deps.sessions() as db:
        due = await db.scalar(select(func.min(m.Job.run_at)).where(m.Job.done_at.is_(None)))
    assert due is not None and due > clock.now()
    clock.set(due + timedelta(minutes=7))
    assert (await scrape(api.client))[("job_lag_seconds", labels())] == 420.0


async def test_metrics_can_be_switched_off(database_url: str, clock: FrozenClock) -> None:
    app = create_app(settings_for(database_url, metrics=False), clock=clock, migrate_on_start=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        assert (await client.get("/metrics")).status_code == 404
    await app.state.deps.dispose()


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    """What the `sessions_gql` loggers write, formatted by JsonFormatter."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("sessions_gql")
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.INFO)
    yield stream
    logger.removeHandler(handler)
    logger.setLevel(level)


async def test_json_logs_carry_the_request_id_and_the_traceback(api: Api, json_lines: io.StringIO,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    async def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("secret detail")

    monkeypatch.setattr(people_queries, "providers_page", broken)
    mia = await api.member("Mia")
    response = await api.client.post("/graphql", json={"query": "{ providers { edges { node { id } } } }"},
                                     headers={"Authorization": f"Bearer {mia.token}", "X-Request-Id": "abc123"})
    assert response.headers["x-request-id"] == "abc123"
    logging.getLogger("sessions_gql.test").info("outside a request: %s", "no id")
    entries = [json.loads(line) for line in json_lines.getvalue().splitlines()]
    error = next(entry for entry in entries if entry["logger"] == "sessions_gql.errors")
    assert (error["level"], error["request_id"]) == ("ERROR", "abc123")
    assert error["message"].startswith("unexpected error (request abc123)")
    assert "RuntimeError: secret detail" in error["exc_info"]
    assert error["ts"].endswith("+00:00")
    assert entries[-1] | {"ts": "-"} == {"ts": "-", "level": "INFO", "logger": "sessions_gql.test",
                                         "message": "outside a request: no id", "request_id": None}


async def until(check: Any, live: LiveServer) -> Samples:
    """Scrape until `check(samples)` holds (the server notices opens and closes on its own time)."""
    for _ in range(200):
        samples = await scrape(live.api.client)
        if check(samples):
            return samples
        await asyncio.sleep(0.05)
    raise AssertionError(f"metrics never matched: {samples}")


async def test_websockets_and_subscriptions_are_gauged_and_a_closed_subscription_counts_ok(live: LiveServer
                                                                                          ) -> None:
    mia = await live.api.member("Mia")
    transport = WebsocketsTransport(url=live.ws_url, init_payload={"authorization": f"Bearer {mia.token}"},
                                    subprotocols=["graphql-transport-ws"], connect_timeout=10, close_timeout=1)
    alerts = labels(operation_name="Alerts", operation_type="subscription", outcome="ok")
    async with Client(transport=transport) as session:
        document = gql("subscription Alerts { notificationAdded { kind } }")
        listening = asyncio.create_task(anext(aiter(session.subscribe(document))))
        samples = await until(lambda s: s[("active_subscriptions", labels())] == 1.0, live)
        assert samples[("websocket_connections", labels())] == 1.0
        assert alerts not in picked(samples, "graphql_requests_total")
        listening.cancel()
        await asyncio.gather(listening, return_exceptions=True)
    samples = await until(lambda s: s[("websocket_connections", labels())] == 0.0
                          and s[("active_subscriptions", labels())] == 0.0
                          and alerts in picked(s, "graphql_requests_total"), live)
    assert picked(samples, "graphql_requests_total")[alerts] == 1.0
    assert not [key for key in picked(samples, "graphql_request_seconds_count") if ("operation_name", "Alerts") in key]
