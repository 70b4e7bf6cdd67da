"""A session use case's unit of work: one transaction, the repository that owns its SQL, who acts and when,
and the idempotency key (a retry with the same key and command gets the first answer, other input is refused)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import asdict
from types import TracebackType
from typing import Any

from sqlalchemy.exc import IntegrityError

from sessions_gql.auth.viewer import Viewer
from sessions_gql.db.uow import UnitOfWork
from sessions_gql.domain.actors import Actor
from sessions_gql.services import idempotency
from sessions_gql.services.deps import Deps
from sessions_gql.services.sessions.repository import SessionRepository
from sessions_gql.services.sessions.session_store import actor_of

read_back: ContextVar[dict[uuid.UUID, Any] | None] = ContextVar("read_back", default=None)
"""Set (to an empty dict) by a mutation resolver whose response selects the session: each unit of work that
commits a session puts the session's row there, read in its own transaction just before the commit, so the
response reads nothing back (otherwise a second transaction and connection for one row)."""


def operation_of(command: Any) -> str:
    """The mutation a command is for: ConfirmSession -> confirmSession."""
    name = type(command).__name__
    return name[0].lower() + name[1:]


class SessionWork:
    repository: Callable[[UnitOfWork, Deps], SessionRepository] = SessionRepository
    """What owns the SQL; unit tests of the use cases put a fake here, with a fake unit of work in `deps`."""

    def __init__(self, deps: Deps, *, viewer: Viewer, command: Any) -> None:
        self.deps, self.viewer, self.command = deps, viewer, command
        self.now = deps.clock.now()
        self.actor: Actor = actor_of(viewer)
        self.operation = operation_of(command)
        self._key: str | None = command.idempotency_key
        # the command (but its key) is the payload; asdict's deep copies cost 2% of a booking in W1, so without
        # a key (nothing to compare a retry with) it is not made
        self._digest = "" if self._key is None else idempotency.request_hash(self.operation, {
            name: value for name, value in asdict(command).items() if name != "idempotency_key"})
        self._uow: UnitOfWork = deps.uow()
        self.sessions = type(self).repository(self._uow, deps)
        self.replayed: uuid.UUID | None = None
        """The session an earlier success with this idempotency key answered; nothing is to be done."""

    @property
    def uow(self) -> UnitOfWork:
        return self._uow

    async def __aenter__(self) -> SessionWork:
        await self._uow.__aenter__()
        try:
            self.replayed = await self._replay(self._uow)
        except BaseException:  # __aexit__ is not called when __aenter__ fails
            await self._uow.close()
            raise
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self._uow.__aexit__(exc_type, exc, tb)

    async def _replay(self, uow: UnitOfWork) -> uuid.UUID | None:
        earlier = await idempotency.replay(uow, user_id=self.viewer.user_id, key=self._key,
                                           operation=self.operation, digest=self._digest)
        return uuid.UUID(earlier["session_id"]) if earlier is not None else None

    async def commit(self, session_id: uuid.UUID) -> uuid.UUID:
        """Commit the change with its idempotency key; a twin that committed the same key first wins, and its
        answer is the answer."""
        idempotency.remember(self._uow, user_id=self.viewer.user_id, key=self._key, operation=self.operation,
                             digest=self._digest, result={"session_id": str(session_id)}, now=self.now)
        wanted = read_back.get()
        if wanted is not None:
            wanted[session_id] = await self.sessions.stored(session_id)
        try:
            await self._uow.commit()
        except IntegrityError:
            if wanted is not None:
                wanted.pop(session_id, None)  # not committed
            if self._key is None:
                raise
            await self._uow.close()  # its transaction is spent; on SQLite it holds the write lock
            async with self.deps.uow() as again:
                earlier = await self._replay(again)
            if earlier is None:
                raise
            return earlier
        return session_id
