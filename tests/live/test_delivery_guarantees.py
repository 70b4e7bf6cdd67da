"""Nothing is lost: concurrent writers, a Redis restart mid-stream, and two API processes."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from gql import Client, gql
from gql.transport.websockets import WebsocketsTransport
from sqlalchemy import func, select
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeout

from sessions_gql.api.cursors import decode_cursor
from sessions_gql.api.sessions import types as session_types
from sessions_gql.app import build_deps
from sessions_gql.db import models as m
from sessions_gql.realtime.hub import RESYNC_CHANNEL
from sessions_gql.realtime.relay import Relay, pending, sequence_once
from tests.api.lifecycle_helpers import REQUEST, action, world
from tests.harness.app import START, TEST_SECRET, Api, settings_for
from tests.harness.fixtures import database_name, make_database
from tests.harness.live import LiveServer, own_pg_redis_server
from tests.harness.servers import PostgresServer, RedisServer, free_port

EVENTS = gql("subscription($after: String) { sessionEvents(after: $after) { type cursor session { id } } }")


def ws(url: str, token: str) -> WebsocketsTransport:
    return WebsocketsTransport(url=url, init_payload={"authorization": f"Bearer {token}"},
                               subprotocols=["graphql-transport-ws"], connect_timeout=10, close_timeout=1)


async def listen(url: str, token: str, count: int, ready: asyncio.Event, after: str | None = None
                 ) -> list[dict[str, Any]]:
    got: list[dict[str, Any]] = []
    async with Client(transport=ws(url, token)) as session:
        stream = session.subscribe(EVENTS, variable_values={"after": after})
        ready.set()
        async for event in stream:
            got.append(event["sessionEvents"])
            if len(got) == count:
                break
    return got


async def start_listening(url: str, token: str, count: int) -> asyncio.Task[list[dict[str, Any]]]:
    """A live-only subscriber on the server at `url`, returned once that server counts it live (past its start
    position: whatever commits from then on reaches it), however long that takes on a busy machine."""
    http = url.replace("ws://", "http://").removesuffix("/graphql")
    before = await live_subscriptions(http)
    ready = asyncio.Event()
    task = asyncio.create_task(listen(url, token, count, ready))
    async with httpx.AsyncClient(base_url=http, timeout=10) as client:
        for _ in range(1500):
            if await live_subscriptions(http, client) > before:
                return task
            assert not task.done(), task
            await asyncio.sleep(0.02)
    raise AssertionError("the subscription never went live")


async def live_subscriptions(http: str, client: httpx.AsyncClient | None = None) -> float:
    """The server's active_subscriptions gauge (from /metrics, so it works for another process too)."""
    async with contextlib.AsyncExitStack() as stack:
        if client is None:
            client = await stack.enter_async_context(httpx.AsyncClient(base_url=http, timeout=10))
        text = (await client.get("/metrics")).text
    (value,) = [line.split()[1] for line in text.splitlines() if line.startswith("active_subscriptions ")]
    return float(value)


def at(hours: int) -> str:
    return (START + timedelta(days=1, hours=hours)).isoformat()


def weekday_ahead() -> str:
    """10:00 UTC on a weekday two to four days from the real today: bookable by the world's provider (London,
    weekdays 08:00-18:00) on servers that run on the real clock, whatever the date of the run."""
    day = datetime.now(UTC).replace(hour=10, minute=0, second=0, microsecond=0) + timedelta(days=2)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day.isoformat()


async def test_concurrent_writers_reach_a_subscriber_exactly_once_in_commit_order(live: LiveServer) -> None:
    w = await world(live.api)
    members = [await live.api.member(f"Writer {i}", credits=100) for i in range(6)]
    task = await start_listening(live.ws_url, w.provider.token, 6 * 3 + 6 * 2)
    requests = await asyncio.gather(*(
        w.run(REQUEST, {"providerId": w.provider.gid, "serviceId": w.service_id, "startsAt": at(i),
                        "modality": "VIDEO"}, member) for i, member in enumerate(members)))
    await asyncio.gather(*(w.run(action("confirmSession"), {"sessionId": r["session"]["id"]}, w.provider)
                           for r in requests))
    events = await asyncio.wait_for(task, timeout=30)
    positions = [int(decode_cursor(e["cursor"], parts=1)[0]) for e in events]
    assert positions == sorted(positions) and len(set(positions)) == len(positions) == 30
    async with live.deps.sessions() as db:
        stored = (await db.scalars(select(m.TimelineEvent.position).order_by(m.TimelineEvent.position))).all()
    assert positions == list(stored)


async def test_events_made_while_redis_is_down_arrive_once_after_it_restarts(
    pg_server: PostgresServer, redis_server: RedisServer, migrated_pg_template: str, clock: Any
) -> None:
    async with own_pg_redis_server(pg_server, redis_server, migrated_pg_template, clock) as live:
        app = live.app
        w = await world(live.api)
        task = await start_listening(live.ws_url, w.provider.token, 9)
        first = await w.run(REQUEST, {"providerId": w.provider.gid, "serviceId": w.service_id,
                                      "startsAt": at(1), "modality": "VIDEO"}, w.member)
        await app.state.realtime.relay.drain()
        redis_server.kill()
        second = await w.run(REQUEST, {"providerId": w.provider.gid, "serviceId": w.service_id,
                                       "startsAt": at(3), "modality": "VIDEO"}, w.member)
        third = await w.run(REQUEST, {"providerId": w.provider.gid, "serviceId": w.service_id,
                                      "startsAt": at(5), "modality": "VIDEO"}, w.member)
        await app.state.realtime.relay.drain()
        redis_server.restart()
        events = await asyncio.wait_for(task, timeout=30)
        ids = [e["session"]["id"] for e in events]
        assert ids == [first["session"]["id"]] * 3 + [second["session"]["id"]] * 3 + [third["session"]["id"]] * 3
        assert [e["type"] for e in events] == ["REQUESTED", "APPROVED_BY_MEMBER", "FUNDS_HELD"] * 3
        assert app.state.realtime.hub.backend.reconnects >= 1


def spawn(url: str, redis_url: str, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": redis_url, "SESSIONS_GQL_JWT_SECRET": TEST_SECRET,
           "SESSIONS_GQL_RUN_SCHEDULER": "0"}
    return subprocess.Popen([sys.executable, "-m", "sessions_gql.cli", "serve", "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def wait_ready(port: int, process: subprocess.Popen[bytes]) -> None:
    """Until the server answers /readyz: a process starting on a busy machine (imports, migrations under the
    advisory lock) may take far longer than on an idle one, so wait up to two minutes unless it exits."""
    deadline = asyncio.get_running_loop().time() + 120
    async with httpx.AsyncClient() as client:
        while asyncio.get_running_loop().time() < deadline:
            assert process.poll() is None, f"server on {port} exited with {process.returncode}"
            try:
                if (await client.get(f"http://127.0.0.1:{port}/readyz")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass  # not listening yet: poll again until the deadline
            await asyncio.sleep(0.1)
    raise AssertionError(f"server on {port} never became ready")


async def test_a_change_on_one_api_process_reaches_a_subscriber_on_another(
    pg_server: PostgresServer, redis_server: RedisServer, migrated_pg_template: str
) -> None:
    url = make_database(pg_server, template=migrated_pg_template)
    ports = [free_port(), free_port()]
    processes = [spawn(url, redis_server.url, port) for port in ports]
    deps = build_deps(settings_for(url, redis_url=redis_server.url))
    try:
        await asyncio.gather(*(wait_ready(port, process) for port, process in zip(ports, processes, strict=True)))
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{ports[0]}", timeout=20) as client:
            w = await world(Api(client, deps))
            task = await start_listening(f"ws://127.0.0.1:{ports[1]}/graphql", w.member.token, 3)
            made = await w.run(REQUEST, {"providerId": w.provider.gid, "serviceId": w.service_id,
                                         "startsAt": weekday_ahead(), "modality": "VIDEO"}, w.member)
            assert made["__typename"] == "SessionSuccess", made
            events = await asyncio.wait_for(task, timeout=30)
        assert [(e["type"], e["session"]["id"]) for e in events] == [
            (kind, made["session"]["id"]) for kind in ("REQUESTED", "APPROVED_BY_MEMBER", "FUNDS_HELD")]
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=15)
        await deps.dispose()
        pg_server.drop_database(database_name(url))


pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


ADD_NOTE = """mutation($i: AddNoteInput!) { addNote(input: $i) { __typename } }"""
SEND = """mutation($i: SendMessageInput!) { sendMessage(input: $i) { __typename } }"""


async def test_every_streamed_row_gets_a_position(live: LiveServer) -> None:
    """Whatever writes a timeline event, notification or message also writes the outbox row that sequences it."""
    w = await world(live.api)
    made = await w.run(REQUEST, {"providerId": w.provider.gid, "serviceId": w.service_id, "startsAt": at(2),
                                 "modality": "VIDEO"}, w.member)
    session_id = made["session"]["id"]
    await w.run(action("confirmSession"), {"sessionId": session_id}, w.provider)
    noted = await live.api.gql(ADD_NOTE, {"i": {"sessionId": session_id, "body": "prefers mornings"}},
                               as_=w.provider)
    assert noted["addNote"]["__typename"] == "NoteSuccess"
    sent = await live.api.gql(SEND, {"i": {"recipientId": w.member.gid, "body": "hello", "clientMessageId": "p-1"}},
                              as_=w.provider)
    assert sent["sendMessage"]["__typename"] == "MessageSuccess"
    await live.settle()
    async with live.deps.sessions() as db:
        unsequenced = {model.__tablename__: await db.scalar(select(func.count()).select_from(model).where(
            model.position.is_(None))) for model in (m.TimelineEvent, m.Notification, m.Message)}
        written = {model.__tablename__: await db.scalar(select(func.count()).select_from(model))
                   for model in (m.TimelineEvent, m.Notification, m.Message)}
    assert unsequenced == {"timeline_events": 0, "notifications": 0, "messages": 0}
    assert written["timeline_events"] == 6  # requested, approved, funds held, approved, video room, note added


async def test_an_event_whose_fields_hit_a_busy_database_is_delivered_once_it_answers(
    live: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pool runs dry while a frame's `session` field is read (seen in W3b at 1,000 users): the event waits
    and is executed again, it does not reach the client as an error frame with the stream already past it."""
    w = await world(live.api)
    task = await start_listening(live.ws_url, w.provider.token, 3)
    real, failed = session_types.load_session, []

    async def pool_runs_dry_once(info: Any, session_id: Any) -> Any:
        if info.context.connection is not None and len(failed) < 1:  # a websocket operation's read
            calls.append(session_id)
            if len(calls) == 2:
                failed.append(session_id)
                raise SQLAlchemyTimeout("QueuePool limit of size 20 overflow 20 reached, connection timed out")
        return await real(info, session_id)

    calls: list[Any] = []
    monkeypatch.setattr(session_types, "load_session", pool_runs_dry_once)
    made = await w.run(REQUEST, {"providerId": w.provider.gid, "serviceId": w.service_id, "startsAt": at(4),
                                 "modality": "VIDEO"}, w.member)
    events = await asyncio.wait_for(task, timeout=60)
    assert [(e["type"], e["session"]["id"]) for e in events] == [
        (kind, made["session"]["id"]) for kind in ("REQUESTED", "APPROVED_BY_MEMBER", "FUNDS_HELD")]
    assert len(failed) == 1


async def test_wake_ups_the_relay_could_not_publish_are_followed_by_a_resync(
    live: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Redis refuses the relay's publishes for one batch: the relay owes a resync and sends it on the next pass,
    and the subscriber reads the events from the database then, long before its safety poll."""
    w = await world(live.api)
    task = await start_listening(live.ws_url, w.provider.token, 3)
    realtime = live.app.state.realtime
    hub, refused, resynced = realtime.hub, [], []
    publish = hub.publish
    for _ in range(1500):  # the relay's own resync at start is out
        if not realtime.relay.owes_resync:
            break
        await asyncio.sleep(0.02)

    async def refuses_until_resync(channel: str, message: Any) -> None:
        if channel == RESYNC_CHANNEL:
            resynced.append(message)
        elif not resynced:
            refused.append(channel)
            raise ConnectionError("Redis refused the publish")
        await publish(channel, message)

    monkeypatch.setattr(hub, "publish", refuses_until_resync)
    resyncs = hub.resyncs
    made = await w.run(REQUEST, {"providerId": w.provider.gid, "serviceId": w.service_id, "startsAt": at(6),
                                 "modality": "VIDEO"}, w.member)
    events = await asyncio.wait_for(task, timeout=60)  # the safety poll is 150 s or more away
    assert [(e["type"], e["session"]["id"]) for e in events] == [
        (kind, made["session"]["id"]) for kind in ("REQUESTED", "APPROVED_BY_MEMBER", "FUNDS_HELD")]
    assert refused and len(resynced) == 1 and hub.resyncs > resyncs and not realtime.relay.owes_resync


async def test_a_relay_that_died_before_publishing_is_covered_by_the_next_relay_to_start(live: LiveServer) -> None:
    """The relay sequenced a batch (committed) and its process died before publishing it: no wake-up was ever
    sent. A relay starting afterwards sends a resync, and the subscriber reads the batch."""
    w = await world(live.api)
    task = await start_listening(live.ws_url, w.provider.token, 3)
    realtime = live.app.state.realtime
    await realtime.relay.stop()
    made = await w.run(REQUEST, {"providerId": w.provider.gid, "serviceId": w.service_id, "startsAt": at(8),
                                 "modality": "VIDEO"}, w.member)
    assert await sequence_once(live.deps)  # positioned and marked published; the wake-ups die with the "process"
    assert not await pending(live.deps)
    realtime.relay = Relay(live.deps, realtime.hub)
    await realtime.relay.start()
    events = await asyncio.wait_for(task, timeout=60)
    assert [(e["type"], e["session"]["id"]) for e in events] == [
        (kind, made["session"]["id"]) for kind in ("REQUESTED", "APPROVED_BY_MEMBER", "FUNDS_HELD")]
