"""Small shared queries used by several use cases."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sessions_gql.db import models as m


async def shares_session(db: AsyncSession, *, provider_id: uuid.UUID, member_id: uuid.UUID) -> bool:
    query = select(m.Session.id).where(m.Session.provider_id == provider_id, m.Session.member_id == member_id)
    return (await db.scalar(query.limit(1))) is not None
