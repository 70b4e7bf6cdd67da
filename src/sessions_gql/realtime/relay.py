"""The outbox relay and sequencer: gives streamed rows positions in commit order, then publishes.

A plain BIGSERIAL is assigned at insert, not at commit, so a reader resuming after id N could skip a row
that committed later with a smaller id. Here positions are handed out by one sequencer at a time (a
PostgreSQL advisory lock; SQLite's BEGIN IMMEDIATE), only to rows already committed, in increasing order,
and each batch commits before the next begins: a reader that sees position P has seen every position < P.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import bindparam, func, select, update

from sessions_gql.db import models as m
from sessions_gql.db.fast import Writer, table_of
from sessions_gql.realtime.channels import encode
from sessions_gql.realtime.hub import RESYNC_CHANNEL, Hub, still_wanted
from sessions_gql.realtime.redis_backend import RESYNC, STOP_RETRY_SECONDS
from sessions_gql.services.deps import Deps

log = logging.getLogger("sessions_gql.relay")
SEQUENCER_LOCK = 7_202_611_22
BATCH = 200
STREAMED = (("timeline_ids", m.TimelineEvent), ("notification_ids", m.Notification), ("message_ids", m.Message))


_OUTBOX, _COUNTER = table_of(m.OutboxEvent), table_of(m.StreamCounter)
TRY_SEQUENCER = select(func.pg_try_advisory_xact_lock(bindparam("lock")))
UNPUBLISHED = (select(_OUTBOX.c.id, _OUTBOX.c.channels, _OUTBOX.c.payload).where(_OUTBOX.c.published_at.is_(None))
               .order_by(_OUTBOX.c.id).limit(BATCH).with_for_update())
COUNTER = select(_COUNTER.c.value).where(_COUNTER.c.name == "events").with_for_update()
SET_COUNTER = update(_COUNTER).where(_COUNTER.c.name == "events").values(value=bindparam("value"))
PUBLISHED = update(_OUTBOX).where(_OUTBOX.c.id == bindparam("row_id")).values(
    published_at=bindparam("at", type_=_OUTBOX.c.published_at.type))
POSITIONED = {model: update(table_of(model)).where(table_of(model).c.id == bindparam("row_id"))
              .values(position=bindparam("new_position")) for _key, model in STREAMED}


async def sequence_once(deps: Deps) -> list[tuple[list[str], dict[str, Any]]]:
    """Position and mark one batch of outbox rows; returns what to publish once committed."""
    async with deps.uow() as uow:
        db = Writer(await uow.session.connection())
        if db.conn.dialect.name == "postgresql" and not (await db.fetch(TRY_SEQUENCER, {"lock": SEQUENCER_LOCK}))[0][0]:
            return []
        rows = await db.fetch_typed(UNPUBLISHED, {})
        if not rows:
            return []
        counted = await db.fetch(COUNTER, {})
        assert counted, "migration 0002 seeds the counter"
        position = counted[0][0]
        now = deps.clock.now()
        out: list[tuple[list[str], dict[str, Any]]] = []
        assigned: dict[Any, list[dict[str, int]]] = {model: [] for _key, model in STREAMED}
        for _row_id, channels, payload in rows:
            first = position + 1
            for key, model in STREAMED:
                for row_id in payload.get(key, []):
                    position += 1
                    assigned[model].append({"row_id": row_id, "new_position": position})
            message = {"from": first, "to": position,
                       "streams": [model.__tablename__ for key, model in STREAMED if payload.get(key)],
                       **({"ephemeral": payload["ephemeral"]} if "ephemeral" in payload else {})}
            out.append((list(channels), message))
        for model, values in assigned.items():  # one executemany per table, not a statement per row
            await db.run_many(POSITIONED[model], values)
        await db.run_many(PUBLISHED, [{"row_id": row_id, "at": now} for row_id, _channels, _payload in rows])
        await db.run(SET_COUNTER, {"value": position})
        await uow.commit()
        return out


async def pending(deps: Deps) -> bool:
    async with deps.sessions() as db:
        found = await db.scalar(select(m.OutboxEvent.id).where(m.OutboxEvent.published_at.is_(None)).limit(1))
    return found is not None


class Relay:
    """Runs the sequencer whenever a change commits (and on a short poll for other processes' changes)."""

    def __init__(self, deps: Deps, hub: Hub, *, poll: float = 0.25) -> None:
        self.deps, self.hub, self.poll = deps, hub, poll
        self._kick = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._turn = asyncio.Lock()  # one pass at a time in this process; `paused()` holds it
        self.published = 0
        self.owes_resync = True
        """A wake-up may be missing: one this relay failed to publish, or, at start, one a relay of this process
        sequenced and died before publishing. Until a resync message is out, the relay tries again each pass."""

    def kick(self) -> None:
        self._kick.set()

    async def start(self) -> None:
        self.deps.commit_listeners.append(self.kick)
        self._task = asyncio.create_task(self._run(), name="outbox-relay")

    async def stop(self) -> None:
        if self.kick in self.deps.commit_listeners:
            self.deps.commit_listeners.remove(self.kick)
        task = self._task
        if task is not None:
            while not task.done():  # cancelled again until it ends: seen swallowed once, in a W1 shutdown
                task.cancel()
                await asyncio.wait([task], timeout=STOP_RETRY_SECONDS)  # not swallowing the caller's cancel

    @contextlib.asynccontextmanager
    async def paused(self) -> AsyncIterator[None]:
        """Hold this process's relay between passes: commits wait unsequenced until the block ends (tests use it
        to make the relay lag deterministically)."""
        async with self._turn:
            yield

    async def drain(self) -> int:
        """Sequence and publish until no unpublished outbox row is left, waiting out another sequencer."""
        total = 0
        while True:
            async with self._turn:
                batch = await sequence_once(self.deps)
            if batch:
                await self._publish(batch)
                total += len(batch)
                continue
            if not await pending(self.deps):
                return total
            await asyncio.sleep(0.02)  # another process holds the sequencer: let it finish

    async def _run(self) -> None:
        while True:
            still_wanted()  # a stop whose cancellation a timeout or a driver swallowed still ends the loop
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.poll):  # not wait_for, which can swallow a stop (see hub.wait)
                    await self._kick.wait()
            self._kick.clear()
            try:
                async with self._turn:
                    while batch := await sequence_once(self.deps):
                        await self._publish(batch)
                        if len(batch) < BATCH:  # all there was; a commit meanwhile kicks another pass
                            break
            except Exception:
                log.exception("outbox relay pass failed")
                await asyncio.sleep(self.poll)
            if self.owes_resync:
                await self._resync()

    async def _resync(self) -> None:
        try:
            await self.hub.publish(RESYNC_CHANNEL, RESYNC)
        except Exception:
            log.warning("resync publish failed; trying again next pass")
            return
        self.owes_resync = False

    async def _publish(self, batch: list[tuple[list[str], dict[str, Any]]]) -> None:
        for channels, message in batch:
            payload = encode(message)
            for channel in channels:
                try:
                    await self.hub.publish(channel, payload)
                    self.published += 1
                except Exception:
                    self.owes_resync = True
                    log.warning("publish to %s failed; every subscriber reads again once a resync is out", channel)


class Realtime:
    """The hub and the relay for one process, started and stopped with the app."""

    def __init__(self, deps: Deps) -> None:
        self.hub = Hub(deps.settings)
        self.relay = Relay(deps, self.hub)
        deps.hub = self.hub

    async def start(self) -> None:
        await self.hub.connect()
        await self.relay.start()

    async def stop(self) -> None:
        await self.relay.stop()
        await self.hub.disconnect()
        await self.hub.presence.close()
