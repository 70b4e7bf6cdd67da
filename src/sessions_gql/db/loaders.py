"""Per-request DataLoaders: one statement per batch of keys, results in key order."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from functools import cached_property
from typing import Any, TypeVar

from sqlalchemy import func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.dataloader import DataLoader

from sessions_gql.db import models as m

T = TypeVar("T")
K = TypeVar("K")

SessionGetter = Callable[[], Awaitable[AsyncSession]]


def _by_key(rows: Sequence[Any], keys: Sequence[K], key: Callable[[Any], K]) -> list[Any]:
    found = {key(row): row for row in rows}
    return [found.get(k) for k in keys]


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

    def _by_column(self, model: type[Any], column: Any, *, many: bool, order: Any = None) -> DataLoader[Any, Any]:
        async def load(keys: list[Any]) -> list[Any]:
            session = await self._db()
            query = select(model).where(column.in_(keys))
            if order is not None:
                query = query.order_by(order)
            rows = (await session.scalars(query)).all()
            picker = lambda row: getattr(row, column.key)  # noqa: E731
            return _grouped(rows, keys, picker) if many else _by_key(rows, keys, picker)

        return DataLoader(load_fn=load)

    @cached_property
    def user_by_id(self) -> DataLoader[uuid.UUID, m.User | None]:
        return self._by_id(m.User)

    @cached_property
    def member_by_id(self) -> DataLoader[uuid.UUID, m.Member | None]:
        return self._by_id(m.Member)

    @cached_property
    def provider_by_id(self) -> DataLoader[uuid.UUID, m.Provider | None]:
        return self._by_id(m.Provider)

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
        return self._by_column(m.Service, m.Service.provider_id, many=True, order=m.Service.created_at)

    @cached_property
    def sponsorships_by_member_id(self) -> DataLoader[uuid.UUID, list[m.Sponsorship]]:
        return self._by_column(m.Sponsorship, m.Sponsorship.member_id, many=True, order=m.Sponsorship.created_at)

    @cached_property
    def rules_by_provider_id(self) -> DataLoader[uuid.UUID, list[m.AvailabilityRule]]:
        rule = m.AvailabilityRule
        return self._by_column(rule, rule.provider_id, many=True, order=rule.start_time)

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

        async def load(keys: list[tuple[uuid.UUID, uuid.UUID]]) -> list[bool]:
            session = await self._db()
            pairs = tuple_(m.Session.provider_id, m.Session.member_id)
            query = select(m.Session.provider_id, m.Session.member_id).where(pairs.in_(keys)).distinct()
            found = {(row.provider_id, row.member_id) for row in (await session.execute(query)).all()}
            return [key in found for key in keys]

        return DataLoader(load_fn=load)
