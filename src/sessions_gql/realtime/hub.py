"""The broadcast hub: broadcaster's fan-out with a bounded queue per subscriber.

Messages are wake-ups (the database holds the events), so a full queue simply drops the newest wake-up:
one is already waiting, and the subscriber reads everything new from the database when it wakes.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Iterator
from typing import Any, TypeVar, cast

from broadcaster import Broadcast, Event
from sqlalchemy.exc import SQLAlchemyError

from sessions_gql.config import Settings
from sessions_gql.realtime.channels import decode
from sessions_gql.realtime.presence import GuardedPresence, MemoryPresence, RedisPresence
from sessions_gql.realtime.redis_backend import ResilientRedisBackend

QUEUE_SIZE = 16
DATABASE_UNAVAILABLE = (SQLAlchemyError, OSError, TimeoutError)
"""What a busy or unreachable database raises (a pool timeout, a killed connection, a refused connect): a
subscription waits RETRY_SECONDS and reads again, it is never ended or moved past an event by one."""
RETRY_SECONDS = 1.0
RESYNC_CHANNEL = "resync"
"""Every process listens here; a message wakes all its subscribers to read the database (relay.Relay sends one
when it could not publish a wake-up, and when it starts, in case its process died between the two)."""
T = TypeVar("T")


class WakeUps(asyncio.Queue[Event]):
    """A subscriber's wake-ups; `overflowed` once one was dropped because the queue was full."""

    overflowed = False


class Hub(Broadcast):
    _subscribers: dict[str, set[WakeUps]]  # type: ignore[assignment]  # broadcaster's own queues are plain

    def __init__(self, settings: Settings) -> None:
        if settings.redis_url:
            self.backend: ResilientRedisBackend | None = ResilientRedisBackend(settings.redis_url)
            super().__init__(backend=self.backend)
            self.presence = GuardedPresence(RedisPresence(settings.redis_url))
        else:
            self.backend = None
            super().__init__("memory://")
            self.presence = GuardedPresence(MemoryPresence())
        self.subscriber_count = 0
        self.resyncs = 0
        self.started = False
        self._reads: dict[Hashable, asyncio.Future[Any]] = {}
        self._next: dict[Hashable, tuple[asyncio.Future[Any], Callable[[], Awaitable[Any]]]] = {}
        self._running: dict[Hashable, asyncio.Future[Any] | None] = {}

    async def connect(self) -> None:
        await super().connect()
        await self._backend.subscribe(RESYNC_CHANNEL)
        self.started = True

    async def disconnect(self) -> None:
        self.started = False
        await super().disconnect()

    async def _listener(self) -> None:
        while True:
            event = await self._backend.next_published()
            if event.channel == RESYNC_CHANNEL:  # a relay could not publish some wake-ups: everyone reads again
                self.resyncs += 1
                queues = {queue for members in self._subscribers.values() for queue in members}
            else:
                queues = set(self._subscribers.get(event.channel, ()))
            for queue in queues:
                try:
                    queue.put_nowait(event)
                except asyncio.QueueFull:
                    queue.overflowed = True  # what it said is unknown now: the subscriber reads whatever it follows

    @contextlib.asynccontextmanager
    async def listen(self, *channels: str, counted: bool = True) -> AsyncIterator[WakeUps]:
        """One bounded queue fed by several channels; counted as a live subscriber unless `counted` is False
        (a stream counts itself with `live()` once its start position is known)."""
        queue = WakeUps(maxsize=QUEUE_SIZE)
        for channel in channels:
            if not self._subscribers.get(channel):
                self._subscribers[channel] = {queue}
                await self._backend.subscribe(channel)
            else:
                self._subscribers[channel].add(queue)
                if self.backend is not None:
                    await self.backend.confirmed(channel)  # another stream's subscribe may still be in flight
        try:
            with self.live() if counted else contextlib.nullcontext():
                yield queue
        finally:
            for channel in channels:
                members = self._subscribers.get(channel)
                if members is None:
                    continue
                members.discard(queue)
                if not members:
                    del self._subscribers[channel]
                    await self._backend.unsubscribe(channel)

    @contextlib.contextmanager
    def live(self) -> Iterator[None]:
        """Count a subscriber that is live: listening, and (for a stream) past its start position, so that
        anything committed from now on reaches it (`subscriber_count`, the active_subscriptions gauge)."""
        self.subscriber_count += 1
        try:
            yield
        finally:
            self.subscriber_count -= 1

    async def read_once(self, key: Hashable | None, run: Callable[[], Awaitable[T]]) -> T:
        """Single flight: subscribers of one channel woken together share one database read."""
        if key is None:
            return await run()
        pending = self._reads.get(key)
        if pending is None:
            pending = asyncio.ensure_future(run())
            self._reads[key] = pending
            pending.add_done_callback(lambda _done: self._reads.pop(key, None))
        return await asyncio.shield(pending)

    async def fresh_once(self, key: Hashable, run: Callable[[], Awaitable[T]]) -> T:
        """Single flight that begins after this call: a caller arriving while one runs waits for the next, shared
        with everyone else who arrived meanwhile (a read that must see what committed before the call)."""
        found = self._next.get(key)
        if found is None:
            found = self._next[key] = (asyncio.get_running_loop().create_future(), run)
            found[0].add_done_callback(_retrieved)
            if key not in self._running:  # begins on the loop's next turn: callers of this one share it
                self._running[key] = None
                asyncio.get_running_loop().call_soon(self._launch, key)
        return cast(T, await asyncio.shield(found[0]))

    def _launch(self, key: Hashable) -> None:
        result, run = self._next.pop(key)
        task = self._running[key] = asyncio.ensure_future(run())

        def done(_task: asyncio.Future[Any]) -> None:
            del self._running[key]
            if not result.done():
                if task.cancelled():
                    result.cancel()
                elif task.exception() is not None:
                    result.set_exception(cast(BaseException, task.exception()))
                else:
                    result.set_result(task.result())
            if key in self._next:
                self._launch(key)

        task.add_done_callback(done)

    async def ping(self) -> None:
        if self.backend is not None:
            await self.backend.ping()


def _retrieved(future: asyncio.Future[Any]) -> None:
    """Mark a shared result's exception seen: its callers may all have gone (they retry or were cancelled)."""
    if not future.cancelled():
        future.exception()


async def wait(queue: asyncio.Queue[Event], *, timeout: float) -> Event | None:  # noqa: ASYNC109
    """The next wake-up, or None after `timeout` (a safety poll).

    Not `asyncio.wait_for`: on Python 3.11 it returns the item and swallows the cancellation when both arrive in
    one tick, and a subscription whose socket had just closed then ran on (a waiting room kept its member present).
    """
    try:
        async with asyncio.timeout(timeout):
            return await queue.get()
    except TimeoutError:
        return None


def woken(queue: WakeUps, first: Event | None) -> list[dict[str, Any]] | None:
    """The messages of a wake-up and of every one queued behind it (one read serves them all); None when the
    subscriber must read whatever it follows: a safety poll (`first` None), or a wake-up dropped meanwhile."""
    if first is None or queue.overflowed:
        queue.overflowed = False
        while not queue.empty():
            queue.get_nowait()
        return None
    messages = [decode(first.message)]
    while not queue.empty():
        messages.append(decode(queue.get_nowait().message))
    return messages


def concerns(messages: list[dict[str, Any]] | None, stream: str) -> bool:
    """Whether wake-ups may mean new rows of `stream` (a table name): one naming it, a resync, or one from a
    relay that does not name its streams."""
    return messages is None or any(stream in message.get("streams", (stream,)) for message in messages)


def still_wanted() -> None:
    """Raise CancelledError if this task was asked to stop, even when a library swallowed the cancellation.

    A closed socket cancels its operations' tasks; a cancel that lands inside a Redis call can be lost there
    (seen: Task.cancelling() stayed 1 across `mget` while the waiting room's loop went on, keeping the member
    present). Loops that would otherwise run forever check this on every turn."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError
