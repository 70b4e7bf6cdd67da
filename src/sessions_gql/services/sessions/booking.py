"""The session mutations, each a small transition handed to `lifecycle`."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from sessions_gql.auth.viewer import Viewer
from sessions_gql.db import models as m
from sessions_gql.db.types import uuid7
from sessions_gql.domain import availability as av
from sessions_gql.domain import validation as v
from sessions_gql.domain.enums import Funding, Modality
from sessions_gql.domain.errors import (
    DomainError,
    Interval,
    NotFound,
    SlotUnavailable,
    TooEarly,
    TooLate,
    ValidationError,
)
from sessions_gql.domain.session import Session
from sessions_gql.domain.session_values import SessionTerms, validate_slot
from sessions_gql.services.access import (
    acting_member,
    acting_provider,
    require_not_archived,
    require_taking_sessions,
)
from sessions_gql.services.deps import Deps
from sessions_gql.services.people import packages
from sessions_gql.services.sessions import funding
from sessions_gql.services.sessions.repository import Parties, SessionRepository
from sessions_gql.services.sessions.unit import SessionWork


@dataclass(frozen=True)
class RequestSession:
    provider_id: uuid.UUID
    service_id: uuid.UUID
    starts_at: datetime
    modality: Modality
    skill: str | None = None
    duration_minutes: int | None = None
    member_note: str | None = None
    member_id: uuid.UUID | None = None
    location: str | None = None
    idempotency_key: str | None = None
    package_id: uuid.UUID | None = None


@dataclass(frozen=True)
class ProposeSession:
    member_id: uuid.UUID
    service_id: uuid.UUID
    starts_at: datetime
    duration_minutes: int
    price_credits: int
    modality: Modality
    skill: str | None = None
    location: str | None = None
    provider_id: uuid.UUID | None = None
    idempotency_key: str | None = None


def _check_offer(service: m.Service, *, modality: Modality, skill: str | None) -> None:
    require_not_archived(service)
    if modality.value not in service.modalities:
        raise ValidationError(f"{service.name} is not offered as {modality.value}", field="modality")
    if skill is not None and skill not in service.skills:
        raise ValidationError(f"{service.name} does not cover {skill!r}", field="skill")


async def _locked(work: SessionWork, command: RequestSession | ProposeSession, *, provider_id: uuid.UUID | None,
                  member_id: uuid.UUID) -> tuple[m.Service, Parties]:
    """The service and both parties locked (one statement), the offer checked before a missing member is told."""
    service, parties = await work.sessions.lock_booking(service_id=command.service_id, provider_id=provider_id,
                                                        member_id=member_id)
    _check_offer(service, modality=command.modality, skill=command.skill)
    if parties is None:
        raise NotFound("no such member", field="memberId")
    return service, parties


def _scaled(amount: Decimal | int, service: m.Service, duration: int) -> Decimal:
    return (Decimal(amount) * duration / service.duration_minutes).quantize(Decimal("0.01"), ROUND_HALF_UP)


BOOKABILITY: dict[str, Callable[[], DomainError]] = {
    "TOO_SOON": lambda: TooLate("this time is inside the provider's minimum notice", field="startsAt"),
    "BEYOND_HORIZON": lambda: TooEarly("this time is beyond how far ahead the provider takes bookings",
                                       field="startsAt"),
    "OUTSIDE_AVAILABILITY": lambda: SlotUnavailable("the provider is not available at this time", field="startsAt"),
    "BUSY": lambda: SlotUnavailable("the provider is already booked at this time", field="startsAt"),
}


async def check_bookable(sessions: SessionRepository, provider: m.Provider, interval: Interval, now: datetime,
                         except_session: uuid.UUID | None = None) -> None:
    require_taking_sessions(provider, field="providerId")
    policy, busy = await sessions.bookability(provider, near=interval, except_session=except_session)
    reason = av.slot_is_bookable(policy, starts_at=interval.starts_at, ends_at=interval.ends_at, now=now, busy=busy)
    if reason is not None:
        raise BOOKABILITY[reason]()


async def request_session(deps: Deps, *, viewer: Viewer, command: RequestSession) -> uuid.UUID:
    member_id = acting_member(viewer, command.member_id)
    async with SessionWork(deps, viewer=viewer, command=command) as work:
        if work.replayed:
            return work.replayed
        service, parties = await _locked(work, command, provider_id=command.provider_id, member_id=member_id)
        terms, chosen, sponsorship_id = await _requested_terms(work, command, service, parties, member_id)
        session, events = Session.request(session_id=uuid7(), terms=terms, actor=work.actor, funding=chosen,
                                          now=work.now, policy=deps.policy)
        await work.sessions.add(session, events, parties=parties, service=service, sponsorship_id=sponsorship_id,
                                actor=work.actor, now=work.now)
        return await work.commit(session.id)


async def _requested_terms(work: SessionWork, command: RequestSession, service: m.Service, parties: Parties,
                           member_id: uuid.UUID) -> tuple[SessionTerms, Funding, uuid.UUID | None]:
    """The time checked against the provider's availability, the price, and what pays: a package place (paid at
    purchase: nothing more is held), else a free consultation, sponsored hours or credits."""
    uow, now, provider = work.uow, work.now, parties.provider
    duration = v.duration(command.duration_minutes or service.duration_minutes)
    validate_slot(starts_at=command.starts_at, duration_minutes=duration, now=now)
    await check_bookable(work.sessions, provider, Interval(command.starts_at,
                                                           command.starts_at + timedelta(minutes=duration)), now)
    place = None
    if command.package_id is not None:
        place = await packages.book_place(uow, package_id=command.package_id, member_id=member_id, service=service,
                                          duration_minutes=duration, now=now)
        price, fee, chosen, sponsorship_id = place.credits, place.fee, Funding.PACKAGE, None
    else:
        price = int(_scaled(service.price_credits, service, duration).to_integral_value(ROUND_HALF_UP))
        fee = _scaled(service.fee, service, duration)
        chosen, sponsorship_id = await funding.fund(await work.sessions.writer(), member=parties.member,
                                                    provider_id=provider.id, service=service,
                                                    duration_minutes=duration, price_credits=price, now=now)
    terms = SessionTerms(
        member_id=member_id, provider_id=provider.id, service_id=service.id, modality=command.modality,
        starts_at=command.starts_at, duration_minutes=duration, price_credits=price, fee=fee,
        currency=service.currency, commission_rate=provider.commission_rate, skill=command.skill,
        location=v.text(command.location, field="location", max_length=500, required=False),
        member_note=v.text(command.member_note, field="memberNote", max_length=2000, required=False),
        package_id=place.package_id if place else None, package_place=place.place if place else None)
    return terms, chosen, sponsorship_id


async def propose_session(deps: Deps, *, viewer: Viewer, command: ProposeSession) -> uuid.UUID:
    provider_id = acting_provider(viewer, command.provider_id)
    async with SessionWork(deps, viewer=viewer, command=command) as work:
        if work.replayed:
            return work.replayed
        service, parties = await _locked(work, command, provider_id=provider_id, member_id=command.member_id)
        require_taking_sessions(parties.provider, field="providerId")
        session, events = Session.propose(session_id=uuid7(), terms=_proposed_terms(command, service, parties),
                                          actor=work.actor, now=work.now, policy=deps.policy)
        await work.sessions.add(session, events, parties=parties, service=service, sponsorship_id=None,
                                actor=work.actor, now=work.now)
        return await work.commit(session.id)


def _proposed_terms(command: ProposeSession, service: m.Service, parties: Parties) -> SessionTerms:
    duration = v.duration(command.duration_minutes)
    if not 0 <= command.price_credits <= v.MAX_CREDITS:
        raise ValidationError(f"priceCredits must be between 0 and {v.MAX_CREDITS}", field="priceCredits")
    return SessionTerms(
        member_id=command.member_id, provider_id=parties.provider.id, service_id=service.id,
        modality=command.modality, starts_at=command.starts_at, duration_minutes=duration,
        price_credits=command.price_credits, fee=_scaled(service.fee, service, duration), currency=service.currency,
        commission_rate=parties.provider.commission_rate, skill=command.skill,
        location=v.text(command.location, field="location", max_length=500, required=False))
