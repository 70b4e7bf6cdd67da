"""Reminders: the member 24 h before, the provider 60 min before with the link; each sent once."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from sessions_gql.db import models as m
from sessions_gql.domain.enums import TimelineEventType
from sessions_gql.services import scheduler
from tests.api.lifecycle_helpers import (
    ACCEPT_NEW_TIME,
    CANCEL,
    PROPOSE_NEW_TIME,
    World,
    advance,
    at,
    book,
    ok,
    types,
    view,
    when,
    world,
)
from tests.harness.app import Api, Person

NOTIFICATIONS = "{ notifications(first: 10) { edges { node { kind body createdAt } } } }"


async def sent(w: World, session_id: str) -> int:
    return types(await view(w, session_id, w.member)).count("REMINDER_SENT")


async def kinds(api: Api, who: Person) -> list[tuple[str, str]]:
    data = await api.gql(NOTIFICATIONS, as_=who)
    return [(e["node"]["kind"], e["node"]["createdAt"]) for e in data["notifications"]["edges"]
            if e["node"]["kind"] in ("MEETING_REMINDER", "MEETING_LINK")]


async def test_each_reminder_goes_out_once_at_its_time(api: Api) -> None:
    w = await world(api)
    session = await book(w, at(2, 10))  # Wednesday 10:00
    await advance(api, 26 * 60 - 1)  # Tuesday 09:59
    assert await sent(w, session["id"]) == 0
    await advance(api, 1)
    assert await kinds(api, w.member) == [("MEETING_REMINDER", at(1, 10))]
    await advance(api, 23 * 60)  # Wednesday 09:00
    assert await kinds(api, w.provider) == [("MEETING_LINK", at(2, 9))]
    link = (await api.gql(NOTIFICATIONS, as_=w.provider))["notifications"]["edges"][0]["node"]["body"]
    assert "Join: https://meet.example.org/s-" in link
    await advance(api, 3 * 60)
    assert await sent(w, session["id"]) == 2


async def test_a_new_time_moves_the_reminders(api: Api) -> None:
    w = await world(api)
    session = await book(w, at(2, 10))
    await ok(w, PROPOSE_NEW_TIME, {"sessionId": session["id"], "startsAt": at(3, 10)}, w.provider)
    await ok(w, ACCEPT_NEW_TIME, {"sessionId": session["id"]}, w.member)
    await advance(api, 2 * 24 * 60 - 1)  # Wednesday 07:59: the old reminder time has passed
    assert await kinds(api, w.member) == []
    await advance(api, 1)  # Wednesday 10:00 minus... 24 h before Thursday 10:00
    await advance(api, 2 * 60)
    assert await kinds(api, w.member) == [("MEETING_REMINDER", at(2, 10))]


async def test_a_cancelled_session_sends_no_reminder(api: Api) -> None:
    w = await world(api)
    session = await book(w, at(3, 10))
    cancelled = await ok(w, CANCEL, {"sessionId": session["id"]}, w.member)
    assert cancelled["status"] == "CANCELLED"
    await advance(api, 4 * 24 * 60)
    assert (await sent(w, session["id"]), await kinds(api, w.member), await kinds(api, w.provider)) == (0, [], [])


async def test_a_session_agreed_inside_the_window_is_reminded_at_once(api: Api) -> None:
    w = await world(api)
    session = await book(w, at(0, 14))  # Monday 14:00, six hours ahead
    await advance(api, 1)
    assert await kinds(api, w.member) == [("MEETING_REMINDER", at(0, 8))]  # due at once: the next pass
    await advance(api, 5 * 60)  # 13:01
    assert await kinds(api, w.provider) == [("MEETING_LINK", at(0, 13))]
    assert await sent(w, session["id"]) == 2


async def test_two_workers_never_send_one_reminder_twice(api: Api) -> None:
    w = await world(api, credits=400)
    sessions = [await book(w, at(1, hour)) for hour in (9, 11, 13, 15)]
    api.deps.clock.advance(when(1, 8, 30) - when(0, 8))  # four member reminders and one provider link are due
    ran = await asyncio.gather(*(scheduler.run_due(api.deps) for _ in range(3)))
    async with api.deps.sessions() as db:
        reminders = await db.scalar(select(func.count()).select_from(m.TimelineEvent).where(
            m.TimelineEvent.type == TimelineEventType.REMINDER_SENT))
    assert (reminders, sum(ran)) == (5, 5)
    assert [await sent(w, s["id"]) for s in sessions] == [2, 1, 1, 1]


