"""Per-request DataLoaders: one statement per batch of keys, results in key order."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from functools import cached_property
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, and_, func, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from strawberry.dataloader import DataLoader

from sessions_gql.db import models as m
from sessions_gql.domain.enums import OverrideKind, Party, TimelineEventType

T = TypeVar("T")
K = TypeVar("K")

SessionGetter = Callable[[], Awaitable[AsyncSession]]


def _by_key(rows: Sequence[Any], keys: Sequence[K], key: Callable[[Any], K]) -> list[Any]:
    found = {key(row): row for row in rows}
    return [found.get(k) for k in keys]


SERVICES_ORDER = (m.Service.created_at, m.Service.id)
NOTES_ORDER = (m.Note.at, m.Note.id)
PACKAGES_ORDER = (m.Package.purchased_at, m.Package.id)
"""The orders of the lists below that the read path also writes in SQL (readpath/objects.py): total, the id
after the timestamp, since rows with equal timestamps would come in whatever order each statement's sort left."""


def read_mark(conversation: Any, side: Party) -> Any:
    """The column of a conversation's (table, alias or entity) read mark of one side."""
    return conversation.member_read_up_to if side is Party.MEMBER else conversation.provider_read_up_to


def unread_conditions(message: Any, mark: Any, user_id: Any) -> list[ColumnElement[bool]]:
    """A message (a table's, alias's or entity's columns) unread by `user_id` on the side whose read mark is
    `mark`: the other side's and system messages after the mark."""
    return [or_(message.sender_user_id.is_(None), message.sender_user_id != user_id),
            or_(mark.is_(None), message.id > mark)]


def unread_messages_query(conversation_ids: Sequence[uuid.UUID], *, side: Party, user_id: uuid.UUID
                          ) -> Select[uuid.UUID, int]:
    """(conversation_id, unread) for one side: the other side's and system messages after its read mark."""
    C, Msg = m.Conversation, m.Message
    return (
        select(Msg.conversation_id, func.count())
        .join(C, C.id == Msg.conversation_id)
        .where(Msg.conversation_id.in_(conversation_ids), *unread_conditions(Msg, read_mark(C, side), user_id))
        .group_by(Msg.conversation_id)
    )


def _grouped(rows: Sequence[Any], keys: Sequence[K], key: Callable[[Any], K]) -> list[list[Any]]:
    groups: dict[K, list[Any]] = defaultdict(list)
    for row in rows:
        groups[key(row)].append(row)
    return [groups.get(k, []) for k in keys]


class Loaders:
    """Built lazily per request (per delivered event for subscriptions), so nothing stale is served."""

    def __init__(self, db: SessionGetter) -> None:
        self._db = db

    def _by_id(self, model: type[Any]) -> DataLoader[uuid.UUID, Any]:
        async def load(keys: list[uuid.UUID]) -> list[Any]:
            session = await self._db()
            rows = (await session.scalars(select(model).where(model.id.in_(keys)))).all()
            return _by_key(rows, keys, lambda row: row.id)

        return DataLoader(load_fn=load)

    def _with_user(self, model: type[Any]) -> DataLoader[uuid.UUID, Any]:
        """Members or providers by id, their users read in the same statement and primed into `user_by_id`:
        nearly every field of a person needs the user row, so fetching it later would cost a second trip."""

        async def load(keys: list[uuid.UUID]) -> list[Any]:
            session = await self._db()
            pairs = (await session.execute(
                select(model, m.User).join(m.User, m.User.id == model.user_id).where(model.id.in_(keys)))).all()
            users = self.user_by_id
            for _person, user in pairs:
                users.prime(user.id, user)
            return _by_key([person for person, _user in pairs], keys, lambda row: row.id)

        return DataLoader(load_fn=load)

    def _by_column(self, model: type[Any], column: Any, *, many: bool, order: tuple[Any, ...] = ()
                   ) -> DataLoader[Any, Any]:
        async def load(keys: list[Any]) -> list[Any]:
            session = await self._db()
            query = select(model).where(column.in_(keys)).order_by(*order)
            rows = (await session.scalars(query)).all()
            picker = lambda row: getattr(row, column.key)  # noqa: E731
            return _grouped(rows, keys, picker) if many else _by_key(rows, keys, picker)

        return DataLoader(load_fn=load)

    @cached_property
    def user_by_id(self) -> DataLoader[uuid.UUID, m.User | None]:
        return self._by_id(m.User)

    @cached_property
    def member_by_id(self) -> DataLoader[uuid.UUID, m.Member | None]:
        return self._with_user(m.Member)

    @cached_property
    def provider_by_id(self) -> DataLoader[uuid.UUID, m.Provider | None]:
        return self._with_user(m.Provider)

    @cached_property
    def service_by_id(self) -> DataLoader[uuid.UUID, m.Service | None]:
        return self._by_id(m.Service)

    @cached_property
    def session_by_id(self) -> DataLoader[uuid.UUID, m.Session | None]:
        return self._by_id(m.Session)

    @cached_property
    def member_by_user_id(self) -> DataLoader[uuid.UUID, m.Member | None]:
        return self._by_column(m.Member, m.Member.user_id, many=False)

    @cached_property
    def provider_by_user_id(self) -> DataLoader[uuid.UUID, m.Provider | None]:
        return self._by_column(m.Provider, m.Provider.user_id, many=False)

    @cached_property
    def services_by_provider_id(self) -> DataLoader[uuid.UUID, list[m.Service]]:
        return self._by_column(m.Service, m.Service.provider_id, many=True, order=SERVICES_ORDER)

    @cached_property
    def notes_by_session_id(self) -> DataLoader[uuid.UUID, list[m.Note]]:
        """Every provider's notes per session; who may read which is decided by the caller."""
        return self._by_column(m.Note, m.Note.session_id, many=True, order=NOTES_ORDER)

    @cached_property
    def sponsorships_by_member_id(self) -> DataLoader[uuid.UUID, list[m.Sponsorship]]:
        return self._by_column(m.Sponsorship, m.Sponsorship.member_id, many=True, order=(m.Sponsorship.created_at,))

    @cached_property
    def rules_by_provider_id(self) -> DataLoader[uuid.UUID, list[m.AvailabilityRule]]:
        rule = m.AvailabilityRule
        return self._by_column(rule, rule.provider_id, many=True, order=(rule.start_time,))

    @cached_property
    def last_event_by_session_id(self) -> DataLoader[uuid.UUID, m.TimelineEvent | None]:
        async def load(keys: list[uuid.UUID]) -> list[m.TimelineEvent | None]:
            session = await self._db()
            latest = (
                select(func.max(m.TimelineEvent.id))
                .where(m.TimelineEvent.session_id.in_(keys))
                .group_by(m.TimelineEvent.session_id)
            )
            rows = (await session.scalars(select(m.TimelineEvent).where(m.TimelineEvent.id.in_(latest)))).all()
            return _by_key(rows, keys, lambda row: row.session_id)

        return DataLoader(load_fn=load)

    @cached_property
    def shares_session(self) -> DataLoader[tuple[uuid.UUID, uuid.UUID], bool]:
        """(provider_id, member_id) -> whether the two have any session together."""
        return self._pairs_with(lambda query: query)

    @cached_property
    def member_engaged(self) -> DataLoader[tuple[uuid.UUID, uuid.UUID], bool]:
        """(provider_id, member_id) -> whether the member asked for, or agreed to, a session with the provider: a
        REQUESTED or APPROVED_BY_MEMBER event on any of the pair's sessions (a provider's unanswered proposal is
        not enough)."""
        event = m.TimelineEvent
        engaged = (TimelineEventType.REQUESTED, TimelineEventType.APPROVED_BY_MEMBER)
        return self._pairs_with(
            lambda query: query.join(event, event.session_id == m.Session.id).where(event.type.in_(engaged)))

    def _pairs_with(self, narrow: Callable[[Any], Any]) -> DataLoader[tuple[uuid.UUID, uuid.UUID], bool]:
        """(provider_id, member_id) -> whether the pair has a session that `narrow`'s query finds."""

        async def load(keys: list[tuple[uuid.UUID, uuid.UUID]]) -> list[bool]:
            session = await self._db()
            pairs = tuple_(m.Session.provider_id, m.Session.member_id)
            query = narrow(select(m.Session.provider_id, m.Session.member_id)).where(pairs.in_(keys)).distinct()
            found = {(row.provider_id, row.member_id) for row in (await session.execute(query)).all()}
            return [key in found for key in keys]

        return DataLoader(load_fn=load)

    @cached_property
    def conversation_by_id(self) -> DataLoader[uuid.UUID, m.Conversation | None]:
        return self._by_id(m.Conversation)

    @cached_property
    def conversation_by_pair(self) -> DataLoader[tuple[uuid.UUID, uuid.UUID], m.Conversation | None]:
        """(member_id, provider_id) -> the pair's conversation, if one was opened."""

        async def load(keys: list[tuple[uuid.UUID, uuid.UUID]]) -> list[m.Conversation | None]:
            """With each conversation its last message, in the same statement, primed into
            `last_message_by_conversation_id`: lists of conversations and sessions show it next to them."""
            session = await self._db()
            C, Msg = m.Conversation, m.Message
            earlier = aliased(Msg)
            last_id = select(func.max(earlier.id)).where(earlier.conversation_id == C.id).scalar_subquery()
            pairs = (await session.execute(
                select(C, Msg).outerjoin(Msg, Msg.id == last_id)
                .where(tuple_(C.member_id, C.provider_id).in_(keys)))).all()
            last_messages = self.last_message_by_conversation_id
            for conversation, message in pairs:
                last_messages.prime(conversation.id, message)
            return _by_key([row for row, _message in pairs], keys, lambda row: (row.member_id, row.provider_id))

        return DataLoader(load_fn=load)

    @cached_property
    def last_message_by_conversation_id(self) -> DataLoader[uuid.UUID, m.Message | None]:
        async def load(keys: list[uuid.UUID]) -> list[m.Message | None]:
            session = await self._db()
            latest = (
                select(func.max(m.Message.id)).where(m.Message.conversation_id.in_(keys))
                .group_by(m.Message.conversation_id)
            )
            rows = (await session.scalars(select(m.Message).where(m.Message.id.in_(latest)))).all()
            return _by_key(rows, keys, lambda row: row.conversation_id)

        return DataLoader(load_fn=load)

    @cached_property
    def unread_by_conversation(self) -> DataLoader[tuple[uuid.UUID, Party, uuid.UUID], int]:
        """(conversation_id, the viewer's side, the viewer's user id) -> unread messages."""

        async def load(keys: list[tuple[uuid.UUID, Party, uuid.UUID]]) -> list[int]:
            session = await self._db()
            counts: dict[tuple[uuid.UUID, Party, uuid.UUID], int] = {}
            for side, user_id in {(key[1], key[2]) for key in keys}:
                wanted = [key[0] for key in keys if (key[1], key[2]) == (side, user_id)]
                rows = (await session.execute(unread_messages_query(wanted, side=side, user_id=user_id))).all()
                counts.update({(row[0], side, user_id): int(row[1]) for row in rows})
            return [counts.get(key, 0) for key in keys]

        return DataLoader(load_fn=load)

    @cached_property
    def packages_by_member_id(self) -> DataLoader[uuid.UUID, list[m.Package]]:
        """Every package a member bought, oldest first; who may see which is decided by the caller."""
        return self._by_column(m.Package, m.Package.member_id, many=True, order=PACKAGES_ORDER)

    @cached_property
    def package_by_id(self) -> DataLoader[uuid.UUID, m.Package | None]:
        return self._by_id(m.Package)

    @cached_property
    def sessions_by_package_id(self) -> DataLoader[uuid.UUID, list[m.Session]]:
        """The sessions booked from each package (their places are read from them)."""
        return self._by_column(m.Session, m.Session.package_id, many=True, order=(m.Session.created_at,))

    @cached_property
    def sold_package(self) -> DataLoader[tuple[uuid.UUID, uuid.UUID], bool]:
        """(provider_id, member_id) -> whether the member bought a package from the provider."""

        async def load(keys: list[tuple[uuid.UUID, uuid.UUID]]) -> list[bool]:
            session = await self._db()
            P = m.Package
            query = select(P.provider_id, P.member_id).where(tuple_(P.provider_id, P.member_id).in_(keys)).distinct()
            found = {(row.provider_id, row.member_id) for row in (await session.execute(query)).all()}
            return [key in found for key in keys]

        return DataLoader(load_fn=load)

    @cached_property
    def blocked_overlapping(self) -> DataLoader[tuple[uuid.UUID, datetime, datetime], list[m.AvailabilityOverride]]:
        """(provider_id, starts_at, ends_at) -> the provider's BLOCKED overrides (imported busy time included)
        overlapping that span, by start: one statement per batch."""
        O = m.AvailabilityOverride  # noqa: E741 - the model's initial, as elsewhere

        async def load(keys: list[tuple[uuid.UUID, datetime, datetime]]) -> list[list[m.AvailabilityOverride]]:
            session = await self._db()
            spans = [and_(O.provider_id == provider_id, O.starts_at < ends_at, O.ends_at > starts_at)
                     for provider_id, starts_at, ends_at in keys]
            rows = (await session.scalars(select(O).where(O.kind == OverrideKind.BLOCKED, or_(*spans))
                                          .order_by(O.starts_at, O.id))).all()
            return [[row for row in rows if row.provider_id == provider_id and row.starts_at < ends_at
                     and row.ends_at > starts_at] for provider_id, starts_at, ends_at in keys]

        return DataLoader(load_fn=load)
