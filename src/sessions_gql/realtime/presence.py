"""Waiting-room presence: who holds a `waitingRoom` subscription open, kept alive by heartbeats.

Ephemeral by design: a key per (session, party) with a TTL in Redis, or an in-process table with the
same expiry for the embedded default. A dropped connection stops refreshing and leaves within the TTL.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import Protocol

from redis import asyncio as redis

from sessions_gql.domain.enums import Party, PresenceState, SessionStatus

TTL_SECONDS = 10
HEARTBEAT_SECONDS = 3.0


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
        self._redis = redis.Redis.from_url(url)

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
