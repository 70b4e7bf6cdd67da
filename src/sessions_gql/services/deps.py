"""What every use case needs: a way to open a unit of work, the clock and the settings."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from sessions_gql.clock import Clock
from sessions_gql.config import Settings
from sessions_gql.db.uow import UnitOfWork


@dataclass
class Deps:
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    clock: Clock
    settings: Settings

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.sessions)
