"""The test clock: admins move the server's time forward; each job that falls due runs at its own time, and
the emails due are sent after the jobs of each step."""

from __future__ import annotations

from datetime import datetime, timedelta

from sessions_gql.auth.viewer import Viewer
from sessions_gql.domain.errors import Forbidden, ValidationError
from sessions_gql.services import email_delivery, scheduler, system_jobs
from sessions_gql.services.access import require_admin
from sessions_gql.services.deps import Deps

MAX_MINUTES = 366 * 24 * 60


async def advance(deps: Deps, *, viewer: Viewer, minutes: int) -> datetime:
    require_admin(viewer)
    if not deps.settings.test_clock or deps.settings.is_production:
        raise Forbidden("the test clock is off on this server (SESSIONS_GQL_TEST_CLOCK)")
    if not 1 <= minutes <= MAX_MINUTES:
        raise ValidationError(f"minutes must be between 1 and {MAX_MINUTES}", field="minutes")
    target = deps.clock.now() + timedelta(minutes=minutes)
    while (due := await scheduler.next_due_at(deps, until=target)) is not None:
        if due > deps.clock.now():
            deps.clock.advance(due - deps.clock.now())
        await scheduler.run_due(deps)
        await email_delivery.deliver_due(deps)
    deps.clock.advance(max(target - deps.clock.now(), timedelta(0)))
    await email_delivery.deliver_due(deps)
    return deps.clock.now()


__all__ = ["advance", "system_jobs"]
