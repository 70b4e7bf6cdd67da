"""Documents and a small world for the booking lifecycle API tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.harness.app import Api, Person

SESSION_FIELDS = """
  id status version paymentStatus funding priceCredits refundedCredits startsAt endsAt
  approvals { member provider } awaitingResponseFrom respondBy noShowParty
  proposal { startsAt proposedBy } cancellation { by reason late }
  allowedActions
  timeline(first: 50) { edges { node { type actorRole fromStatus toStatus credits reason } } }
"""
RESULT = f"""
  __typename
  ... on SessionSuccess {{ session {{ {SESSION_FIELDS} }} }}
  ... on UserError {{ code message field }}
  ... on InsufficientFundsError {{ requiredCredits availableCredits }}
  ... on LateCancellationError {{ windowHours creditsAtStake consequence }}
  ... on ScheduleConflictError {{ conflicts {{ startsAt endsAt }} }}
"""
SET_AVAILABILITY = """mutation($input: SetAvailabilityInput!) { setAvailability(input: $input) { __typename } }"""
SAVE_SERVICE = """mutation($input: ServiceInput!) {
  saveService(input: $input) { __typename ... on ServiceSuccess { service { id } } }
}"""
REQUEST = f"mutation($input: RequestSessionInput!) {{ requestSession(input: $input) {{ {RESULT} }} }}"
PROPOSE = f"mutation($input: ProposeSessionInput!) {{ proposeSession(input: $input) {{ {RESULT} }} }}"
WALLET = """query($id: ID!) { member(id: $id) { wallet { availableCredits heldCredits
  ledger(first: 50) { edges { node { kind credits sponsoredMinutes } } } } } }"""


def action(name: str, input_type: str = "SessionActionInput") -> str:
    return f"mutation($input: {input_type}!) {{ {name}(input: $input) {{ {RESULT} }} }}"


@dataclass
class World:
    api: Api
    provider: Person
    member: Person
    service_id: str

    async def run(self, document: str, input: dict[str, Any], as_: Person) -> dict[str, Any]:
        data = await self.api.gql(document, {"input": input}, as_=as_)
        return next(iter(data.values()))  # type: ignore[no-any-return]

    async def wallet(self, member: Person | None = None) -> dict[str, Any]:
        who = member or self.member
        data = await self.api.gql(WALLET, {"id": who.gid}, as_=who)
        return data["member"]["wallet"]  # type: ignore[no-any-return]


async def world(api: Api, *, credits: int = 200, free_consultation: bool = False, price: int = 60) -> World:
    """A London provider free every weekday 08:00-18:00 with a 60-minute VIDEO service, and a member."""
    provider = await api.provider("Dr Lane", tz="Europe/London")
    member = await api.member("Sam Member", credits=credits)
    rules = [{"weekday": day, "start": "08:00", "end": "18:00"}
             for day in ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY")]
    await api.gql(SET_AVAILABILITY, {"input": {"timeZone": "Europe/London", "weeklyRules": rules}}, as_=provider)
    service = await api.gql(SAVE_SERVICE, {"input": {
        "name": "Therapy", "skills": ["Anxiety"], "durationMinutes": 60, "priceCredits": price, "fee": "50.00",
        "currency": "GBP", "modalities": ["VIDEO", "PHONE", "IN_PERSON"],
        "freeInitialConsultation": free_consultation}}, as_=provider)
    return World(api=api, provider=provider, member=member, service_id=service["saveService"]["service"]["id"])


def types(session: dict[str, Any]) -> list[str]:
    return [edge["node"]["type"] for edge in session["timeline"]["edges"]]


# ---------------------------------------------------------------- additions for the test_lifecycle_<area> files

DAY0 = datetime(2026, 11, 23, tzinfo=UTC)  # Monday; START is DAY0 08:00 UTC (London = UTC in November)
VIEW_FIELDS = f"""{SESSION_FIELDS}
  location phoneNumber memberJoinedAt memberLateMinutes declineReason declineNote createdBy
  providerEarnings {{ amount currency }} videoRoom {{ joinUrl }} privateNotes {{ body }}
  timelineDetail: timeline(first: 50) {{ edges {{ node {{ type actorRole reason note previousStartsAt
    newStartsAt }} }} }}
"""
BOOKED = ["REQUESTED", "APPROVED_BY_MEMBER", "FUNDS_HELD", "APPROVED_BY_PROVIDER", "VIDEO_ROOM_CREATED"]
"""The timeline of a VIDEO session requested by the member and confirmed by the provider."""
VIEW = f"query($id: ID!) {{ session(id: $id) {{ {VIEW_FIELDS} }} }}"
ADVANCE = "mutation($minutes: Int!) { advanceTestClock(minutes: $minutes) }"
PROVIDER_STATE = """query($id: ID!) { provider(id: $id) { visibility
  reliability { consecutiveCancellations flagged lateCancellations averageResponseMinutes lateResponses } } }"""
MEMBER_SESSIONS = "query($id: ID!) { member(id: $id) { sessions(first: 50) { totalCount } } }"
CONFIRM = action("confirmSession")
DECLINE = action("declineSession", "DeclineSessionInput")
WITHDRAW = action("withdrawSession")
CANCEL = action("cancelSession", "CancelSessionInput")
PROPOSE_NEW_TIME = action("proposeNewTime", "ProposeNewTimeInput")
ACCEPT_NEW_TIME = action("acceptNewTime")
REJECT_NEW_TIME = action("rejectNewTime", "RejectNewTimeInput")
WITHDRAW_NEW_TIME = action("withdrawNewTime")
JOIN = action("joinSession")
START_SESSION = action("startSession")
MARK_NO_SHOW = action("markNoShow")
UNDO_NO_SHOW = action("undoNoShow")
END = action("endSession")
REFUND = action("refundSession", "RefundSessionInput")


def when(day: int, hour: int, minute: int = 0) -> datetime:
    """`day` days after Monday 2026-11-23, at hour:minute UTC."""
    return DAY0 + timedelta(days=day, hours=hour, minutes=minute)


def at(day: int, hour: int, minute: int = 0) -> str:
    return when(day, hour, minute).isoformat()


def ledger(wallet: dict[str, Any]) -> list[tuple[str, int]]:
    """(kind, credits) newest first."""
    return [(e["node"]["kind"], e["node"]["credits"]) for e in wallet["ledger"]["edges"]]


def balance(wallet: dict[str, Any]) -> tuple[int, int]:
    return wallet["availableCredits"], wallet["heldCredits"]


def error(result: dict[str, Any]) -> tuple[str, str, str | None]:
    """(__typename, code, field) of a refused mutation."""
    return result["__typename"], result.get("code", "-"), result.get("field")


def moved(session: dict[str, Any]) -> list[tuple[str, int | None]]:
    """(type, credits) of the timeline events that carry credits."""
    return [(e["node"]["type"], e["node"]["credits"]) for e in session["timeline"]["edges"]
            if e["node"]["credits"] is not None]


async def view(w: World, session_id: str, as_: Person) -> dict[str, Any]:
    """The session as `as_` sees it through `session(id)`."""
    data = await w.api.gql(VIEW, {"id": session_id}, as_=as_)
    return data["session"]  # type: ignore[no-any-return]


async def ok(w: World, document: str, input: dict[str, Any], as_: Person) -> dict[str, Any]:
    """Run a session mutation that must succeed; its session."""
    result = await w.run(document, input, as_)
    assert result["__typename"] == "SessionSuccess", result
    return result["session"]  # type: ignore[no-any-return]


async def request(w: World, starts_at: str, *, member: Person | None = None, **extra: Any) -> dict[str, Any]:
    member = member or w.member
    return await ok(w, REQUEST, {"providerId": w.provider.gid, "serviceId": w.service_id, "startsAt": starts_at,
                                 "modality": "VIDEO", **extra}, member)


async def book(w: World, starts_at: str, *, member: Person | None = None, **extra: Any) -> dict[str, Any]:
    """A CONFIRMED session: requested by the member, confirmed by the provider."""
    requested = await request(w, starts_at, member=member, **extra)
    return await ok(w, CONFIRM, {"sessionId": requested["id"]}, w.provider)


async def provider_state(w: World, as_: Person | None = None) -> dict[str, Any]:
    data = await w.api.gql(PROVIDER_STATE, {"id": w.provider.gid}, as_=as_ or w.provider)
    return data["provider"]  # type: ignore[no-any-return]


async def advance(api: Api, minutes: int) -> str:
    data = await api.gql(ADVANCE, {"minutes": minutes}, as_=await api.admin())
    return data["advanceTestClock"]  # type: ignore[no-any-return]


async def snapshot(w: World, session_id: str) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Everything a refused call must leave alone: the member's wallet and both parties' views."""
    return await w.wallet(), await view(w, session_id, w.member), await view(w, session_id, w.provider)
