"""Persisted queries: Apollo's automatic persisted queries (APQ) and an optional allow-list of trusted documents.

A request may carry `extensions.persistedQuery = {version: 1, sha256Hash}` instead of (or beside) its document:

- hash only, known: the stored document runs (`hit`);
- hash only, unknown: PERSISTED_QUERY_NOT_FOUND, message `PersistedQueryNotFound`, which is what Apollo's
  persisted-query link looks for before it retries with the document (`miss`);
- document and hash: the hash must be the document's SHA-256 (else PERSISTED_QUERY_HASH_MISMATCH); the document
  is stored and runs (`registered`).

Stored documents live in a per-process LRU and, with REDIS_URL, in Redis for every instance (with a TTL). A Redis
failure only costs a miss: the client sends the document again.

With a manifest of trusted documents (SESSIONS_GQL_TRUSTED_DOCUMENTS), nothing is learnt at run time: only a
registered hash, or a document whose hash is registered, runs; anything else is PERSISTED_QUERY_NOT_ALLOWED.

HTTP requests are resolved in the schema (`Schema.execute`); strawberry's websocket handlers drop a subscribe
message's `extensions`, so `websocket_io` resolves them from the frames, before the handlers see them.
"""

from __future__ import annotations

import collections
import hashlib
import json
import logging
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from graphql import GraphQLError
from prometheus_client import CollectorRegistry, Counter
from redis import asyncio as redis
from starlette.types import Message, Receive, Send

from sessions_gql.config import Settings

log = logging.getLogger("sessions_gql.persisted")

NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
HASH_MISMATCH = "PERSISTED_QUERY_HASH_MISMATCH"
NOT_ALLOWED = "PERSISTED_QUERY_NOT_ALLOWED"
VALIDATION = "VALIDATION"
SHA256 = re.compile(r"^[0-9a-fA-F]{64}$")
REDIS_PREFIX = "sessions_gql:apq:"
OUTCOMES = ("hit", "miss", "registered", "mismatch", "refused", "invalid")


def sha256(document: str) -> str:
    return hashlib.sha256(document.encode("utf-8")).hexdigest()


class PersistedQueryError(Exception):
    """A request the persisted-query rules refuse: its code and message, as a GraphQL error."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def graphql_error(self) -> GraphQLError:
        return GraphQLError(self.message, extensions={"code": self.code})


def load_manifest(path: Path) -> dict[str, str]:
    """{sha256: document}, or Apollo's persisted-query manifest ({"operations": [{"id", "body"}]}).

    Every entry is checked: a hash that is not its document's SHA-256 is refused at start-up, not at run time.
    """
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"trusted documents manifest {path}: {exc}") from exc
    if isinstance(raw, dict) and isinstance(raw.get("operations"), list):
        pairs = [(op.get("id"), op.get("body")) for op in raw["operations"] if isinstance(op, dict)]
    elif isinstance(raw, dict):
        pairs = list(raw.items())
    else:
        raise ValueError(f"trusted documents manifest {path}: expected a JSON object")
    manifest: dict[str, str] = {}
    for key, document in pairs:
        if not isinstance(key, str) or not isinstance(document, str) or not SHA256.match(key):
            raise ValueError(f"trusted documents manifest {path}: entry {key!r} is not a sha256 and a document")
        if sha256(document) != key.lower():
            raise ValueError(f"trusted documents manifest {path}: {key} is not the SHA-256 of its document")
        manifest[key.lower()] = document
    return manifest


class PersistedQueries:
    """Resolves a request's document from its persistedQuery extension, and enforces the allow-list."""

    def __init__(self, *, enabled: bool = True, cache_size: int = 1024, redis_url: str | None = None,
                 ttl_seconds: int = 86400, manifest: dict[str, str] | None = None,
                 registry: CollectorRegistry | None = None) -> None:
        self.enabled = enabled
        self.cache_size = cache_size
        self.ttl_seconds = ttl_seconds
        self.manifest = manifest
        self._cache: collections.OrderedDict[str, str] = collections.OrderedDict()
        self._redis_url = redis_url if manifest is None else None
        self._redis: redis.Redis | None = None
        self.counts: collections.Counter[str] = collections.Counter()
        self._metric = Counter("persisted_queries", "Persisted-query lookups, by outcome.", ["outcome"],
                               registry=registry) if registry is not None else None

    @classmethod
    def from_settings(cls, settings: Settings, registry: CollectorRegistry | None = None) -> PersistedQueries:
        manifest = load_manifest(Path(settings.trusted_documents)) if settings.trusted_documents else None
        return cls(enabled=settings.persisted_queries, cache_size=settings.persisted_query_cache_size,
                   redis_url=settings.redis_url, ttl_seconds=settings.persisted_query_ttl_seconds,
                   manifest=manifest, registry=registry)

    def _count(self, outcome: str) -> None:
        self.counts[outcome] += 1
        if self._metric is not None:
            self._metric.labels(outcome).inc()

    def _refuse(self, outcome: str, code: str, message: str) -> PersistedQueryError:
        self._count(outcome)
        return PersistedQueryError(code, message)

    async def document(self, query: str | None, extensions: Mapping[str, Any] | None) -> str | None:
        """The document to run for this request; raises PersistedQueryError when it must not run."""
        persisted = extensions.get("persistedQuery") if isinstance(extensions, Mapping) else None
        if persisted is None:
            if self.manifest is not None and query is not None and sha256(query) not in self.manifest:
                raise self._refuse("refused", NOT_ALLOWED, "only trusted documents may run on this server")
            return query
        if not self.enabled and self.manifest is None:
            raise self._refuse("invalid", "PERSISTED_QUERY_NOT_SUPPORTED", "PersistedQueryNotSupported")
        digest = self._hash_of(persisted)
        if query is not None:
            if sha256(query) != digest:
                raise self._refuse("mismatch", HASH_MISMATCH, "persistedQuery.sha256Hash is not the SHA-256 "
                                   "of the document")
            if self.manifest is not None:
                if digest not in self.manifest:
                    raise self._refuse("refused", NOT_ALLOWED, "only trusted documents may run on this server")
                self._count("hit")
                return query
            await self._store(digest, query)
            self._count("registered")
            return query
        found = self.manifest.get(digest) if self.manifest is not None else await self._lookup(digest)
        if found is None:
            if self.manifest is not None:
                raise self._refuse("refused", NOT_ALLOWED, "only trusted documents may run on this server")
            raise self._refuse("miss", NOT_FOUND, "PersistedQueryNotFound")
        self._count("hit")
        return found

    def _hash_of(self, persisted: object) -> str:
        if not isinstance(persisted, Mapping) or persisted.get("version") != 1:
            raise self._refuse("invalid", VALIDATION, "persistedQuery needs version 1 and a sha256Hash")
        digest = persisted.get("sha256Hash")
        if not isinstance(digest, str) or not SHA256.match(digest):
            raise self._refuse("invalid", VALIDATION, "persistedQuery.sha256Hash must be 64 hexadecimal digits")
        return digest.lower()

    def _remember(self, digest: str, document: str) -> None:
        self._cache[digest] = document
        self._cache.move_to_end(digest)
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)

    async def _store(self, digest: str, document: str) -> None:
        self._remember(digest, document)
        client = self._client()
        if client is None:
            return
        try:
            await client.set(REDIS_PREFIX + digest, document, ex=self.ttl_seconds)
        except (redis.RedisError, OSError) as exc:
            log.warning("persisted query %s not shared through Redis: %s", digest[:12], exc)

    async def _lookup(self, digest: str) -> str | None:
        document = self._cache.get(digest)
        if document is not None:
            self._cache.move_to_end(digest)
            return document
        client = self._client()
        if client is None:
            return None
        try:
            value = await client.get(REDIS_PREFIX + digest)
        except (redis.RedisError, OSError) as exc:
            log.warning("persisted query %s not read from Redis: %s", digest[:12], exc)
            return None
        if value is None:
            return None
        document = value.decode("utf-8") if isinstance(value, bytes) else str(value)
        if sha256(document) != digest:  # never run what does not match its hash, whoever wrote it
            return None
        self._remember(digest, document)
        return document

    def _client(self) -> redis.Redis | None:
        if self._redis_url is None or not self.enabled:
            return None
        if self._redis is None:
            self._redis = redis.Redis.from_url(self._redis_url, socket_timeout=2, socket_connect_timeout=2)
        return self._redis

    async def close(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None

    def websocket_io(self, receive: Receive, send: Send) -> tuple[Receive, Send]:
        """`receive` and `send` for a GraphQL websocket whose subscribe (graphql-transport-ws) or start
        (graphql-ws) frames get their document from their persistedQuery extension. A refused frame is
        answered with the protocol's error frame for its id and not passed on; other frames pass unchanged."""
        state: dict[str, Any] = {"subprotocol": None, "acknowledged": False}

        async def tracking_send(message: Message) -> None:
            if message["type"] == "websocket.accept":
                state["subprotocol"] = message.get("subprotocol")
            elif (message["type"] == "websocket.send" and not state["acknowledged"]
                  and "connection_ack" in (message.get("text") or "")):
                state["acknowledged"] = True
            await send(message)

        async def resolving_receive() -> Message:
            while True:
                message = await receive()
                text = message.get("text") if message["type"] == "websocket.receive" else None
                if not state["acknowledged"] or not text or "persistedQuery" not in text:
                    return message
                resolved = await self._resolve_frame(text, state["subprotocol"], tracking_send)
                if resolved is not None:
                    return {**message, "text": resolved}

        return resolving_receive, tracking_send

    async def _resolve_frame(self, text: str, subprotocol: str | None, send: Send) -> str | None:
        """The frame with its document filled in, or None once a refusal has been sent."""
        try:
            frame = json.loads(text)
        except ValueError:
            return text
        if not isinstance(frame, dict) or frame.get("type") not in ("subscribe", "start"):
            return text
        payload, operation_id = frame.get("payload"), frame.get("id")
        if not isinstance(payload, dict) or not isinstance(operation_id, str):
            return text
        extensions = payload.get("extensions")
        query = payload.get("query")
        if not isinstance(extensions, dict) or "persistedQuery" not in extensions or not (
                query is None or isinstance(query, str)):
            return text
        try:
            document = await self.document(query, extensions)
        except PersistedQueryError as problem:
            formatted = problem.graphql_error().formatted
            refusal = {"id": operation_id, "type": "error",
                       "payload": [formatted] if subprotocol == "graphql-transport-ws" else formatted}
            await send({"type": "websocket.send", "text": json.dumps(refusal, separators=(",", ":"))})
            return None
        return json.dumps({**frame, "payload": {**payload, "query": document}}, separators=(",", ":"))
