"""Faults: database connections killed under the API, and a worker dying mid-job."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from sessions_gql.clock import FrozenClock
from sessions_gql.db import models as m
from sessions_gql.domain.enums import SessionStatus, TimelineEventType
from sessions_gql.services import scheduler, system_jobs
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
