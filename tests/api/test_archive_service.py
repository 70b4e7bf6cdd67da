"""archiveService: a retired service takes no new bookings, is not offered to members, and its sessions go on."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from sessions_gql.clock import FrozenClock
from sessions_gql.db import models as m
from sessions_gql.services.sessions.repository import SessionRepository
from tests.api.factories import count_rows, gid, until_waiting_on_a_lock
from tests.api.lifecycle_helpers import (
    CONFIRM,
    END,
    PROPOSE,
    REQUEST,
    START_SESSION,
    World,
    at,
    book,
    ok,
    request,
    when,
    world,
)
from tests.harness.app import START, Api, Person

ARCHIVE = """mutation($id: ID!) { archiveService(id: $id) { __typename
  ... on ServiceSuccess { service { id name archived archivedAt } } ... on UserError { code field message } } }"""
SERVICES = "query($id: ID!) { provider(id: $id) { services { id archived } } }"
SLOTS = """query($p: ID!, $s: ID!, $from: DateTime!, $to: DateTime!) {
  availableSlots(providerId: $p, serviceId: $s, from: $from, to: $to) { startsAt } }"""
SESSION_SERVICE = "query($id: ID!) { session(id: $id) { status service { id name archived } } }"
BY_SKILL = '{ providers(filter: {skill: "anxiety"}) { edges { node { id } } } }'
ARCHIVED_WHY = "Therapy is archived and takes no new bookings"


async def archive(api: Api, service_id: str, as_: Person) -> dict[str, Any]:
    return (await api.gql(ARCHIVE, {"id": service_id}, as_=as_))["archiveService"]  # type: ignore[no-any-return]


async def services(api: Api, w: World, as_: Person) -> list[dict[str, Any]]:
    return (await api.gql(SERVICES, {"id": w.provider.gid}, as_=as_))["provider"]["services"]  # type: ignore


async def slot_count(api: Api, w: World) -> int:
    data = await api.gql(SLOTS, {"p": w.provider.gid, "s": w.service_id, "from": at(1, 0), "to": at(2, 0)},
                         as_=w.member)
    return len(data["availableSlots"])


def refusal(result: dict[str, Any]) -> tuple[str, str, str | None, str]:
    return result["__typename"], result["code"], result["field"], result["message"]


async def test_an_archived_service_takes_no_new_bookings_and_is_offered_to_no_member(
        api: Api, clock: FrozenClock) -> None:
    w = await world(api)
    admin = await api.admin()
    assert await slot_count(api, w) == 37  # Tuesday 08:00-17:00 London in quarters
    assert (await api.gql(BY_SKILL, as_=w.member))["providers"]["edges"] == [{"node": {"id": w.provider.gid}}]
    done = await archive(api, w.service_id, w.provider)
    assert done == {"__typename": "ServiceSuccess", "service": {"id": w.service_id, "name": "Therapy",
                                                                 "archived": True, "archivedAt": START.isoformat()}}
    before = (await count_rows(api.deps, m.Session), await w.wallet())
    asked = await w.run(REQUEST, {"providerId": w.provider.gid, "serviceId": w.service_id, "startsAt": at(1, 10),
                                  "modality": "VIDEO"}, w.member)
    assert refusal(asked) == ("BasicError", "VALIDATION", "serviceId", ARCHIVED_WHY)
    offered = await w.run(PROPOSE, {"memberId": w.member.gid, "serviceId": w.service_id, "startsAt": at(1, 12),
                                    "durationMinutes": 60, "priceCredits": 60, "modality": "VIDEO"}, w.provider)
    assert refusal(offered) == ("BasicError", "VALIDATION", "serviceId", ARCHIVED_WHY)
    for_member = await w.run(REQUEST, {"providerId": w.provider.gid, "serviceId": w.service_id,
                                       "startsAt": at(1, 14), "modality": "VIDEO", "memberId": w.member.gid}, admin)
    assert refusal(for_member) == ("BasicError", "VALIDATION", "serviceId", ARCHIVED_WHY)
    assert (await count_rows(api.deps, m.Session), await w.wallet()) == before
    assert await slot_count(api, w) == 0
    assert await services(api, w, w.member) == []
    assert await services(api, w, w.provider) == [{"id": w.service_id, "archived": True}]
    assert await services(api, w, admin) == [{"id": w.service_id, "archived": True}]
    assert (await api.gql(BY_SKILL, as_=w.member))["providers"]["edges"] == []  # its skills are not offered

    clock.advance(timedelta(hours=1))  # archiving again changes nothing, not even when it was archived
    assert await archive(api, w.service_id, w.provider) == done
    assert await archive(api, w.service_id, admin) == done


async def test_sessions_already_booked_for_an_archived_service_go_on(api: Api, clock: FrozenClock) -> None:
    w = await world(api)
    booked = await book(w, at(1, 10))
    pending = await request(w, at(2, 10))
    await archive(api, w.service_id, w.provider)
    confirmed = await ok(w, CONFIRM, {"sessionId": pending["id"]}, w.provider)
    assert confirmed["status"] == "CONFIRMED"
    seen = await api.gql(SESSION_SERVICE, {"id": pending["id"]}, as_=w.member)
    assert seen["session"] == {"status": "CONFIRMED", "service": {"id": w.service_id, "name": "Therapy",
                                                                  "archived": True}}
    clock.set(when(1, 9, 55))
    await ok(w, START_SESSION, {"sessionId": booked["id"]}, w.provider)
    clock.set(when(1, 11))
    assert (await ok(w, END, {"sessionId": booked["id"]}, w.provider))["status"] == "COMPLETED"


async def test_only_the_owner_or_an_admin_archives_and_refusals_change_nothing(api: Api) -> None:
    w = await world(api)
    other, admin = await api.provider("Other"), await api.admin()
    unknown = gid("Service", uuid.uuid4())
    cases = [
        (w.member, w.service_id, ("BasicError", "FORBIDDEN", None, "only providers and admins archive services")),
        (other, w.service_id, ("BasicError", "FORBIDDEN", "id", "providers archive only their own services")),
        (w.provider, unknown, ("BasicError", "NOT_FOUND", "id", "no such service")),
        (admin, unknown, ("BasicError", "NOT_FOUND", "id", "no such service")),
    ]
    for who, service_id, expected in cases:
        assert refusal(await archive(api, service_id, who)) == expected, expected
    malformed = await archive(api, "??", w.provider)
    assert (malformed["__typename"], malformed["code"], malformed["field"]) == ("BasicError", "VALIDATION", "id")
    assert await services(api, w, w.member) == [{"id": w.service_id, "archived": False}]
    assert await slot_count(api, w) == 37
    by_admin = await archive(api, w.service_id, admin)
    assert by_admin["service"]["archived"] is True


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)  # SQLite serializes writers anyway
async def test_archiving_waits_for_a_booking_in_flight(api: Api) -> None:
    """A booking holds its service FOR SHARE from the statement that locks the parties (LOCK_BOOKING) to its
    commit: archiveService (FOR UPDATE) waits for it, so no booking commits beside an archive it did not see."""
    w = await world(api)
    assert w.member.member_id is not None
    async with api.deps.sessions() as db:
        service_id = (await db.scalars(select(m.Service.id))).one()

    async with api.deps.uow() as uow:
        await SessionRepository(uow, api.deps).lock_booking(service_id=service_id, provider_id=None,
                                                            member_id=w.member.member_id)
        archiving = asyncio.create_task(archive(api, w.service_id, w.provider))
        await until_waiting_on_a_lock(api.deps, archiving)
    archived = await asyncio.wait_for(archiving, timeout=20)  # the booking rolled back: the archive goes on
    assert (archived["__typename"], archived["service"]["archived"]) == ("ServiceSuccess", True)
