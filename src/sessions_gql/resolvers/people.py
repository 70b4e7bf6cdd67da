"""Resolvers for people, wallets and services: decode, call the use case, map the result."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

import strawberry

from sessions_gql.context import Unauthenticated
from sessions_gql.db import models as m
from sessions_gql.domain.errors import NotFound, ValidationError
from sessions_gql.domain.packages import Offer
from sessions_gql.resolvers import ids
from sessions_gql.resolvers.cursors import (
    decode_cursor,
    encode_cursor,
    page_size,
    provider_cursor,
    provider_cursor_key,
    search_text,
)
from sessions_gql.resolvers.errors import result_or_error
from sessions_gql.schema import people as t
from sessions_gql.schema.common import BasicError, page_info
from sessions_gql.schema.context import Info
from sessions_gql.schema.enums import Modality, ProviderOrder, ProviderVisibility
from sessions_gql.schema.packages import PackageOfferInput
from sessions_gql.services import calendar, catalog, people, people_queries, visibility, wallet
from sessions_gql.services.access import require_admin

# ------------------------------------------------------------------ results


@strawberry.type
class MemberSuccess:
    member: t.Member


@strawberry.type
class ProviderSuccess:
    provider: t.Provider


@strawberry.type
class ServiceSuccess:
    service: t.Service


@strawberry.type
class UserSuccess:
    user: t.User


UserResult = Annotated[UserSuccess | BasicError, strawberry.union("UserResult")]
MemberResult = Annotated[MemberSuccess | BasicError, strawberry.union("MemberResult")]
WalletResult = Annotated[MemberSuccess | BasicError, strawberry.union("WalletResult")]
ProviderResult = Annotated[ProviderSuccess | BasicError, strawberry.union("ProviderResult")]
ServiceResult = Annotated[ServiceSuccess | BasicError, strawberry.union("ServiceResult")]


@strawberry.input
class CreateMemberInput:
    email: str
    display_name: str
    time_zone: str
    phone: str | None = None
    country: str | None = None


@strawberry.input
class CreateProviderInput:
    email: str
    display_name: str
    time_zone: str
    bio: str | None = None
    commission_rate: float | None = None


@strawberry.input
class GrantCreditsInput:
    member_id: strawberry.ID
    credits: int
    note: str | None = None
    idempotency_key: str | None = None


@strawberry.input
class GrantSponsorshipInput:
    member_id: strawberry.ID
    sponsor: str
    hours: float
    valid_until: datetime | None = None


@strawberry.input
class ServiceInput:
    name: str
    skills: list[str]
    duration_minutes: int
    price_credits: int
    fee: str
    currency: str
    modalities: list[Modality]
    free_initial_consultation: bool
    service_id: strawberry.ID | None = None
    provider_id: strawberry.ID | None = None
    packages: list[PackageOfferInput] | None = None


@strawberry.input(description="The viewer's own profile; admins may name any user. Omitted fields stay as they "
                               "are; an empty phone, country or bio clears it.")
class UpdateProfileInput:
    user_id: strawberry.ID | None = None
    display_name: str | None = None
    time_zone: str | None = None
    phone: str | None = None
    country: str | None = None
    bio: str | None = None


# ------------------------------------------------------------------ loading


async def load_member(info: Info, member_id: uuid.UUID) -> t.Member:
    row = await info.context.loaders.member_by_id.load(member_id)
    if row is None or not await visibility.can_see_member(info.context.viewer, member_id, info.context.loaders):
        raise NotFound("no such member", field="memberId")
    return t.Member.of(row)


async def load_provider(info: Info, provider_id: uuid.UUID) -> t.Provider:
    row = await info.context.loaders.provider_by_id.load(provider_id)
    if row is None or not visibility.can_see_provider(info.context.viewer, row):
        raise NotFound("no such provider", field="providerId")
    return t.Provider.of(row)


async def member_success(info: Info, member_id: uuid.UUID) -> MemberSuccess:
    info.context.reset_loaders()
    return MemberSuccess(member=await load_member(info, member_id))


async def provider_success(info: Info, provider_id: uuid.UUID) -> ProviderSuccess:
    info.context.reset_loaders()
    return ProviderSuccess(provider=await load_provider(info, provider_id))


# ------------------------------------------------------------------ queries


async def viewer(info: Info) -> t.Viewer:
    me = info.context.viewer
    loaders = info.context.loaders
    user = await loaders.user_by_id.load(me.user_id)
    if user is None:  # erased by an operator inside the viewer cache's window: the token ends now
        info.context.deps.viewers.pop(me.user_id, None)
        raise Unauthenticated("invalid token: the user no longer exists")
    member = await loaders.member_by_id.load(me.member_id) if me.member_id else None
    provider = await loaders.provider_by_id.load(me.provider_id) if me.provider_id else None
    return t.Viewer(user=t.User.of(user), member=t.Member.of(member) if member else None,
                    provider=t.Provider.of(provider) if provider else None)


async def member(info: Info, id: strawberry.ID) -> t.Member | None:
    try:
        return await load_member(info, ids.decode_uuid(id, "Member"))
    except NotFound:
        return None


async def provider(info: Info, id: strawberry.ID) -> t.Provider | None:
    try:
        return await load_provider(info, ids.decode_uuid(id, "Provider"))
    except NotFound:
        return None


async def service(info: Info, id: strawberry.ID) -> t.Service | None:
    """Services are public to signed-in users, like their provider's profile."""
    info.context.viewer  # noqa: B018 - authentication required
    row = await info.context.loaders.service_by_id.load(ids.decode_uuid(id, "Service"))
    if row is None:
        return None
    owner = await info.context.loaders.provider_by_id.load(row.provider_id)
    return t.Service.of(row) if owner is not None and visibility.can_see_provider(info.context.viewer, owner) else None


async def providers(info: Info, first: int | None = 20, after: str | None = None,
                    filter: t.ProviderFilter | None = None,
                    order_by: ProviderOrder | None = ProviderOrder.RECOMMENDED) -> t.ProviderConnection:
    """What "find a provider" lists; the cursor carries the order's sort key (resolvers/cursors.py)."""
    info.context.viewer  # noqa: B018 - authentication required
    order_by = order_by or ProviderOrder.RECOMMENDED  # an explicit null is the default order
    size = page_size(first, maximum=info.context.deps.settings.max_page_size)
    key = provider_cursor_key(after, order_by) if after is not None else None
    wanted = filter or t.ProviderFilter()
    page = await people_queries.providers_page(
        await info.context.db(), first=size, order=order_by, after=key,
        skill=search_text(wanted.skill, field="filter.skill"), modality=wanted.modality,
        search=search_text(wanted.search, field="filter.search"),
    )
    edges = [t.ProviderEdge(cursor=provider_cursor(order_by, people_queries.provider_sort_key(order_by, row)),
                            node=t.Provider.of(row))
             for row in page.rows]
    cursors = [e.cursor for e in edges]
    return t.ProviderConnection(edges=edges, page_info=page_info(cursors, has_next=page.has_next,
                                                                 has_previous=after is not None))


async def users(info: Info, first: int | None = 20, after: str | None = None,
                filter: t.UserFilter | None = None) -> t.UserConnection:
    """Admins find anyone by part of a name, email or phone (to book on their behalf, to edit a profile)."""
    require_admin(info.context.viewer)
    size = page_size(first, maximum=info.context.deps.settings.max_page_size)
    key = None
    if after is not None:
        name, raw_id = decode_cursor(after, parts=2)
        try:
            key = (name, uuid.UUID(raw_id))
        except ValueError:
            raise ValidationError("that cursor is not one this API gave out", field="after") from None
    wanted = filter or t.UserFilter()
    page = await people_queries.users_page(await info.context.db(), first=size, after=key,
                                           search=search_text(wanted.search, field="filter.search"),
                                           role=wanted.role)
    edges = [t.UserEdge(cursor=encode_cursor(row.display_name, row.id), node=t.User.of(row)) for row in page.rows]
    cursors = [e.cursor for e in edges]
    return t.UserConnection(edges=edges, page_info=page_info(cursors, has_next=page.has_next,
                                                             has_previous=after is not None))


async def ledger_page(info: Info, *, member_id: uuid.UUID, first: int | None, after: str | None
                      ) -> t.LedgerEntryConnection:
    size = page_size(first, maximum=info.context.deps.settings.max_page_size)
    before_id = None
    if after is not None:
        (raw,) = decode_cursor(after, parts=1)
        if not raw.isdigit():
            raise ValidationError("that cursor is not one this API gave out", field="after")
        before_id = int(raw)
    page = await people_queries.ledger_page(await info.context.db(), member_id=member_id, first=size,
                                            before_id=before_id)
    edges = [t.LedgerEntryEdge(cursor=encode_cursor(row.id), node=t.LedgerEntry.of(row)) for row in page.rows]
    cursors = [e.cursor for e in edges]
    return t.LedgerEntryConnection(edges=edges, page_info=page_info(cursors, has_next=page.has_next,
                                                                    has_previous=after is not None))


async def earnings(info: Info, provider: m.Provider, *, start: datetime, end: datetime) -> t.Earnings:
    if end <= start:
        raise ValidationError("`to` must be after `from`", field="to")
    count, gross, net = await people_queries.earnings(await info.context.db(), provider_id=provider.id,
                                                      start=start, end=end)
    currency = await _currency(info, provider.id)
    return t.Earnings(from_=start, to=end, sessions=count, gross=t.money(gross, currency),
                      commission=t.money(gross - net, currency), net=t.money(net, currency))


async def _currency(info: Info, provider_id: uuid.UUID) -> str:
    services = await info.context.loaders.services_by_provider_id.load(provider_id)
    return services[0].currency if services else "USD"


async def unread_counts(info: Info) -> tuple[int, int]:
    return await people_queries.unread_counts(await info.context.db(), viewer=info.context.viewer)


# ------------------------------------------------------------------ mutations


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
    return ServiceSuccess(service=t.Service.of(row))


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
        return UserSuccess(user=t.User.of(row))

    return await result_or_error(run)  # type: ignore[return-value]


async def rotate_calendar_feed(info: Info) -> ProviderResult:
    """A new secret calendar feed URL for the viewing provider; the old URL stops working."""

    async def run() -> ProviderSuccess:
        return await provider_success(info, await calendar.rotate_feed(info.context.deps, viewer=info.context.viewer))

    return await result_or_error(run)  # type: ignore[return-value]
