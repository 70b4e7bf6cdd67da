"""A broadcaster backend on Redis pub/sub that survives Redis restarts.

broadcaster's own Redis backend stops listening when the connection drops (its issue #144). This one
reconnects with backoff, resubscribes every channel, and then delivers a RESYNC event on each channel (once
Redis confirms it) so live subscriptions catch up from the database: Redis is the fast path, the database the
record. A subscribe returns once Redis has confirmed it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from broadcaster import Event
from broadcaster._backends.base import BroadcastBackend
from redis import asyncio as redis
from redis.exceptions import RedisError

log = logging.getLogger("sessions_gql.realtime")
RESYNC = '{"resync":true}'
SOCKET_TIMEOUT_SECONDS = 5.0  # a command (ping, subscribe) on a half-open connection fails instead of waiting forever
STOP_RETRY_SECONDS = 1.0


class ResilientRedisBackend(BroadcastBackend):
    def __init__(self, url: str, *, min_backoff: float = 0.05, max_backoff: float = 2.0) -> None:
        self._url = url
        self._min_backoff, self._max_backoff = min_backoff, max_backoff
        self._channels: set[str] = set()
        self._confirming: dict[str, list[asyncio.Future[None]]] = {}
        self._resync_on_confirm: set[str] = set()
        self._events: asyncio.Queue[Event] = asyncio.Queue()
        self._publisher = redis.Redis.from_url(url)
        self._pubsub: Any = None
        self._runner: asyncio.Task[None] | None = None
        self.connected = asyncio.Event()
        self.reconnects = 0
        self._closing = False

    async def connect(self) -> None:
        self._runner = asyncio.create_task(self._run(), name="redis-pubsub")

    async def disconnect(self) -> None:
        """Stop listening. Cancelled again every second until it ends: under load a cancellation that lands
        inside redis-py's reconnect and read paths was seen swallowed, which left shutdown waiting forever."""
        runner, self._closing = self._runner, True
        if runner is not None:
            while not runner.done():
                runner.cancel()
                await asyncio.wait({runner}, timeout=STOP_RETRY_SECONDS)
            with contextlib.suppress(asyncio.CancelledError):
                runner.result()
        await self._publisher.aclose()

    async def subscribe(self, channel: str) -> None:
        """Returns once Redis has confirmed the subscription, so that a message published after this returns
        reaches us (a stream reads its start position after subscribing). Not connected, or the connection
        lost meanwhile: the reconnect subscribes the channel and delivers RESYNC on it."""
        self._channels.add(channel)
        pubsub = self._pubsub
        if pubsub is None:
            return
        confirmed = asyncio.get_running_loop().create_future()
        self._confirming.setdefault(channel, []).append(confirmed)
        try:
            await pubsub.subscribe(channel)
            async with asyncio.timeout(SOCKET_TIMEOUT_SECONDS):
                await asyncio.shield(confirmed)
        except (RedisError, OSError, TimeoutError):
            self._resync_on_confirm.add(channel)  # whenever it is confirmed (here, or after a reconnect)
            log.warning("redis subscribe to %s unconfirmed; RESYNC follows its confirmation", channel)
        finally:
            waiting = self._confirming.get(channel)
            if waiting is not None and confirmed in waiting:
                waiting.remove(confirmed)
                if not waiting:
                    del self._confirming[channel]

    async def confirmed(self, channel: str) -> None:
        """Returns once a subscribe of `channel` still in flight is confirmed (at most SOCKET_TIMEOUT_SECONDS): a
        second stream of a channel must not read its start before the first one's subscription is in force."""
        waiting = self._confirming.get(channel)
        if waiting:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(SOCKET_TIMEOUT_SECONDS):
                    await asyncio.shield(waiting[0])

    async def unsubscribe(self, channel: str) -> None:
        self._channels.discard(channel)
        if self._pubsub is not None:
            with contextlib.suppress(RedisError, OSError):
                await self._pubsub.unsubscribe(channel)

    async def publish(self, channel: str, message: Any) -> None:
        await self._publisher.publish(channel, message)

    async def next_published(self) -> Event:
        return await self._events.get()

    async def ping(self) -> None:
        await self._publisher.ping()

    async def _run(self) -> None:
        backoff, first = self._min_backoff, True
        while not self._closing:
            client = redis.Redis.from_url(self._url, socket_timeout=SOCKET_TIMEOUT_SECONDS,
                                          socket_connect_timeout=SOCKET_TIMEOUT_SECONDS)
            pubsub = client.pubsub()
            try:
                await client.ping()
                self._pubsub = pubsub  # first: a channel subscribed from now on is sent on this connection
                channels = set(self._channels)
                self._resync_on_confirm = channels  # each gets RESYNC once Redis confirms it
                if channels:
                    await pubsub.subscribe(*channels)
                self.connected.set()
                if not first:
                    self.reconnects += 1
                    log.warning("redis pub/sub reconnected; %d channels resubscribed", len(self._channels))
                first, backoff = False, self._min_backoff
                await self._listen(client, pubsub)
            except (RedisError, OSError) as exc:
                log.warning("redis pub/sub connection lost (%s); retrying in %.2fs", type(exc).__name__, backoff)
            finally:
                self._pubsub = None
                self.connected.clear()
                with contextlib.suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]  # redis-py leaves it unannotated
                with contextlib.suppress(Exception):
                    await client.aclose()
            await asyncio.sleep(backoff)
            backoff = min(self._max_backoff, backoff * 2)

    async def _listen(self, client: Any, pubsub: Any) -> None:
        idle = 0
        while not self._closing:
            if not pubsub.subscribed:
                if self._channels:
                    await pubsub.subscribe(*self._channels)
                    continue
                await asyncio.sleep(0.05)
                idle += 1
                if idle % 20 == 0:
                    await client.ping()  # notice a lost server even with nothing subscribed
                continue
            message = await pubsub.get_message(timeout=1.0)
            if message is None:
                continue
            kind, channel = message.get("type"), _text(message.get("channel"))
            if kind == "message":
                self._events.put_nowait(Event(channel=channel, message=_text(message["data"])))
            elif kind == "subscribe":
                self._confirmed(channel)

    def _confirmed(self, channel: str) -> None:
        """Redis processed a SUBSCRIBE: release who waits for it; after a (re)connect, deliver RESYNC on the
        channel, since what was published while it was not subscribed never reached us."""
        for waiting in self._confirming.pop(channel, []):
            if not waiting.done():
                waiting.set_result(None)
        if channel in self._resync_on_confirm:
            self._resync_on_confirm.discard(channel)
            self._events.put_nowait(Event(channel=channel, message=RESYNC))


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
