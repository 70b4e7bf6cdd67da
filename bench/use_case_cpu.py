"""CPU per booking use case, in-process on PostgreSQL, without HTTP or GraphQL: request -> confirm -> cancel
called straight on the use cases, then the statements each sends. Prints JSON: milliseconds of CPU per call
(this process only: PostgreSQL's own work is not in it) and the statements of one cycle.

    .venv/bin/python -m bench.use_case_cpu [--cycles 200]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from datetime import datetime
from typing import Any

from sqlalchemy import event, select

from bench.common import future_slot, seed_pairs, stack
from sessions_gql.app import build_deps
from sessions_gql.auth.viewer import Viewer
from sessions_gql.config import Settings
from sessions_gql.db import models as m
from sessions_gql.domain.enums import Modality, Role
from sessions_gql.services.sessions import booking
from sessions_gql.services.sessions import commands as c
from sessions_gql.services.sessions import transitions as t

WARM_UP = 10


async def measure(settings: Settings, cycles: int) -> dict[str, Any]:
    await seed_pairs(settings, 1)
    deps = build_deps(settings)
    async with deps.sessions() as db:
        provider = (await db.scalars(select(m.Provider))).one()
        member = (await db.scalars(select(m.Member))).one()
        service_id = (await db.scalars(select(m.Service.id))).one()
    as_member = Viewer(user_id=member.user_id, role=Role.MEMBER, time_zone="UTC", member_id=member.id)
    as_provider = Viewer(user_id=provider.user_id, role=Role.PROVIDER, time_zone="UTC", provider_id=provider.id)
    spent = {"requestSession": 0.0, "confirmSession": 0.0, "cancelSession": 0.0}
    sent: dict[str, list[str]] = {name: [] for name in spent}
    current: list[str] = []

    def record(*args: Any) -> None:
        current.append(args[2])

    async def timed(name: str, call: Any, counted: bool, recorded: bool) -> Any:
        current.clear()
        started = time.process_time()
        answer = await call
        if counted:
            spent[name] += time.process_time() - started
        if recorded:
            sent[name] = [" ".join(statement.split())[:100] for statement in current]
        return answer

    for cycle in range(cycles + WARM_UP + 1):
        counted, recorded = cycle >= WARM_UP and cycle < cycles + WARM_UP, cycle == cycles + WARM_UP
        if recorded:  # the statements of a last cycle; listening costs CPU, so not while timing
            event.listen(deps.engine.sync_engine, "before_cursor_execute", record)
        command = booking.RequestSession(provider_id=provider.id, service_id=service_id, modality=Modality.PHONE,
                                         starts_at=datetime.fromisoformat(future_slot(0, cycle)))
        session_id = await timed("requestSession", booking.request_session(deps, viewer=as_member, command=command),
                                 counted, recorded)
        await timed("confirmSession", t.confirm_session(deps, viewer=as_provider, command=c.ConfirmSession(
            session_id=session_id)), counted, recorded)
        await timed("cancelSession", t.cancel_session(deps, viewer=as_member, command=c.CancelSession(
            session_id=session_id)), counted, recorded)
    await deps.dispose()
    per_call = {name: round(total / cycles * 1000, 2) for name, total in spent.items()}
    return {"cycles": cycles, "cpu_ms_per_call": per_call,
            "statements": {name: len(found) for name, found in sent.items()}, "sent": sent}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cycles", type=int, default=200)
    args = parser.parse_args()
    with stack() as s:
        print(json.dumps(asyncio.run(measure(s.settings(), args.cycles)), indent=2))


if __name__ == "__main__":
    main()
