"""The GraphQL context: the viewer, the dependencies, one read session and the DataLoaders."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy.ext.asyncio import AsyncSession

from sessions_gql.auth.viewer import Viewer
from sessions_gql.db.loaders import Loaders
from sessions_gql.services.deps import Deps


class Unauthenticated(Exception):
    """No valid token; reported as a top-level error with extensions.code UNAUTHENTICATED."""

    def __init__(self, message: str = "authentication required: send 'Authorization: Bearer <token>'") -> None:
        super().__init__(message)


class SerializedSession:
    """The request's one read session, shared by resolvers that GraphQL runs concurrently.

    Sibling fields and DataLoaders of different kinds resolve on the same tick, and an AsyncSession allows one
    operation at a time ("This session is provisioning a new connection; concurrent operations are not
    permitted"). Each database call takes a lock for its duration; results come back buffered, so nothing is
    read from the connection outside it. Everything else is the AsyncSession's own.
    """

    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self._lock = asyncio.Lock()

    async def execute(self, *args: Any, **kwargs: Any) -> Any:
        async with self._lock:
            return await self._session.execute(*args, **kwargs)

    async def scalar(self, *args: Any, **kwargs: Any) -> Any:
        async with self._lock:
            return await self._session.scalar(*args, **kwargs)

    async def scalars(self, *args: Any, **kwargs: Any) -> Any:
        async with self._lock:
            return await self._session.scalars(*args, **kwargs)

    async def get(self, *args: Any, **kwargs: Any) -> Any:
        async with self._lock:
            return await self._session.get(*args, **kwargs)

    async def rollback(self) -> None:
        async with self._lock:
            await self._session.rollback()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._session, name)


@dataclass
class Context:
    deps: Deps
    request: Any
    viewer_or_none: Viewer | None
    auth_error: str | None = None
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    connection_params: dict[str, Any] | None = None
    subscriptions: int = 0
    connection: Context | None = None
    """For one operation on a websocket: the connection's context (its viewer, params, subscription count)."""
    _db: AsyncSession | None = None
    _loaders: Loaders | None = None
    _snapshot_stale: bool = False

    def for_operation(self) -> Context:
        """A context for one operation of this connection, with its own read session and DataLoaders.

        Strawberry builds one context per websocket and passes it to every operation on it; operations run
        concurrently, so each needs its own session (one closing a shared session broke the others). The viewer,
        the connection params and the subscription count stay the connection's.
        """
        owner = self.owner
        return Context(deps=owner.deps, request=owner.request, viewer_or_none=owner.viewer_or_none,
                       auth_error=owner.auth_error, request_id=owner.request_id,
                       connection_params=owner.connection_params, connection=owner)

    @property
    def owner(self) -> Context:
        """The connection's context for an operation on a websocket, else this one: it holds the viewer and counts
        the connection's subscriptions."""
        return self.connection or self

    @property
    def viewer(self) -> Viewer:
        owner = self.owner  # an operation on a websocket follows its connection (e.g. a viewer dropped later)
        if owner.viewer_or_none is None:
            raise Unauthenticated(owner.auth_error or Unauthenticated().args[0])
        return owner.viewer_or_none

    async def db(self) -> AsyncSession:
        """The request's read session, opened on first use and closed by `close()`. After a mutation committed,
        SQLite's read transaction would still see the database as it was when it began (PostgreSQL's statements
        each see what is committed): it is ended, and the next read begins a new one."""
        if self._db is None:
            self._db = cast(AsyncSession, SerializedSession(self.deps.sessions()))
        elif self._snapshot_stale:
            self._snapshot_stale = False
            await self._db.rollback()
        return self._db

    @property
    def loaders(self) -> Loaders:
        if self._loaders is None:
            self._loaders = Loaders(self.db)
        return self._loaders

    def reset_loaders(self) -> None:
        """Forget cached rows: after a mutation commits, and per subscription event."""
        self._loaders = None
        if self._db is not None:
            self._db.expire_all()
            self._snapshot_stale = self.deps.settings.is_sqlite

    async def close(self) -> None:
        if self._db is not None:
            await self._db.close()
            self._db = None

