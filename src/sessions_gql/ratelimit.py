"""Rate limits per viewer (or per client address when anonymous) on requests and on subscription starts.

The algorithm is GCRA, a token bucket kept as one number per key: the "theoretical arrival time" (TAT). A rate
of `limit` per `period` spends `interval = period / limit` of TAT per hit, and a hit is allowed while the TAT
stays within `limit * interval` of now. So a fresh key may send `limit` at once; the next waits `interval`
(Retry-After), and a key left alone for a whole period is fresh again. Times are integer microseconds, so the
`limit`-th hit is allowed exactly.

With REDIS_URL the TAT lives in Redis, updated atomically by one Lua script, so every instance shares the
limit; otherwise in a bounded dict (keys whose bucket is full again are dropped first). A Redis that cannot be
reached allows the request: logged (at most every 10 s), counted in `rate_limit_backend_errors`, and skipped
for a second so that a dead Redis costs one timeout per second, not one per request.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from redis import asyncio as redis
from redis.exceptions import RedisError
from starlette.types import Scope

from sessions_gql.config import Settings

log = logging.getLogger("sessions_gql.ratelimit")
PERIOD_SECONDS = 60
MICROS = 1_000_000
REDIS_BACKOFF_SECONDS = 1.0
WARN_EVERY_SECONDS = 10.0


@dataclass(frozen=True)
class Rate:
    limit: int
    period_seconds: int = PERIOD_SECONDS

    @property
    def interval(self) -> int:
        return self.period_seconds * MICROS // self.limit

    @property
    def burst(self) -> int:
        return self.interval * self.limit


@dataclass(frozen=True)
class Refusal:
    """Why a hit was refused and when to come back (whole seconds, at least 1)."""

    message: str
    retry_after: int

    @property
    def extensions(self) -> dict[str, object]:
        return {"code": "RATE_LIMITED", "retryAfter": self.retry_after}


class Store(Protocol):
    async def hit(self, key: str, rate: Rate, now: int) -> int:
        """Record one hit; 0 when allowed, else the microseconds to wait."""
        ...

    async def close(self) -> None: ...


class MemoryStore:
    """TATs in a dict of at most `max_keys` keys, in order of last hit."""

    def __init__(self, max_keys: int) -> None:
        self.max_keys = max_keys
        self._tat: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._tat)

    async def hit(self, key: str, rate: Rate, now: int) -> int:
        tat = max(self._tat.pop(key, now), now)
        new_tat = tat + rate.interval
        if new_tat - now > rate.burst:
            self._tat[key] = tat
            return new_tat - now - rate.burst
        if len(self._tat) >= self.max_keys:
            self._evict(now)
        self._tat[key] = new_tat
        return 0

    def _evict(self, now: int) -> None:
        """Drop keys whose bucket is full again (as good as absent); if that is not enough, the least recently
        hit, down to 90 % so the next sweep is many hits away."""
        for key in [key for key, tat in self._tat.items() if tat <= now]:
            del self._tat[key]
        excess = len(self._tat) - int(self.max_keys * 0.9)
        if excess > 0:
            for key in list(self._tat)[:excess]:
                del self._tat[key]
            log.warning("rate limit: %d active keys over the in-memory cap of %d; dropped the oldest",
                        excess, self.max_keys)

    async def close(self) -> None:
        return None


GCRA = """
local now = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local burst = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]))
if tat == nil or tat < now then tat = now end
local new_tat = tat + interval
local over = new_tat - now - burst
if over > 0 then return over end
redis.call('SET', KEYS[1], string.format('%d', new_tat), 'PX', math.ceil((new_tat - now) / 1000))
return 0
"""


class RedisStore:
    def __init__(self, url: str, timeout_seconds: float) -> None:
        self._redis = redis.Redis.from_url(url, socket_timeout=timeout_seconds,
                                           socket_connect_timeout=timeout_seconds)
        self._script = self._redis.register_script(GCRA)

    async def hit(self, key: str, rate: Rate, now: int) -> int:
        return int(await self._script(keys=[f"ratelimit:{key}"], args=[now, rate.interval, rate.burst]))

    async def close(self) -> None:
        await self._redis.aclose()


class RateLimiter:
    """The app's limits; `now` is the time source (seconds), injectable for tests."""

    def __init__(self, settings: Settings, *, metrics: Any = None, now: Callable[[], float] = time.time,
                 store: Store | None = None) -> None:
        self.enabled = settings.rate_limit
        self.viewer = Rate(settings.rate_limit_per_minute)
        self.anonymous = Rate(settings.rate_limit_anonymous_per_minute)
        self.subscriptions = Rate(settings.rate_limit_subscriptions_per_minute)
        self.store: Store = store or (
            RedisStore(settings.redis_url, settings.rate_limit_redis_timeout_seconds) if settings.redis_url
            else MemoryStore(settings.rate_limit_memory_keys))
        self.proxies = trusted_networks(settings.trusted_proxies)
        self.metrics = metrics
        self.now = now
        self._skip_until = 0.0
        self._warned_at = -math.inf

    async def request(self, viewer_key: str | None, scope: Scope) -> Refusal | None:
        """A GraphQL request by this viewer (a user id), or by its client address when anonymous."""
        if viewer_key is not None:
            return await self._check(f"viewer:{viewer_key}", self.viewer, "request",
                                     "requests per minute per user")
        return await self._check(f"address:{self.client_address(scope)}", self.anonymous, "request",
                                 "requests per minute per address without a token")

    async def subscription(self, viewer_key: str | None, scope: Scope) -> Refusal | None:
        """One operation started over a websocket (a subscription, or a query sent that way)."""
        key = viewer_key if viewer_key is not None else f"address:{self.client_address(scope)}"
        return await self._check(f"subscribe:{key}", self.subscriptions, "subscription",
                                 "subscription starts per minute")

    async def _check(self, key: str, rate: Rate, kind: str, what: str) -> Refusal | None:
        if not self.enabled:
            return None
        now = self.now()
        if now < self._skip_until:
            self._degraded(None)
            return None
        try:
            wait = await self.store.hit(key, rate, int(now * MICROS))
        except (RedisError, OSError, TimeoutError) as exc:
            self._skip_until = now + REDIS_BACKOFF_SECONDS
            self._degraded(exc)
            return None
        if wait <= 0:
            return None
        if self.metrics is not None:
            self.metrics.rate_limited.labels(kind).inc()
        retry_after = max(1, math.ceil(wait / MICROS))
        return Refusal(f"rate limit: at most {rate.limit} {what}; retry in {retry_after} s", retry_after)

    def _degraded(self, exc: BaseException | None) -> None:
        if self.metrics is not None:
            self.metrics.rate_limit_errors.inc()
        now = time.monotonic()
        if exc is not None and now - self._warned_at >= WARN_EVERY_SECONDS:
            self._warned_at = now
            log.warning("rate limit: Redis unreachable (%s); allowing requests unlimited meanwhile",
                        type(exc).__name__)

    def client_address(self, scope: Scope) -> str:
        """The peer's address from the ASGI scope; behind a trusted proxy, the first address right to left in
        X-Forwarded-For that is not a trusted proxy. IPv6 clients are keyed by their /64."""
        client = scope.get("client")
        peer = parse_address(client[0]) if client else None
        if peer is None:
            return "unknown"
        address = peer
        if self.proxies and _within(peer, self.proxies):
            hops = b",".join(value for name, value in scope.get("headers") or [] if name == b"x-forwarded-for")
            for hop in reversed(hops.decode("latin-1").split(",")):
                parsed = parse_address(hop.strip())
                if parsed is None:
                    break
                address = parsed
                if not _within(parsed, self.proxies):
                    break
        if address.version == 6:
            return str(ipaddress.ip_network(f"{address}/64", strict=False))
        return str(address)

    async def close(self) -> None:
        await self.store.close()


Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_address(text: str) -> Address | None:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def trusted_networks(text: str) -> list[Network]:
    """SESSIONS_GQL_TRUSTED_PROXIES: addresses or CIDR networks, comma-separated (ValueError if malformed)."""
    return [ipaddress.ip_network(part.strip(), strict=False) for part in text.split(",") if part.strip()]


def _within(address: Address, networks: list[Network]) -> bool:
    return any(address in network for network in networks)
