"""The fields whose answer comes from an area further up the import order.

Areas import one way, each from those before it:

    availability <- people <- sessions <- packages <- messaging <- notifications

The graph the contract draws has cycles all the same: a session has a member, and a member has sessions. A type
names a type further up with `strawberry.lazy` (an annotation, never run), and when one of its fields has to
build such objects it calls the slot here that serves it. `api/root.py`, which imports every area, fills the
slots when the schema is built. So Python never sees an import cycle, no function imports to dodge one, and mypy
still checks both ends of each call.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from sessions_gql.api.context import Info
from sessions_gql.db import models as m

if TYPE_CHECKING:
    from sessions_gql.api.messaging.types import Conversation
    from sessions_gql.api.packages.types import Package
    from sessions_gql.api.sessions.inputs import SessionFilter
    from sessions_gql.api.sessions.types import Note, Session, SessionConnection


class SessionsPage(Protocol):
    async def __call__(self, info: Info, *, first: int | None, after: str | None, filter: SessionFilter | None,
                       member_id: uuid.UUID | None = None, provider_id: uuid.UUID | None = None,
                       ) -> SessionConnection: ...


class SessionOf(Protocol):
    async def __call__(self, info: Info, session_id: uuid.UUID | None) -> Session | None: ...


class MemberNotes(Protocol):
    async def __call__(self, info: Info, member_id: uuid.UUID) -> list[Note]: ...


class MemberPackages(Protocol):
    async def __call__(self, info: Info, member_id: uuid.UUID) -> list[Package]: ...


class SessionPackage(Protocol):
    async def __call__(self, info: Info, row: m.Session) -> Package | None: ...


class SessionConversation(Protocol):
    async def __call__(self, info: Info, row: m.Session) -> Conversation | None: ...


@dataclass(frozen=True)
class Links:
    sessions_page: SessionsPage
    """Member.sessions and Provider.sessions (sessions)."""
    session: SessionOf
    """LedgerEntry.session (sessions)."""
    member_notes: MemberNotes
    """Member.privateNotes (sessions)."""
    member_packages: MemberPackages
    """Member.packages (packages)."""
    session_package: SessionPackage
    """Session.package (packages)."""
    session_conversation: SessionConversation
    """Session.conversation (messaging)."""


class _Wiring:
    links: Links | None = None


def wire(links: Links) -> None:
    """Called by `api/root.py` when it builds the schema; the same functions each time."""
    _Wiring.links = links


def links() -> Links:
    found = _Wiring.links
    if found is None:
        raise RuntimeError("the schema was not built: api.root.build_schema wires these links")
    return found
