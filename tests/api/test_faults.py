"""Faults: database connections killed under the API, and a worker dying mid-job."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, func, select, text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from sessions_gql.clock import FrozenClock
from sessions_gql.db import models as m
from sessions_gql.db.engine import create_engine
from sessions_gql.domain.enums import SessionStatus, TimelineEventType
from sessions_gql.realtime import relay as relay_module
from sessions_gql.realtime.hub import Hub
from sessions_gql.realtime.relay import Relay
from sessions_gql.services import scheduler
from sessions_gql.services.sessions import system_jobs
from tests.api.lifecycle_helpers import REQUEST, at, world
from tests.harness.app import Api, running_api, settings_for
from tests.harness.fixtures import database_name, make_database
from tests.harness.servers import PostgresServer

VIEWER = "{ viewer { user { displayName } } }"


async def test_killed_database_connections_are_replaced_without_an_error(
    migrated_pg_template: str, pg_server: PostgresServer, clock: FrozenClock
) -> None:
    """PostgreSQL only: pg_terminate_backend kills the API's pooled connections between two requests."""
    url = make_database(pg_server, template=migrated_pg_template)
    try:
        async with running_api(settings_for(url), clock) as api:
            member = await api.member("Kim Kill")
            assert (await api.gql(VIEWER, as_=member))["viewer"]["user"]["displayName"] == "Kim Kill"
            outsider = create_async_engine(url, poolclass=NullPool)
            async with outsider.connect() as conn:
                killed = (await conn.execute(text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"))).scalar_one()
            await outsider.dispose()
            assert killed >= 1
            api.deps.viewers.clear()  # the next request goes to the database for the viewer too
            assert (await api.gql(VIEWER, as_=member))["viewer"]["user"]["displayName"] == "Kim Kill"
    finally:
        pg_server.drop_database(database_name(url))


async def test_a_checked_out_connection_sends_only_its_own_transaction(
    migrated_pg_template: str, pg_server: PostgresServer
) -> None:
    """PostgreSQL only: the liveness check at checkout is the unit's own BEGIN (db/engine.py), not a ping of
    its own (pool_pre_ping sends BEGIN, an empty statement and ROLLBACK before it)."""
    url = make_database(pg_server, template=migrated_pg_template)
    engine = create_engine(settings_for(url))
    sent: list[str] = []

    @event.listens_for(engine.sync_engine, "connect")
    def _log_queries(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.driver_connection.add_query_logger(lambda record: sent.append(record.query))

    try:
        for value in (1, 2):
            async with engine.begin() as conn:
                assert (await conn.execute(text(f"SELECT {value}"))).scalar_one() == value
        async with engine.connect() as conn:  # checked out and given back unused: rolled back
            pass
    finally:
        await engine.dispose()
        pg_server.drop_database(database_name(url))
    # the logger sees the simple-protocol queries (transaction control); the SELECTs go as prepared statements
    assert sent == ["BEGIN;", "COMMIT;", "BEGIN;", "COMMIT;", "BEGIN;", "ROLLBACK;"]


async def test_a_worker_dying_mid_job_leaves_the_job_to_the_next_worker_exactly_once(api: Api) -> None:
    w = await world(api)
    made = await w.run(REQUEST, {"providerId": w.provider.gid, "serviceId": w.service_id, "startsAt": at(1, 10),
                                 "modality": "VIDEO"}, w.member)
    assert made["__typename"] == "SessionSuccess"
    assert system_jobs.STEPS
    api.deps.clock.advance(timedelta(days=2))
    entered = asyncio.Event()
    original = scheduler.HANDLERS["expire"]

    async def stalls(uow, deps, job, now):  # type: ignore[no-untyped-def]
        entered.set()
        await asyncio.sleep(3600)

    scheduler.HANDLERS["expire"] = stalls
    try:
        dying = asyncio.create_task(scheduler.run_due(api.deps))
        await asyncio.wait_for(entered.wait(), timeout=10)
        dying.cancel()  # the worker dies with the job claimed and its transaction open
        await asyncio.gather(dying, return_exceptions=True)
    finally:
        scheduler.HANDLERS["expire"] = original
    assert await scheduler.run_due(api.deps) == 1
    assert await scheduler.run_due(api.deps) == 0
    async with api.deps.sessions() as db:
        status = await db.scalar(select(m.Session.status))
        expired = await db.scalar(select(func.count()).select_from(m.TimelineEvent).where(
            m.TimelineEvent.type == TimelineEventType.EXPIRED))
    assert (status, expired) == (SessionStatus.EXPIRED, 1)
    assert (await w.wallet())["availableCredits"] == 200


async def test_the_relay_stops_even_when_its_cancellation_is_swallowed_below_it(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A W1 shutdown once waited 20 s for the relay and was killed: py-spy showed the relay still in
    `sequence_once` (the pool's pre-ping) after the stop. Whatever the code it awaits does with the
    cancellation, a stop must end the loop."""
    entered, swallowed = asyncio.Event(), asyncio.Event()

    async def swallows_the_cancel(_deps: object) -> list[object]:
        entered.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            swallowed.set()  # what a driver below was seen to do: the cancellation goes no further
        return []

    monkeypatch.setattr(relay_module, "sequence_once", swallows_the_cancel)
    relay = Relay(api.deps, Hub(api.deps.settings))
    relay.owes_resync = False
    await relay.start()
    relay.kick()
    try:
        async with asyncio.timeout(30):
            await entered.wait()  # the loop is in the read it will be cancelled in
            await relay.stop()
    finally:
        if relay._task is not None and not relay._task.done():
            relay._task.cancel()
    assert swallowed.is_set()
    assert relay._task is not None and relay._task.cancelled()
