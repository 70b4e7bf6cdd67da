"""Use cases for a provider's services (what they offer)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sessions_gql.auth.viewer import Viewer
from sessions_gql.db import models as m
from sessions_gql.db.types import uuid7
from sessions_gql.domain import validation as v
from sessions_gql.domain.enums import Modality
from sessions_gql.domain.errors import Forbidden, NotFound, ValidationError
from sessions_gql.domain.packages import Offer, validate_offers
from sessions_gql.services.access import acting_provider
from sessions_gql.services.deps import Deps
from sessions_gql.services.people.packages import offers_of, stored_offers

MAX_SKILLS = 20


@dataclass(frozen=True)
class ServiceDraft:
    name: str
    skills: list[str]
    duration_minutes: int
    price_credits: int
    fee: str
    currency: str
    modalities: list[Modality]
    free_initial_consultation: bool
    service_id: uuid.UUID | None = None
    provider_id: uuid.UUID | None = None
    packages: list[Offer] | None = None
    """None keeps a service's offers as they are (none for a new one); [] withdraws them."""


def _skills(values: list[str]) -> list[str]:
    cleaned: list[str] = []
    for value in values:
        skill = v.text(value, field="skills", max_length=100)
        if skill is not None and skill not in cleaned:
            cleaned.append(skill)
    if not cleaned or len(cleaned) > MAX_SKILLS:
        raise ValidationError(f"a service lists 1 to {MAX_SKILLS} skills", field="skills")
    return cleaned


def _modalities(values: list[Modality]) -> list[str]:
    if not values:
        raise ValidationError("a service offers at least one modality", field="modalities")
    return [mod.value for mod in Modality if mod in values]


def _apply(service: m.Service, draft: ServiceDraft) -> None:
    service.name = v.text(draft.name, field="name", max_length=200) or ""
    service.skills = _skills(draft.skills)
    service.duration_minutes = v.duration(draft.duration_minutes)
    if not 0 <= draft.price_credits <= v.MAX_CREDITS:
        raise ValidationError(f"priceCredits must be between 0 and {v.MAX_CREDITS}", field="priceCredits")
    service.price_credits = draft.price_credits
    service.fee = v.money(draft.fee, field="fee")
    service.currency = v.currency(draft.currency)
    service.modalities = _modalities(draft.modalities)
    service.free_initial_consultation = draft.free_initial_consultation
    offers = offers_of(service) if draft.packages is None else draft.packages
    service.packages = stored_offers(validate_offers(offers, service_price_credits=service.price_credits))


async def save_service(deps: Deps, *, viewer: Viewer, draft: ServiceDraft) -> uuid.UUID:
    """Create a service, or change one of the provider's own. Booked sessions keep their own terms."""
    async with deps.uow() as uow:
        if draft.service_id is None:
            provider_id = acting_provider(viewer, draft.provider_id)
            if await uow.session.get(m.Provider, provider_id) is None:
                raise NotFound("no such provider", field="providerId")
            service = m.Service(id=uuid7(), provider_id=provider_id, created_at=deps.clock.now())
            _apply(service, draft)
            uow.session.add(service)
        else:
            found = await uow.session.get(m.Service, draft.service_id, with_for_update=True)
            if found is None or not (viewer.is_admin or found.provider_id == viewer.provider_id):
                raise NotFound("no such service", field="serviceId")
            acting_provider(viewer, draft.provider_id or found.provider_id)
            service = found
            _apply(service, draft)
        await uow.commit()
        return service.id


async def archive_service(deps: Deps, *, viewer: Viewer, service_id: uuid.UUID) -> uuid.UUID:
    """Retire a service: no new requests or proposals for it; sessions already booked go on. Archiving an
    archived service changes nothing. FOR UPDATE waits for bookings in flight, which hold the row FOR SHARE."""
    if not (viewer.is_admin or viewer.is_provider):
        raise Forbidden("only providers and admins archive services")
    async with deps.uow() as uow:
        found = await uow.session.get(m.Service, service_id, with_for_update=True)
        if found is None:
            raise NotFound("no such service", field="id")
        if not (viewer.is_admin or found.provider_id == viewer.provider_id):
            raise Forbidden("providers archive only their own services", field="id")
        if found.archived_at is None:
            found.archived_at = deps.clock.now()
            await uow.commit()
        return found.id
