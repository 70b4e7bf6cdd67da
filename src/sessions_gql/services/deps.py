"""What every use case needs: a way to open a unit of work, the clock and the settings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from sessions_gql.clock import Clock
from sessions_gql.config import Settings
from sessions_gql.db.uow import UnitOfWork
from sessions_gql.domain.policy import BookingPolicy
from sessions_gql.services.sessions.video import LinkVideoProvider, VideoProvider


@dataclass
class Deps:
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    clock: Clock
    settings: Settings
    write_sessions: async_sessionmaker[AsyncSession] | None = None
    """Sessions for units of work; on SQLite their transactions take the write lock at BEGIN. `sessions` are
    for reads (never the write lock on SQLite). On PostgreSQL both are the same."""
    read_engine: AsyncEngine | None = None
    video: VideoProvider | None = None
    policy: BookingPolicy = field(default_factory=BookingPolicy)

    def __post_init__(self) -> None:
        if self.write_sessions is None:
            self.write_sessions = self.sessions
        if self.video is None:
            self.video = LinkVideoProvider(self.settings.video_base_url)
        self.policy = policy_from(self.settings)

    commit_listeners: list[Callable[[], None]] = field(default_factory=list)
    hub: Any = None
    frames: Any = None
    """Subscription frames shared between subscribers (`realtime.frames.Frames`), set by the app."""
    read_path: Any = None
    """The compiled read plans (`readpath.plans.ReadPath`), made on the first query on PostgreSQL."""
    viewers: dict[Any, tuple[Any, float]] = field(default_factory=dict)
    """Recently authenticated viewers by user id, with when they were loaded (auth/context.py)."""
    """The realtime hub (`realtime.hub.Hub`), set by the app; None in plain use-case tests."""

    def uow(self) -> UnitOfWork:
        assert self.write_sessions is not None
        return UnitOfWork(self.write_sessions, on_commit=self._committed)

    async def dispose(self) -> None:
        if self.read_path is not None:
            await self.read_path.close()
        await self.engine.dispose()
        if self.read_engine is not None:
            await self.read_engine.dispose()

    def _committed(self) -> None:
        """Wake whoever waits for new outbox rows (the relay) as soon as a change commits."""
        for listener in self.commit_listeners:
            listener()


def policy_from(settings: Settings) -> BookingPolicy:
    """The booking windows, from the settings (DOMAIN.md defaults unless configured)."""
    return BookingPolicy(
        request_ttl=timedelta(minutes=settings.request_ttl_minutes),
        member_late_window=timedelta(hours=settings.member_late_window_hours),
        provider_late_window=timedelta(hours=settings.provider_late_window_hours),
        end_grace=timedelta(minutes=settings.end_grace_minutes),
        default_commission=Decimal(str(settings.default_commission_rate)),
    )
