"""Races: many people reaching for one slot at once; two schedulers reaching for one job."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from sessions_gql.db import models as m
from sessions_gql.domain.enums import SessionStatus, TimelineEventType
from sessions_gql.services import scheduler
from sessions_gql.services.sessions import repository, system_jobs
from tests.api.lifecycle_helpers import PROPOSE, REQUEST, world
from tests.harness.app import START, Api

TUESDAY_10 = (START + timedelta(days=1, hours=2)).isoformat()


async def test_twenty_members_requesting_one_slot_at_once_exactly_one_gets_it(api: Api) -> None:
    w = await world(api)
    members = [await api.member(f"Racer {i}", credits=100) for i in range(20)]
    payload = {"providerId": w.provider.gid, "serviceId": w.service_id, "startsAt": TUESDAY_10, "modality": "VIDEO"}
    results = await asyncio.gather(*(w.run(REQUEST, payload, member) for member in members))
    kinds = sorted(r["__typename"] if r["__typename"] == "SessionSuccess" else r["code"] for r in results)
    assert kinds == ["SLOT_UNAVAILABLE"] * 19 + ["SessionSuccess"]
    async with api.deps.sessions() as db:
        holds = await db.scalar(select(func.count()).select_from(m.SlotHold))
        held = await db.scalar(select(func.sum(m.Member.held_credits)))
    assert (holds, held) == (1, 60)


async def test_two_providers_proposing_overlapping_times_to_one_member_only_one_holds(api: Api) -> None:
    w = await world(api)
    other = await world(api)
    proposals = [
        (w.provider, w.service_id, TUESDAY_10),
        (other.provider, other.service_id, (START + timedelta(days=1, hours=2, minutes=30)).isoformat()),
    ]
    results = await asyncio.gather(*(
        w.run(PROPOSE, {"memberId": w.member.gid, "serviceId": service, "startsAt": at, "durationMinutes": 60,
                        "priceCredits": 60, "modality": "VIDEO"}, provider)
        for provider, service, at in proposals
    ))
    outcomes = sorted(r["__typename"] if r["__typename"] == "SessionSuccess" else r["code"] for r in results)
    assert outcomes in (["SLOT_UNAVAILABLE", "SessionSuccess"], ["SCHEDULE_CONFLICT", "SessionSuccess"])
    async with api.deps.sessions() as db:
        holds = await db.scalar(select(func.count()).select_from(m.SlotHold).where(
            m.SlotHold.member_id == w.member.member_id))
    assert holds == 1


async def test_two_schedulers_run_each_due_job_exactly_once(api: Api) -> None:
    w = await world(api, credits=400)
    starts = [START + timedelta(days=1, hours=2 + i) for i in range(6)]
    for at in starts:
        result = await w.run(REQUEST, {"providerId": w.provider.gid, "serviceId": w.service_id,
                                       "startsAt": at.isoformat(), "modality": "VIDEO"}, w.member)
        assert result["__typename"] == "SessionSuccess", result
    assert system_jobs.STEPS  # the expiry handlers are registered
    api.deps.clock.advance(timedelta(days=2))  # past every respondBy

    ran = await asyncio.gather(scheduler.run_due(api.deps), scheduler.run_due(api.deps))
    assert sum(ran) == 6
    async with api.deps.sessions() as db:
        statuses = (await db.scalars(select(m.Session.status))).all()
        expired_events = await db.scalar(select(func.count()).select_from(m.TimelineEvent).where(
            m.TimelineEvent.type == TimelineEventType.EXPIRED))
        pending = await db.scalar(select(func.count()).select_from(m.Job).where(m.Job.done_at.is_(None)))
    assert set(statuses) == {SessionStatus.EXPIRED}
    assert (expired_events, pending) == (6, 0)
    assert (await w.wallet())["availableCredits"] == 400


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)  # SQLite serializes writers: no race
async def test_a_race_lost_at_the_exclusion_constraint_is_slot_unavailable_and_writes_nothing(
        api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """The conflict check passed for two bookings before either committed (reproduced by blinding the check): the
    constraint refuses the second, and its driver error reaches the caller as SLOT_UNAVAILABLE, not a 500."""
    w = await world(api)
    other = await api.member("Late Comer", credits=100)
    first = await w.run(REQUEST, {"providerId": w.provider.gid, "serviceId": w.service_id, "startsAt": TUESDAY_10,
                                  "modality": "VIDEO"}, w.member)
    assert first["__typename"] == "SessionSuccess"

    def blind(*_args: object, **_kwargs: object) -> list[object]:
        return []

    monkeypatch.setattr(repository, "overlapping_holds", blind)
    second = await w.run(PROPOSE, {"memberId": other.gid, "serviceId": w.service_id, "startsAt": TUESDAY_10,
                                   "durationMinutes": 60, "priceCredits": 10, "modality": "VIDEO"}, w.provider)
    assert (second["__typename"], second["code"], second["message"]) == (
        "BasicError", "SLOT_UNAVAILABLE", "another booking took this time a moment ago")
    async with api.deps.sessions() as db:
        assert await db.scalar(select(func.count()).select_from(m.Session)) == 1
        assert await db.scalar(select(func.count()).select_from(m.SlotHold)) == 1
