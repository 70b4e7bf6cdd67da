"""Prometheus metrics: one registry per app, operation timing, and database gauges computed on scrape.

The email counters are process-wide (the sender imports them) and are added to every app's registry.
"""

from __future__ import annotations

import hmac
import logging
import re
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from sqlalchemy import func, select
from starlette.requests import Request
from starlette.responses import Response
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from sessions_gql.db import models as m
from sessions_gql.services.deps import Deps

log = logging.getLogger("sessions_gql.metrics")
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
NAME = re.compile(r"^[A-Za-z0-9_]{1,64}$")
MAX_OPERATION_NAMES = 200
"""Distinct operation names kept as labels per app; later new names are reported as "other"."""

emails_sent = Counter("emails_sent", "Emails handed to the mail server.", registry=None)
emails_failed = Counter("emails_failed", "Emails the mail server refused or that could not be sent.", registry=None)
presence_unavailable = Counter("presence_unavailable", "Presence reads and writes that failed (Redis down); "
                               "the waiting room showed ABSENT.", ["operation"], registry=None)


class Metrics:
    """The app's collectors, in their own registry (so several apps in one process don't collide)."""

    def __init__(self, *, subscriptions: Callable[[], int] = lambda: 0) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter("graphql_requests", "GraphQL operations finished, by outcome.",
                                ["operation_type", "operation_name", "outcome"], registry=r)
        self.latency = Histogram("graphql_request_seconds", "Time to run a query or mutation.",
                                 ["operation_type", "operation_name"], registry=r)
        self.websocket_connections = Gauge("websocket_connections", "Open GraphQL websockets.", registry=r)
        self.active_subscriptions = Gauge("active_subscriptions", "Subscriptions listening to the hub.",
                                          registry=r)
        self.active_subscriptions.set_function(lambda: float(subscriptions()))
        self.outbox_lag = Gauge("outbox_lag_seconds", "Age of the oldest unpublished outbox row.", registry=r)
        self.outbox_pending = Gauge("outbox_pending", "Unpublished outbox rows.", registry=r)
        self.job_lag = Gauge("job_lag_seconds", "How late the oldest due, unfinished job is.", registry=r)
        self.rate_limited = Counter("rate_limited", "Requests and subscription starts refused by the rate limit.",
                                    ["kind"], registry=r)
        self.rate_limit_errors = Counter("rate_limit_backend_errors",
                                         "Rate-limit checks allowed because Redis could not be reached.", registry=r)
        r.register(emails_sent)
        r.register(emails_failed)
        r.register(presence_unavailable)
        self._names: set[str] = set()

    def operation_label(self, name: str | None) -> str:
        """The operation name as a label: "anonymous", itself, or "other" (odd, long or one too many)."""
        if not name:
            return "anonymous"
        if not NAME.match(name):
            return "other"
        if name not in self._names:
            if len(self._names) >= MAX_OPERATION_NAMES:
                return "other"
            self._names.add(name)
        return name

    def observe(self, operation_type: str, name: str | None, *, ok: bool, seconds: float | None) -> None:
        label = self.operation_label(name)
        self.requests.labels(operation_type, label, "ok" if ok else "error").inc()
        if seconds is not None:
            self.latency.labels(operation_type, label).observe(seconds)

    async def refresh(self, deps: Deps) -> None:
        """Set the database gauges: two cheap queries on indexed columns."""
        now = deps.clock.now()
        async with deps.sessions() as db:
            pending, oldest = (await db.execute(
                select(func.count(), func.min(m.OutboxEvent.created_at)).where(m.OutboxEvent.published_at.is_(None))
            )).one()
            due = await db.scalar(select(func.min(m.Job.run_at)).where(m.Job.done_at.is_(None), m.Job.run_at <= now))
        self.outbox_pending.set(pending)
        self.outbox_lag.set(max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0)
        self.job_lag.set(max(0.0, (now - due).total_seconds()) if due is not None else 0.0)

    def extension(self) -> SchemaExtension:
        """A fresh OperationMetrics for one operation (strawberry's extension factory)."""
        return OperationMetrics(self)


class OperationMetrics(SchemaExtension):
    """Counts each operation when it finishes and times queries and mutations.

    A subscription finishes when its stream ends, so it is counted then (an error if its last result had
    errors, as when it is refused at the start) and not timed; the client closing it is no error.
    """

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    async def on_operation(self) -> AsyncIterator[None]:
        started = time.perf_counter()
        failed = False
        try:
            yield
        except BaseException:
            failed = True
            raise
        finally:
            self._record(time.perf_counter() - started, failed)

    def _record(self, seconds: float, failed: bool) -> None:
        context = self.execution_context
        try:
            kind: str = context.operation_type.value
        except Exception:  # no parsable document, or an operation name it does not contain
            kind = "unknown"
        result: Any = context.result
        errors = getattr(result, "errors", None)
        subscription = kind == OperationType.SUBSCRIPTION.value
        ok = not errors if subscription else not failed and result is not None and not errors
        self.metrics.observe(kind, context.operation_name, ok=ok, seconds=None if subscription else seconds)


async def metrics_endpoint(request: Request) -> Response:
    """GET /metrics in Prometheus' text format; the database gauges keep their last value if it is down.

    With SESSIONS_GQL_METRICS_TOKEN, only for `Authorization: Bearer <that token>` (else 401).
    """
    token = request.app.state.deps.settings.metrics_token
    if token is not None:
        given = request.headers.get("authorization", "")
        expected = f"Bearer {token.get_secret_value()}"
        if not hmac.compare_digest(given.encode("utf-8", "replace"), expected.encode()):
            return Response("metrics need 'Authorization: Bearer <SESSIONS_GQL_METRICS_TOKEN>'\n", status_code=401,
                            media_type="text/plain", headers={"WWW-Authenticate": 'Bearer realm="metrics"'})
    metrics: Metrics = request.app.state.metrics
    try:
        await metrics.refresh(request.app.state.deps)
    except Exception:
        log.warning("metrics: could not read outbox and job lag", exc_info=True)
    return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE)
