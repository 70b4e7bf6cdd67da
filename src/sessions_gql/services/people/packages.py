"""Use cases for packages: buy one, book a place of it (from booking.request_session), refund unused places, and
the scheduler's refund of an expired package. The rules are in domain/packages.py; money moves by wallet.record.

Choices where DOMAIN.md is silent (docs/DECISIONS.md):
- A purchase notifies nobody: no notification kind of the contract fits it. A refund of places notifies the
  member (SESSION_REFUNDED), and the provider too when an admin or the system made it.
- An expired package keeps the places its open sessions hold; the scheduler looks again after the last of them
  has ended (plus the end grace), and refunds any place they gave back, until no place is left unused.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sessions_gql.auth.viewer import Viewer
from sessions_gql.db import models as m
from sessions_gql.db.types import uuid7
from sessions_gql.db.uow import UnitOfWork
from sessions_gql.domain import packages as p
from sessions_gql.domain.credits import LedgerMove
from sessions_gql.domain.enums import OPEN_STATUSES, LedgerEntryKind, NotificationKind
from sessions_gql.domain.errors import Forbidden, NotFound, TooLate, ValidationError
from sessions_gql.services import outbox, visibility
from sessions_gql.services.access import acting_member, require_not_archived, require_taking_sessions
from sessions_gql.services.deps import Deps
from sessions_gql.services.idempotency import run_once
from sessions_gql.services.messaging import notify
from sessions_gql.services.people import wallet
from sessions_gql.services.scheduler import job_handler
from sessions_gql.services.sessions import lifecycle

EXPIRY_JOB = "package_expiry"
LOOK_AGAIN_AFTER = timedelta(minutes=5)
"""After the last open session of an expired package has ended plus the grace, when its places are settled."""


@dataclass(frozen=True)
class PurchasePackage:
    service_id: uuid.UUID
    sessions: int
    member_id: uuid.UUID | None = None
    idempotency_key: str | None = None


@dataclass(frozen=True)
class RefundPackage:
    package_id: uuid.UUID
    sessions: int
    idempotency_key: str | None = None


@dataclass(frozen=True)
class BookedPlace:
    """The place a new session takes, and what it is worth: its price in credits and its fee."""

    package_id: uuid.UUID
    place: int
    credits: int
    fee: Decimal


def offers_of(service: m.Service) -> list[p.Offer]:
    return [p.Offer(sessions=int(o["sessions"]), price_credits=int(o["priceCredits"])) for o in service.packages or []]


def stored_offers(offers: list[p.Offer]) -> list[dict[str, int]]:
    return [{"sessions": offer.sessions, "priceCredits": offer.price_credits} for offer in offers]


def places_from(package: m.Package, sessions: Iterable[Any]) -> p.Places:
    """The package's places as its sessions (rows with package_place, funding, payment_status) and refunds left
    them."""
    taken = [row.package_place for row in sessions
             if p.holds_place(funding=row.funding, payment_status=row.payment_status, place=row.package_place)]
    return p.Places.of(total=package.sessions_total, price_credits=package.price_credits, taken=taken,
                       refunded=package.refunded_places)


async def places_of(db: AsyncSession, package: m.Package) -> p.Places:
    """Read inside the package's lock to book or refund: then no other booking can change them meanwhile."""
    S = m.Session
    rows = (await db.execute(
        select(S.package_place, S.funding, S.payment_status).where(S.package_id == package.id))).all()
    return places_from(package, rows)


async def _locked(uow: UnitOfWork, package_id: uuid.UUID) -> m.Package | None:
    return await uow.session.get(m.Package, package_id, with_for_update=True, populate_existing=True)


# ------------------------------------------------------------------ purchase


def _offer(service: m.Service, sessions: int) -> p.Offer:
    for offer in offers_of(service):
        if offer.sessions == sessions:
            return offer
    raise ValidationError(f"{service.name} offers no package of {sessions} sessions", field="sessions")


async def purchase_package(deps: Deps, *, viewer: Viewer, command: PurchasePackage) -> uuid.UUID:
    """The member (or an admin for them) buys an offer; its price is captured at once, as one ledger CAPTURE."""
    member_id = acting_member(viewer, command.member_id, what="buy a package")
    now = deps.clock.now()

    async def work(uow: UnitOfWork) -> dict[str, str]:
        service = await uow.session.get(m.Service, command.service_id)
        if service is None:
            raise NotFound("no such service", field="serviceId")
        offer = _offer(service, command.sessions)
        provider, member = await lifecycle.lock_parties(uow, provider_id=service.provider_id, member_id=member_id)
        assert provider is not None
        if member is None:
            raise NotFound("no such member", field="memberId")
        require_taking_sessions(provider, field="serviceId")
        require_not_archived(service)
        valid_until = now + timedelta(days=deps.settings.package_validity_days)
        package = m.Package(
            id=uuid7(), member_id=member.id, provider_id=provider.id, service_id=service.id,
            sessions_total=offer.sessions, price_credits=offer.price_credits,
            fee=p.package_fee(service.fee, service.price_credits, offer.price_credits), currency=service.currency,
            refunded_places=[], refunded_credits=0, purchased_at=now, valid_until=valid_until,
        )
        uow.session.add(package)
        await uow.session.flush()
        move = LedgerMove(LedgerEntryKind.CAPTURE, offer.price_credits,
                          note=f"package of {offer.sessions} sessions: {service.name}", from_available=True)
        wallet.record(uow, member, move, now=now, package_id=package.id)
        _schedule_expiry(uow, package.id, at=valid_until, now=now)
        return {"package_id": str(package.id)}

    result = await run_once(
        deps.uow, user_id=viewer.user_id, key=command.idempotency_key, operation="purchasePackage",
        payload={"service": str(command.service_id), "sessions": command.sessions, "member": str(member_id)},
        now=now, work=work,
    )
    return uuid.UUID(result["package_id"])


def _schedule_expiry(uow: UnitOfWork, package_id: uuid.UUID, *, at: datetime, now: datetime) -> None:
    uow.session.add(m.Job(kind=EXPIRY_JOB, session_id=None, dedupe_key=f"{package_id}@{at.isoformat()}",
                          run_at=at, payload={"package_id": str(package_id)}, attempts=0, created_at=now))


# ------------------------------------------------------------------ booking a place


async def book_place(uow: UnitOfWork, *, package_id: uuid.UUID, member_id: uuid.UUID, service: m.Service,
                     duration_minutes: int, now: datetime) -> BookedPlace:
    """Take the lowest free place of the member's own package for this service, under the package's row lock
    (taken after the provider's and the member's: the one lock order), so two requests for the last place
    queue and the second finds none."""
    package = await _locked(uow, package_id)
    if package is None or package.member_id != member_id:
        raise NotFound("no such package", field="packageId")
    if package.service_id != service.id:
        raise ValidationError("this package is for another service", field="packageId")
    if duration_minutes != service.duration_minutes:
        raise ValidationError(f"a package session lasts {service.duration_minutes} minutes",
                              field="durationMinutes")
    if package.valid_until is not None and now >= package.valid_until:
        raise TooLate(f"this package expired at {package.valid_until.isoformat()}", field="packageId")
    places = await places_of(uow.session, package)
    place = places.take()
    credits = places.share(place)
    return BookedPlace(package_id=package.id, place=place, credits=credits,
                       fee=p.fee_share(package.fee, package.price_credits, credits))


# ------------------------------------------------------------------ refunds


async def refund_package(deps: Deps, *, viewer: Viewer, command: RefundPackage) -> uuid.UUID:
    """The provider (their own package) or an admin gives back unused places; never more than are unused."""
    now = deps.clock.now()

    async def work(uow: UnitOfWork) -> dict[str, str]:
        found = await uow.session.get(m.Package, command.package_id)
        if found is None or not visibility.sees_package(viewer, found):
            raise NotFound("no such package", field="packageId")
        if not (viewer.is_admin or viewer.provider_id == found.provider_id):
            raise Forbidden("only the provider or an admin may refund a package")
        provider, member = await lifecycle.lock_parties(uow, provider_id=found.provider_id,
                                                        member_id=found.member_id)
        package = await _locked(uow, found.id)
        assert member is not None and package is not None
        credits = await _refund_places(uow, package, member, sessions=command.sessions, now=now,
                                       note=f"{command.sessions} unused sessions of a package refunded")
        assert provider is not None
        told = [member.user_id, provider.user_id] if viewer.is_admin else [member.user_id]
        await _tell(uow, told, package=package, credits=credits, sessions=command.sessions, now=now)
        return {"package_id": str(package.id)}

    result = await run_once(
        deps.uow, user_id=viewer.user_id, key=command.idempotency_key, operation="refundPackage",
        payload={"package": str(command.package_id), "sessions": command.sessions}, now=now, work=work,
    )
    return uuid.UUID(result["package_id"])


async def _refund_places(uow: UnitOfWork, package: m.Package, member: m.Member, *, sessions: int, now: datetime,
                         note: str) -> int:
    """Refund `sessions` unused places as one ledger REFUND tied to the package; the credits given back."""
    places = await places_of(uow.session, package)
    chosen, credits = places.refund(sessions)
    wallet.record(uow, member, LedgerMove(LedgerEntryKind.REFUND, credits, note=note), now=now,
                  package_id=package.id)
    package.refunded_places = sorted([*package.refunded_places, *chosen])
    package.refunded_credits += credits
    return credits


async def _tell(uow: UnitOfWork, user_ids: list[uuid.UUID], *, package: m.Package, credits: int, sessions: int,
                now: datetime) -> None:
    what = "1 unused session was" if sessions == 1 else f"{sessions} unused sessions were"
    body = (f"{what} refunded from a package of {package.sessions_total}: {credits} credits are back in the "
            "member's wallet.")
    notes = [await notify.notify(uow, user_id=user_id, kind=NotificationKind.SESSION_REFUNDED, session=None,
                                 now=now, title=notify.TITLES[NotificationKind.SESSION_REFUNDED], body=body)
             for user_id in user_ids]
    await uow.session.flush()
    if notes:
        outbox.emit(uow, channels=[outbox.user_channel(user_id) for user_id in user_ids], now=now,
                    notifications=[note.id for note in notes])


@job_handler(EXPIRY_JOB)
async def refund_expired(uow: UnitOfWork, deps: Deps, job: m.Job, now: datetime) -> None:
    """At validUntil: refund every unused place; look again after the package's open sessions have ended."""
    found = await uow.session.get(m.Package, uuid.UUID(str(job.payload["package_id"])))
    if found is None:
        raise NotFound("the job names no package")
    provider, member = await lifecycle.lock_parties(uow, provider_id=found.provider_id, member_id=found.member_id)
    package = await _locked(uow, found.id)
    assert provider is not None and member is not None and package is not None
    places = await places_of(uow.session, package)
    unused = places.remaining
    if unused:
        credits = await _refund_places(uow, package, member, sessions=unused, now=now,
                                       note=f"{unused} unused sessions of an expired package refunded")
        await _tell(uow, [member.user_id, provider.user_id], package=package, credits=credits, sessions=unused,
                    now=now)
    S = m.Session
    last_end = await uow.session.scalar(
        select(S.ends_at).where(S.package_id == package.id, S.status.in_(OPEN_STATUSES))
        .order_by(S.ends_at.desc()).limit(1))
    if last_end is not None:
        _schedule_expiry(uow, package.id, at=max(last_end, now) + deps.policy.end_grace + LOOK_AGAIN_AFTER, now=now)
