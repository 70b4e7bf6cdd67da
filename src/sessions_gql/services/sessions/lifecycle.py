"""Locking both parties of a booking in the one order every write uses (the session transitions lock them in
services/sessions/repository.py, in the same order)."""

from __future__ import annotations

import uuid

from sessions_gql.db import models as m
from sessions_gql.db.uow import UnitOfWork


async def lock_parties(uow: UnitOfWork, *, provider_id: uuid.UUID, member_id: uuid.UUID
                       ) -> tuple[m.Provider | None, m.Member | None]:
    """Lock the provider, then the member: one order everywhere, so concurrent bookings queue, never deadlock."""
    provider = await uow.session.get(m.Provider, provider_id, with_for_update=True)
    member = await uow.session.get(m.Member, member_id, with_for_update=True)
    return provider, member


