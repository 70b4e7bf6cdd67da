"""Subscriptions that lose nothing: replay from the database after a cursor, then follow live wake-ups.

The subscriber listens on its channels first, then reads everything after its cursor, then waits. Every
wake-up (or a resync: see docs/DECISIONS.md, "Resyncs instead of polls") reads what is new from the database by
position, so an event is delivered once, in order, whether Redis carried its wake-up or not.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from sessions_gql.api.cursors import decode_cursor, encode_cursor
from sessions_gql.auth.viewer import Viewer
from sessions_gql.context import Context
from sessions_gql.db import models as m
from sessions_gql.domain.errors import RateLimited, ValidationError
from sessions_gql.realtime.channels import user_channel
from sessions_gql.realtime.frames import SharedRows
from sessions_gql.realtime.hub import DATABASE_UNAVAILABLE, RETRY_SECONDS, concerns, still_wanted, wait, woken
from sessions_gql.services.deps import Deps

PAGE = 100
log = logging.getLogger("sessions_gql.realtime")
SAFETY_POLL = 300.0
"""A stream with no wake-up reads anyway after SAFETY_POLL (x 0.5 to 1, spread so that streams opened together
do not poll together). Only a defect would need it: a wake-up that could not be published or arrived while
its channel was not subscribed is followed by a resync (relay.Relay, redis_backend), and a subscription is
confirmed before the stream reads its start."""
Row = TypeVar("Row")
Fetch = Callable[[AsyncSession, int], Awaitable[Sequence[Any]]]


CURSOR = re.compile(r"(i?)([1-9][0-9]{0,18})")
MAX_CURSOR_LENGTH = 64
MAX_ID = 2**63 - 1
NOT_ISSUED = "that cursor is not one this API gave out"


def parse_cursor(after: str) -> tuple[bool, int]:
    """(is a row id, number) of a stream cursor, exactly as `encode_cursor` wrote it: a position, or `i<id>` for
    a row not yet sequenced. Anything else (another encoding of the same value too) is VALIDATION."""
    if len(after) > MAX_CURSOR_LENGTH:
        raise ValidationError(NOT_ISSUED, field="after")
    (raw,) = decode_cursor(after, parts=1)
    shape = CURSOR.fullmatch(raw)
    if shape is None or encode_cursor(raw) != after or int(shape[2]) > MAX_ID:
        raise ValidationError(NOT_ISSUED, field="after")
    return shape[1] == "i", int(shape[2])


async def start_position(deps: Deps, after: str | None, model: Any) -> int:
    """The position to read after: the cursor's row's, or the end of the stream for live-only. A cursor that no
    row of `model` carries (made up, past the end, another stream's) is VALIDATION."""
    timeout = deps.settings.stream_start_timeout_seconds
    if after is None:  # streams starting together share one reading of the end, begun after each asked
        end: int = await deps.hub.fresh_once("sequenced_end", lambda: sequenced_end(deps, within=timeout))
        return end
    by_id, number = parse_cursor(after)
    async with deps.sessions() as db:
        if not by_id:
            if await db.scalar(select(model.id).where(model.position == number)) is None:
                raise ValidationError(NOT_ISSUED, field="after")
            return number
        row = await db.get(model, number)
        if row is None:
            raise ValidationError(NOT_ISSUED, field="after")
        if row.position is not None:
            return int(row.position)
    # a row the relay has not sequenced yet (its cursor came from the mutation that wrote it): wait until it is
    end = await sequenced_end(deps, within=timeout)
    async with deps.sessions() as db:
        position = await db.scalar(select(model.position).where(model.id == number))
    return end if position is None else int(position)


async def sequenced_end(deps: Deps, *, within: float) -> int:
    """The end of the stream once the relay has sequenced everything committed before this call.

    The relay positions outbox rows after they commit, so the counter alone can be behind a row that committed
    earlier: a live-only subscription starting there would deliver that row, which a client that just loaded
    the list already has. Read the newest committed outbox row, then wait until no row up to it is unpublished;
    the watermark is in the database, so it holds whichever process is the sequencer. The wait polls (never
    blocks the loop) and is bounded: after `within` seconds the stream starts at the current end anyway."""
    async with deps.sessions() as db:
        newest = await db.scalar(select(func.max(m.OutboxEvent.id)))
    unpublished = select(m.OutboxEvent.id).where(m.OutboxEvent.published_at.is_(None),
                                                 m.OutboxEvent.id <= (newest or 0)).exists()
    query = select(m.StreamCounter.value, unpublished).where(m.StreamCounter.name == "events")
    loop = asyncio.get_running_loop()
    deadline, delay = loop.time() + within, 0.005
    while True:
        async with deps.sessions() as db:
            end, waiting = (await db.execute(query)).one()
        if not waiting:
            return int(end)
        if loop.time() >= deadline:
            log.warning("the relay has not sequenced outbox rows up to %s within %.1fs; starting at %s",
                        newest, within, end)
            return int(end)
        await asyncio.sleep(delay)
        delay = min(delay * 2, 0.1)


MAX_SUBSCRIPTIONS_PER_CONNECTION = 20


@contextlib.asynccontextmanager
async def slot(context: Context) -> AsyncIterator[None]:
    """Count the connection's open subscriptions; refuse one past the cap."""
    owner = context.owner
    if owner.subscriptions >= MAX_SUBSCRIPTIONS_PER_CONNECTION:
        raise RateLimited(f"at most {MAX_SUBSCRIPTIONS_PER_CONNECTION} subscriptions per connection")
    owner.subscriptions += 1
    try:
        yield
    finally:
        owner.subscriptions -= 1


def channel_for(viewer: Viewer, target: uuid.UUID | None, channel_of: Callable[[uuid.UUID], str], *, what: str,
                field: str) -> str:
    """The channel to follow: one target's (access already checked), or else every one of the viewer's own; an
    admin, party to nothing, must name one."""
    if target is not None:
        return channel_of(target)
    if viewer.is_admin:
        raise ValidationError(f"admins follow one {what} at a time: pass {field}", field=field)
    return user_channel(viewer.user_id)

async def follow(context: Context, *, channels: Sequence[str], after: str | None, model: Any,
                 fetch: Fetch, ephemeral: bool = False, payload: Callable[[Any], Any] | None = None
                 ) -> AsyncIterator[Any]:
    """Yield rows of `model` past the cursor in position order, forever; with `ephemeral`, also the
    live-only payloads (typing, read receipts) as dicts, as they arrive. With `payload`, each row is yielded as
    `payload(row)`: built once for all the subscribers of a shared read, and marked so that they can share its
    frame too (realtime/frames.py)."""
    deps = context.deps
    if after is not None:
        parse_cursor(after)  # a malformed cursor is refused before anything is opened
    async with slot(context), deps.hub.listen(*channels, counted=False) as queue:
        last = await _start(deps, after, model)
        share = getattr(fetch, "share_key", None)
        frames = getattr(deps, "frames", None)
        shared = share is not None and frames is not None and frames.enabled
        with deps.hub.live():
            # live-only: nothing is past the end yet, and a wake-up tells when there is (the channels were
            # confirmed subscribed before the end was read)
            rows = await _read(deps, fetch, share, last, shared=shared) if after is not None else []
            while True:
                for index, row in enumerate(rows):
                    last = int(row.position)
                    context.reset_loaders()
                    yield _item(rows, index, payload)
                    await context.close()  # never hold a connection while the client reads
                while len(rows) < PAGE:  # caught up: until a wake-up may mean rows of this stream
                    messages = woken(queue, await wait(queue, timeout=SAFETY_POLL * (0.5 + random.random() / 2)))
                    for message in messages or ():
                        extra = message.get("ephemeral")
                        if ephemeral and isinstance(extra, dict):
                            context.reset_loaders()
                            yield extra
                            await context.close()
                    if concerns(messages, model.__tablename__):
                        break
                rows = await _read(deps, fetch, share, last, shared=shared)


async def _read(deps: Any, fetch: Fetch, share: tuple[Any, ...] | None, last: int, *, shared: bool) -> list[Any]:
    """The rows past `last`; subscribers of one shared read woken together make it once (`Hub.read_once`)."""
    while True:
        still_wanted()
        try:
            rows: list[Any] = await deps.hub.read_once(None if share is None else (*share, last),
                                                       _reader(deps, fetch, last, shared=shared))
        except DATABASE_UNAVAILABLE:
            log.warning("subscription read failed; retrying from position %s", last, exc_info=True)
            await asyncio.sleep(RETRY_SECONDS)  # a database hiccup pauses the stream, it does not end it
            continue
        still_wanted()
        return rows


async def _start(deps: Any, after: str | None, model: Any) -> int:
    """The starting position, retried like every read: a busy database delays a subscription, never fails it."""
    while True:
        still_wanted()  # a retry loop must not outlive its socket when a library lost the cancellation
        try:
            return await start_position(deps, after, model)
        except DATABASE_UNAVAILABLE:
            log.warning("subscription start failed; retrying", exc_info=True)
            await asyncio.sleep(RETRY_SECONDS)


def _reader(deps: Any, fetch: Fetch, last: int, *, shared: bool) -> Callable[[], Awaitable[list[Any]]]:
    async def read() -> list[Any]:
        async with deps.sessions() as db:
            rows = await fetch(db, last)
        return SharedRows(rows) if shared else list(rows)

    return read


def _item(rows: list[Any], index: int, payload: Callable[[Any], Any] | None) -> Any:
    if payload is None:
        return rows[index]
    return rows.payload(index, payload) if isinstance(rows, SharedRows) else payload(rows[index])


def shared(fetch: Fetch, *key: object) -> Fetch:
    """Mark a fetch whose result is the same for every subscriber with this key (e.g. one session's channel)."""
    fetch.share_key = key  # type: ignore[attr-defined]
    return fetch


def _rows_after(model: Any, parent_key: Any, parent: Any, parent_id: uuid.UUID | None, viewer: Viewer,
                name: str) -> Fetch:
    """Rows of `model` past a position: of one parent (a session, a conversation), or of every parent the viewer
    is party to."""

    async def fetch(db: AsyncSession, last: int) -> Sequence[Any]:
        query = select(model).where(model.position > last)
        if parent_id is not None:
            query = query.where(parent_key == parent_id)
        else:
            mine = or_(parent.member_id == viewer.member_id, parent.provider_id == viewer.provider_id)
            query = query.join(parent, parent.id == parent_key).where(mine)
        return (await db.scalars(query.order_by(model.position).limit(PAGE))).all()

    return shared(fetch, name, parent_id) if parent_id is not None else fetch


def timeline_fetch(viewer: Viewer, session_id: uuid.UUID | None) -> Fetch:
    return _rows_after(m.TimelineEvent, m.TimelineEvent.session_id, m.Session, session_id, viewer, "timeline")


def notification_fetch(viewer: Viewer) -> Fetch:
    async def fetch(db: AsyncSession, last: int) -> Sequence[m.Notification]:
        N = m.Notification
        query = select(N).where(N.user_id == viewer.user_id, N.position > last)
        return (await db.scalars(query.order_by(N.position).limit(PAGE))).all()

    return fetch


def message_fetch(viewer: Viewer, conversation_id: uuid.UUID | None) -> Fetch:
    return _rows_after(m.Message, m.Message.conversation_id, m.Conversation, conversation_id, viewer, "messages")
