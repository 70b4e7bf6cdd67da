"""People mutations: members, providers, wallets, services, profiles, calendar feeds and email preferences."""

from __future__ import annotations

import uuid

import strawberry

from sessions_gql.api import ids
from sessions_gql.api.context import Info
from sessions_gql.api.enums import ProviderVisibility
from sessions_gql.api.errors import result_or_error
from sessions_gql.api.people.inputs import (
    CreateMemberInput,
    CreateProviderInput,
    EmailPreferenceInput,
    GrantCreditsInput,
    GrantSponsorshipInput,
    ServiceInput,
    UpdateProfileInput,
)
from sessions_gql.api.people.types import (
    EmailPreference,
    MemberResult,
    MemberSuccess,
    ProviderResult,
    ProviderSuccess,
    Service,
    ServiceResult,
    ServiceSuccess,
    User,
    UserResult,
    UserSuccess,
    WalletResult,
    listed,
    load_member,
    load_provider,
)
from sessions_gql.domain.packages import Offer
from sessions_gql.services.people import catalog, people, wallet
from sessions_gql.services.people import preferences as preference_service
from sessions_gql.services.sessions import calendar


async def member_success(info: Info, member_id: uuid.UUID) -> MemberSuccess:
    info.context.reset_loaders()
    return MemberSuccess(member=await load_member(info, member_id))


async def provider_success(info: Info, provider_id: uuid.UUID) -> ProviderSuccess:
    info.context.reset_loaders()
    return ProviderSuccess(provider=await load_provider(info, provider_id))


async def create_member(info: Info, input: CreateMemberInput) -> MemberResult:
    async def run() -> MemberSuccess:
        command = people.NewMember(email=input.email, display_name=input.display_name, time_zone=input.time_zone,
                                   phone=input.phone, country=input.country)
        member_id = await people.create_member(info.context.deps, viewer=info.context.viewer, command=command)
        return await member_success(info, member_id)

    return await result_or_error(run)  # type: ignore[return-value]


async def create_provider(info: Info, input: CreateProviderInput) -> ProviderResult:
    async def run() -> ProviderSuccess:
        command = people.NewProvider(email=input.email, display_name=input.display_name,
                                     time_zone=input.time_zone, bio=input.bio,
                                     commission_rate=input.commission_rate)
        provider_id = await people.create_provider(info.context.deps, viewer=info.context.viewer, command=command)
        return await provider_success(info, provider_id)

    return await result_or_error(run)  # type: ignore[return-value]


async def grant_credits(info: Info, input: GrantCreditsInput) -> WalletResult:
    async def run() -> MemberSuccess:
        command = wallet.GrantCredits(member_id=ids.decode_uuid(input.member_id, "Member", field="memberId"),
                                      credits=input.credits, note=input.note,
                                      idempotency_key=input.idempotency_key)
        member_id = await wallet.grant_credits(info.context.deps, viewer=info.context.viewer, command=command)
        return await member_success(info, member_id)

    return await result_or_error(run)  # type: ignore[return-value]


async def grant_sponsorship(info: Info, input: GrantSponsorshipInput) -> WalletResult:
    async def run() -> MemberSuccess:
        command = wallet.GrantSponsorship(
            member_id=ids.decode_uuid(input.member_id, "Member", field="memberId"), sponsor=input.sponsor,
            hours=input.hours, valid_until=input.valid_until,
        )
        member_id = await wallet.grant_sponsorship(info.context.deps, viewer=info.context.viewer, command=command)
        return await member_success(info, member_id)

    return await result_or_error(run)  # type: ignore[return-value]


async def save_service(info: Info, input: ServiceInput) -> ServiceResult:
    async def run() -> ServiceSuccess:
        draft = catalog.ServiceDraft(
            name=input.name, skills=input.skills, duration_minutes=input.duration_minutes,
            price_credits=input.price_credits, fee=input.fee, currency=input.currency,
            modalities=list(input.modalities), free_initial_consultation=input.free_initial_consultation,
            service_id=ids.maybe_uuid(input.service_id, "Service", field="serviceId"),
            provider_id=ids.maybe_uuid(input.provider_id, "Provider", field="providerId"),
            packages=None if input.packages is None else [
                Offer(sessions=offer.sessions, price_credits=offer.price_credits) for offer in input.packages],
        )
        service_id = await catalog.save_service(info.context.deps, viewer=info.context.viewer, draft=draft)
        return await service_success(info, service_id)

    return await result_or_error(run)  # type: ignore[return-value]


async def set_provider_visibility(info: Info, visibility: ProviderVisibility,
                                  provider_id: strawberry.ID | None = None) -> ProviderResult:
    async def run() -> ProviderSuccess:
        target = ids.maybe_uuid(provider_id, "Provider", field="providerId")
        changed = await people.set_visibility(info.context.deps, viewer=info.context.viewer,
                                              visibility=visibility, provider_id=target)
        return await provider_success(info, changed)

    return await result_or_error(run)  # type: ignore[return-value]


async def service_success(info: Info, service_id: uuid.UUID) -> ServiceSuccess:
    """The service as it is after a mutation that changed it (fresh loaders: the old ones cached the before)."""
    info.context.reset_loaders()
    row = await info.context.loaders.service_by_id.load(service_id)
    assert row is not None
    return ServiceSuccess(service=Service.of(row))


async def archive_service(info: Info, id: strawberry.ID) -> ServiceResult:
    async def run() -> ServiceSuccess:
        service_id = await catalog.archive_service(info.context.deps, viewer=info.context.viewer,
                                                   service_id=ids.decode_uuid(id, "Service", field="id"))
        return await service_success(info, service_id)

    return await result_or_error(run)  # type: ignore[return-value]


async def update_profile(info: Info, input: UpdateProfileInput) -> UserResult:
    async def run() -> UserSuccess:
        change = people.ProfileChange(
            user_id=ids.maybe_uuid(input.user_id, "User", field="userId"), display_name=input.display_name,
            time_zone=input.time_zone, phone=input.phone, country=input.country, bio=input.bio,
        )
        user_id = await people.update_profile(info.context.deps, viewer=info.context.viewer, change=change)
        info.context.reset_loaders()
        row = await info.context.loaders.user_by_id.load(user_id)
        assert row is not None
        return UserSuccess(user=User.of(row))

    return await result_or_error(run)  # type: ignore[return-value]


async def rotate_calendar_feed(info: Info) -> ProviderResult:
    """A new secret calendar feed URL for the viewing provider; the old URL stops working."""

    async def run() -> ProviderSuccess:
        return await provider_success(info, await calendar.rotate_feed(info.context.deps, viewer=info.context.viewer))

    return await result_or_error(run)  # type: ignore[return-value]


async def set_email_preferences(info: Info, preferences: list[EmailPreferenceInput]) -> list[EmailPreference]:
    """Email on or off per notification kind for the viewer; kinds not named keep theirs. Returns every kind."""
    changes = {item.kind: item.email for item in preferences}
    updated = await preference_service.set_email_preferences(info.context.deps, viewer=info.context.viewer,
                                                             changes=changes)
    info.context.reset_loaders()
    return listed(updated)
