"""Waiting-room presence: who holds a `waitingRoom` subscription open, kept alive by heartbeats.

Ephemeral by design: a key per (session, party) with a TTL in Redis, or an in-process table with the
same expiry for the embedded default. A dropped connection stops refreshing and leaves within the TTL.
Presence is a hint, never a reason to fail: when the store cannot be reached, `GuardedPresence` logs a
warning, counts it (`presence_unavailable_total`) and answers "nobody is here".
"""

from __future__ import annotations

import logging
import time
import uuid
from datetime import UTC, datetime
from typing import Any, Protocol

from redis import asyncio as redis
from redis.exceptions import RedisError

from sessions_gql import moments
from sessions_gql.domain.enums import Party, PresenceState, SessionStatus
from sessions_gql.observability import presence_unavailable
from sessions_gql.realtime.channels import presence_channel

log = logging.getLogger("sessions_gql.realtime")
TTL_SECONDS = 10
HEARTBEAT_SECONDS = 3.0
REDIS_TIMEOUT_SECONDS = 2.0  # a mutation never waits longer than this on an unreachable Redis


class PresenceStore(Protocol):
    async def mark(self, session_id: uuid.UUID, party: Party, since: datetime) -> bool: ...

    async def clear(self, session_id: uuid.UUID, party: Party) -> None: ...

    async def present(self, session_id: uuid.UUID) -> dict[Party, datetime]: ...


def _key(session_id: uuid.UUID, party: Party) -> str:
    return f"presence:{session_id}:{party.value}"


class MemoryPresence:
    def __init__(self, ttl: float = TTL_SECONDS) -> None:
        self.ttl = ttl
        self._seen: dict[str, tuple[datetime, float]] = {}

    async def mark(self, session_id: uuid.UUID, party: Party, since: datetime) -> bool:
        """Refresh presence; True when the party was absent before."""
        key = _key(session_id, party)
        held = self._live(key)
        self._seen[key] = (held or since, time.monotonic() + self.ttl)
        return held is None

    async def clear(self, session_id: uuid.UUID, party: Party) -> None:
        self._seen.pop(_key(session_id, party), None)

    async def present(self, session_id: uuid.UUID) -> dict[Party, datetime]:
        found = {party: self._live(_key(session_id, party)) for party in Party}
        return {party: since for party, since in found.items() if since is not None}

    def _live(self, key: str) -> datetime | None:
        entry = self._seen.get(key)
        if entry is None or entry[1] < time.monotonic():
            return None
        return entry[0]


class RedisPresence:
    def __init__(self, url: str, ttl: int = TTL_SECONDS) -> None:
        self.ttl = ttl
        self._redis = redis.Redis.from_url(url, socket_timeout=REDIS_TIMEOUT_SECONDS,
                                           socket_connect_timeout=REDIS_TIMEOUT_SECONDS)

    async def mark(self, session_id: uuid.UUID, party: Party, since: datetime) -> bool:
        key = _key(session_id, party)
        created = await self._redis.set(key, since.isoformat(), ex=self.ttl, nx=True)
        if not created:
            await self._redis.expire(key, self.ttl)
        return bool(created)

    async def clear(self, session_id: uuid.UUID, party: Party) -> None:
        await self._redis.delete(_key(session_id, party))

    async def present(self, session_id: uuid.UUID) -> dict[Party, datetime]:
        values = await self._redis.mget([_key(session_id, party) for party in Party])
        return {party: datetime.fromisoformat(value if isinstance(value, str) else value.decode()).astimezone(UTC)
                for party, value in zip(Party, values, strict=True) if value is not None}

    async def close(self) -> None:
        await self._redis.aclose()


class GuardedPresence:
    """A presence store whose failures degrade to "absent": logged, counted, never raised."""

    def __init__(self, store: PresenceStore) -> None:
        self.store = store

    async def mark(self, session_id: uuid.UUID, party: Party, since: datetime) -> bool:
        try:
            return await self.store.mark(session_id, party, since)
        except (RedisError, OSError) as exc:
            unavailable("mark", exc)
            return False

    async def clear(self, session_id: uuid.UUID, party: Party) -> None:
        try:
            await self.store.clear(session_id, party)
        except (RedisError, OSError) as exc:
            unavailable("clear", exc)

    async def present(self, session_id: uuid.UUID) -> dict[Party, datetime]:
        moments.read("presence")
        try:
            return await self.store.present(session_id)
        except (RedisError, OSError) as exc:
            unavailable("present", exc)
            return {}

    async def close(self) -> None:
        if isinstance(self.store, RedisPresence):
            await self.store.close()


def unavailable(operation: str, exc: BaseException) -> None:
    presence_unavailable.labels(operation).inc()
    log.warning("presence unavailable (%s: %s): the waiting room shows ABSENT", operation, type(exc).__name__)


async def announce(hub: Any, session_id: uuid.UUID) -> None:
    """Tell open `waitingRoom` subscriptions that presence changed (if the hub runs, and as far as it can)."""
    if hub is None or not hub.started:
        return
    try:
        await hub.publish(presence_channel(session_id), "{}")
    except (RedisError, OSError) as exc:
        unavailable("publish", exc)


def states(status: SessionStatus, present: dict[Party, datetime]) -> tuple[PresenceState, PresenceState]:
    """(member, provider): a member waits until the provider has started; then is admitted, or in session."""
    started = status is SessionStatus.IN_PROGRESS
    provider = PresenceState.ABSENT
    if Party.PROVIDER in present:
        provider = PresenceState.IN_SESSION if started else PresenceState.WAITING
    member = PresenceState.ABSENT
    if Party.MEMBER in present:
        if not started:
            member = PresenceState.WAITING
        else:
            member = PresenceState.IN_SESSION if Party.PROVIDER in present else PresenceState.ADMITTED
    return member, provider
