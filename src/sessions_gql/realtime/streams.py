"""Subscriptions that lose nothing: replay from the database after a cursor, then follow live wake-ups.

The subscriber listens on its channels first, then reads everything after its cursor, then waits. Every
wake-up (or a resync after a Redis reconnect, or a safety poll) reads what is new from the database by
position, so an event is delivered once, in order, whether Redis carried its wake-up or not.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy import or_, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from sessions_gql.auth.viewer import Viewer
from sessions_gql.context import Context
from sessions_gql.db import models as m
from sessions_gql.domain.errors import RateLimited, ValidationError
from sessions_gql.realtime.channels import decode, user_channel
from sessions_gql.realtime.hub import wait
from sessions_gql.resolvers.cursors import decode_cursor

PAGE = 100
RETRY_SECONDS = 1.0
log = logging.getLogger("sessions_gql.realtime")
SAFETY_POLL = 15.0
Row = TypeVar("Row")
Fetch = Callable[[AsyncSession, int], Awaitable[Sequence[Any]]]


async def start_position(db: AsyncSession, after: str | None, model: Any) -> int:
    """The position to read after: the cursor's, or the current end of the stream for live-only."""
    if after is None:
        counter = await db.get(m.StreamCounter, "events")
        return counter.value if counter is not None else 0
    (raw,) = decode_cursor(after, parts=1)
    if raw.isdigit():
        return int(raw)
    if raw.startswith("i") and raw[1:].isdigit():
        row = await db.get(model, int(raw[1:]))
        if row is not None and row.position is not None:
            return int(row.position)
        return 0
    raise ValidationError("that cursor is not one this API gave out", field="after")


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
                 fetch: Fetch, ephemeral: bool = False) -> AsyncIterator[Any]:
    """Yield rows of `model` past the cursor in position order, forever; with `ephemeral`, also the
    live-only payloads (typing, read receipts) as dicts, as they arrive."""
    deps = context.deps
    async with slot(context), deps.hub.listen(*channels) as queue:
        last = await _start(deps, after, model)
        share = getattr(fetch, "share_key", None)
        while True:
            try:
                rows = await deps.hub.read_once(None if share is None else (*share, last),
                                                _reader(deps, fetch, last))
            except (SQLAlchemyError, OSError, TimeoutError):
                log.warning("subscription read failed; retrying from position %s", last, exc_info=True)
                await asyncio.sleep(RETRY_SECONDS)  # a database hiccup pauses the stream, it does not end it
                continue
            for row in rows:
                last = int(row.position)
                context.reset_loaders()
                yield row
                await context.close()  # never hold a connection while the client reads
            if len(rows) == PAGE:
                continue
            woke = await wait(queue, timeout=SAFETY_POLL)
            extra = decode(woke.message).get("ephemeral") if woke is not None and ephemeral else None
            if isinstance(extra, dict):
                context.reset_loaders()
                yield extra
                await context.close()


async def _start(deps: Any, after: str | None, model: Any) -> int:
    """The starting position, retried like every read: a busy database delays a subscription, never fails it."""
    while True:
        try:
            async with deps.sessions() as db:
                return await start_position(db, after, model)
        except (SQLAlchemyError, OSError, TimeoutError):
            log.warning("subscription start failed; retrying", exc_info=True)
            await asyncio.sleep(RETRY_SECONDS)


def _reader(deps: Any, fetch: Fetch, last: int) -> Callable[[], Awaitable[list[Any]]]:
    async def read() -> list[Any]:
        async with deps.sessions() as db:
            return list(await fetch(db, last))

    return read


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
