"""Documents and a small world for the booking lifecycle API tests."""

from __future__ import annotations

from dataclasses import dataclass
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
