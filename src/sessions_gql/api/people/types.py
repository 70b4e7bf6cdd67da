"""Users, members, providers, services, wallets and email preferences as the contract names them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import Private

from sessions_gql.api import ids
from sessions_gql.api.availability.types import Availability, availability_of
from sessions_gql.api.common import Money, Node, PageInfo, money, page_info, resolver_field
from sessions_gql.api.context import Info
from sessions_gql.api.cursors import encode_cursor, id_cursor, page_size
from sessions_gql.api.enums import LedgerEntryKind, Modality, NotificationKind, ProviderVisibility, Role
from sessions_gql.api.errors import BasicError
from sessions_gql.api.links import links
from sessions_gql.db import models as m
from sessions_gql.domain.enums import NotificationKind as Kind
from sessions_gql.domain.errors import NotFound, ValidationError
from sessions_gql.services import visibility
from sessions_gql.services.people import people_queries, preferences

if TYPE_CHECKING:
    from sessions_gql.api.packages.types import Package
    from sessions_gql.api.sessions.inputs import SessionFilter
    from sessions_gql.api.sessions.types import Note, Session, SessionConnection

SessionsLazy = Annotated["SessionConnection", strawberry.lazy("sessions_gql.api.sessions.types")]
SessionLazy = Annotated["Session", strawberry.lazy("sessions_gql.api.sessions.types")]
FilterLazy = Annotated["SessionFilter", strawberry.lazy("sessions_gql.api.sessions.inputs")]
NoteLazy = Annotated["Note", strawberry.lazy("sessions_gql.api.sessions.types")]
PackageLazy = Annotated["Package", strawberry.lazy("sessions_gql.api.packages.types")]


@strawberry.type
class User(Node):
    row: Private[m.User]
    role: Role
    display_name: str
    time_zone: str

    @classmethod
    def of(cls, row: m.User) -> User:
        return cls(id=strawberry.ID(ids.encode("User", row.id)), row=row, role=row.role,
                   display_name=row.display_name, time_zone=row.time_zone)

    async def _contact_visible(self, info: Info) -> bool:
        viewer, loaders = info.context.viewer, info.context.loaders
        if viewer.is_admin or viewer.user_id == self.row.id:
            return True
        member = await loaders.member_by_user_id.load(self.row.id) if viewer.is_provider else None
        return member is not None and await visibility.sees_contact_details(viewer, member.id, loaders)

    @strawberry.field
    async def email(self, info: Info) -> str | None:
        return self.row.email if await self._contact_visible(info) else None

    @resolver_field(description="The user themself, admins, and providers who may see a member's contact details.")
    async def phone(self, info: Info) -> str | None:
        return self.row.phone if await self._contact_visible(info) else None

    @strawberry.field
    async def member(self, info: Info) -> Member | None:
        row = await info.context.loaders.member_by_user_id.load(self.row.id)
        if row is None or not await visibility.can_see_member(info.context.viewer, row.id, info.context.loaders):
            return None
        return Member.of(row)

    @strawberry.field
    async def provider(self, info: Info) -> Provider | None:
        row = await info.context.loaders.provider_by_user_id.load(self.row.id)
        return Provider.of(row) if row is not None and visibility.can_see_provider(info.context.viewer, row) else None


@strawberry.type
class LedgerEntry(Node):
    row: Private[m.LedgerEntry]
    kind: LedgerEntryKind
    credits: int
    sponsored_minutes: int
    note: str | None
    at: datetime

    @classmethod
    def of(cls, row: m.LedgerEntry) -> LedgerEntry:
        return cls(id=strawberry.ID(ids.encode("LedgerEntry", row.id)), row=row, kind=row.kind,
                   credits=row.credits, sponsored_minutes=row.sponsored_minutes, note=row.note, at=row.at)

    @strawberry.field
    async def session(self, info: Info) -> SessionLazy | None:
        return await links().session(info, self.row.session_id)


@strawberry.type
class LedgerEntryEdge:
    cursor: str
    node: LedgerEntry


@strawberry.type
class LedgerEntryConnection:
    edges: list[LedgerEntryEdge]
    page_info: PageInfo


@strawberry.type
class Wallet:
    member_id: Private[uuid.UUID]
    available_credits: int
    held_credits: int

    @strawberry.field
    async def ledger(self, info: Info, first: int | None = 20, after: str | None = None) -> LedgerEntryConnection:
        return await ledger_page(info, member_id=self.member_id, first=first, after=after)


@strawberry.type
class Sponsorship:
    sponsor: str
    hours_granted: float
    hours_remaining: float
    valid_until: datetime | None

    @classmethod
    def of(cls, row: m.Sponsorship) -> Sponsorship:
        return cls(sponsor=row.sponsor, hours_granted=round(row.minutes_granted / 60, 2),
                   hours_remaining=round((row.minutes_granted - row.minutes_used) / 60, 2),
                   valid_until=row.valid_until)


@strawberry.type
class Member(Node):
    """Reached through a session or conversation the viewer is party to. A provider the member only wrote to
    (an enquiry, no session shared) sees the name and time zone a conversation needs, and none of the details
    (country, sponsorships, contact details) that sharing a session entitles them to."""

    row: Private[m.Member]

    @classmethod
    def of(cls, row: m.Member) -> Member:
        return cls(id=strawberry.ID(ids.encode("Member", row.id)), row=row)

    async def _profile_visible(self, info: Info) -> bool:
        return await visibility.can_see_member(info.context.viewer, self.row.id, info.context.loaders)

    @strawberry.field
    async def country(self, info: Info) -> str | None:
        return self.row.country if await self._profile_visible(info) else None

    async def _user(self, info: Info) -> m.User:
        user = await info.context.loaders.user_by_id.load(self.row.user_id)
        assert user is not None
        return user

    @strawberry.field
    async def user(self, info: Info) -> User:
        return User.of(await self._user(info))

    @strawberry.field
    async def display_name(self, info: Info) -> str:
        return (await self._user(info)).display_name

    async def _details_visible(self, info: Info) -> bool:
        """Contact details: the member, admins, and providers the member asked for or agreed to a session with."""
        return await visibility.sees_contact_details(info.context.viewer, self.row.id, info.context.loaders)

    @strawberry.field
    async def email(self, info: Info) -> str | None:
        return (await self._user(info)).email if await self._details_visible(info) else None

    @strawberry.field
    async def phone(self, info: Info) -> str | None:
        return (await self._user(info)).phone if await self._details_visible(info) else None

    @strawberry.field
    async def time_zone(self, info: Info) -> str:
        return (await self._user(info)).time_zone

    @resolver_field(description="The member themself and admins.")
    def wallet(self, info: Info) -> Wallet | None:
        if not visibility.sees_wallet(info.context.viewer, self.row.id):
            return None
        return Wallet(member_id=self.row.id, available_credits=self.row.available_credits,
                      held_credits=self.row.held_credits)

    async def _sponsorships(self, info: Info) -> list[m.Sponsorship]:
        if not await self._profile_visible(info):
            return []
        rows = await info.context.loaders.sponsorships_by_member_id.load(self.row.id)
        now = info.context.deps.clock.now()
        return [row for row in rows if row.valid_until is None or row.valid_until > now]

    @strawberry.field
    async def sponsorships(self, info: Info) -> list[Sponsorship]:
        return [Sponsorship.of(row) for row in await self._sponsorships(info)]

    @strawberry.field
    async def sponsored_hours_remaining(self, info: Info) -> float:
        rows = await self._sponsorships(info)
        return round(sum(row.minutes_granted - row.minutes_used for row in rows) / 60, 2)

    @resolver_field(description="The viewing provider's own notes on this member.")
    async def private_notes(self, info: Info) -> list[NoteLazy]:
        return await links().member_notes(info, self.row.id)

    @strawberry.field
    async def sessions(self, info: Info, first: int | None = 20, after: str | None = None,
                       filter: FilterLazy | None = None) -> SessionsLazy:
        return await links().sessions_page(info, first=first, after=after, filter=filter, member_id=self.row.id)

    @resolver_field(description="The member themself and admins see all; a provider the ones bought from them.")
    async def packages(self, info: Info) -> list[PackageLazy]:
        return await links().member_packages(info, self.row.id)


@strawberry.type
class PackageOffer:
    sessions: int
    price_credits: int


@strawberry.type
class Service(Node):
    row: Private[m.Service]
    name: str
    skills: list[str]
    duration_minutes: int
    price_credits: int
    fee: Money
    modalities: list[Modality]
    free_initial_consultation: bool
    archived: bool = strawberry.field(description="Retired by archiveService: no new bookings; booked sessions go on.")
    archived_at: datetime | None

    @classmethod
    def of(cls, row: m.Service) -> Service:
        return cls(id=strawberry.ID(ids.encode("Service", row.id)), row=row, name=row.name, skills=list(row.skills),
                   duration_minutes=row.duration_minutes, price_credits=row.price_credits,
                   fee=money(row.fee, row.currency), modalities=[Modality(x) for x in row.modalities],
                   free_initial_consultation=row.free_initial_consultation, archived=row.archived_at is not None,
                   archived_at=row.archived_at)

    @strawberry.field
    async def provider(self, info: Info) -> Provider:
        row = await info.context.loaders.provider_by_id.load(self.row.provider_id)
        assert row is not None
        return Provider.of(row)

    @resolver_field(description="Bundles a member can buy and book later, by their number of sessions.")
    def packages(self) -> list[PackageOffer]:
        return [PackageOffer(sessions=int(offer["sessions"]), price_credits=int(offer["priceCredits"]))
                for offer in self.row.packages or []]


@strawberry.type
class ProviderReliability:
    consecutive_cancellations: int
    flagged: bool
    late_cancellations: int
    average_response_minutes: float | None
    late_responses: int


@strawberry.type
class Earnings:
    from_: datetime = strawberry.field(name="from")
    to: datetime
    sessions: int
    gross: Money
    commission: Money
    net: Money


@strawberry.type
class Provider(Node):
    row: Private[m.Provider]
    display_name: str
    bio: str | None
    time_zone: str
    visibility: ProviderVisibility
    commission_rate: float

    @classmethod
    def of(cls, row: m.Provider) -> Provider:
        return cls(id=strawberry.ID(ids.encode("Provider", row.id)), row=row, display_name=row.display_name,
                   bio=row.bio, time_zone=row.time_zone, visibility=row.visibility,
                   commission_rate=float(row.commission_rate))

    @strawberry.field
    async def user(self, info: Info) -> User:
        user = await info.context.loaders.user_by_id.load(self.row.user_id)
        assert user is not None
        return User.of(user)

    @resolver_field(description="Archived services only for the provider themself and admins.")
    async def services(self, info: Info) -> list[Service]:
        rows = await info.context.loaders.services_by_provider_id.load(self.row.id)
        owner = visibility.is_provider_or_admin(info.context.viewer, self.row.id)
        return [Service.of(row) for row in rows if owner or row.archived_at is None]

    @resolver_field(description="The provider themself and admins.")
    async def availability(self, info: Info) -> Availability | None:
        if not visibility.is_provider_or_admin(info.context.viewer, self.row.id):
            return None
        return await availability_of(info, self.row)

    @strawberry.field
    def reliability(self) -> ProviderReliability:
        row = self.row
        average = float(row.response_minutes_total) / row.response_count if row.response_count else None
        return ProviderReliability(consecutive_cancellations=row.consecutive_cancellations, flagged=row.flagged,
                                   late_cancellations=row.late_cancellations,
                                   average_response_minutes=None if average is None else round(average, 1),
                                   late_responses=row.late_responses)

    @resolver_field(description="The provider themself and admins.")
    async def earnings(self, info: Info, from_: Annotated[datetime, strawberry.argument(name="from")],
                       to: datetime) -> Earnings | None:
        if not visibility.is_provider_or_admin(info.context.viewer, self.row.id):
            return None
        return await earnings(info, self.row, start=from_, end=to)

    @resolver_field(description="The provider themself: a secret iCalendar feed URL.")
    def calendar_feed_url(self, info: Info) -> str | None:
        if info.context.viewer.provider_id != self.row.id or not self.row.calendar_token:
            return None
        return f"{info.context.deps.settings.public_base_url}/calendar/{self.row.calendar_token}.ics"

    @strawberry.field
    async def sessions(self, info: Info, first: int | None = 20, after: str | None = None,
                       filter: FilterLazy | None = None) -> SessionsLazy:
        return await links().sessions_page(info, first=first, after=after, filter=filter, provider_id=self.row.id)


@strawberry.type
class ProviderEdge:
    cursor: str
    node: Provider


@strawberry.type
class ProviderConnection:
    edges: list[ProviderEdge]
    page_info: PageInfo


@strawberry.type
class UserEdge:
    cursor: str
    node: User


@strawberry.type
class UserConnection:
    edges: list[UserEdge]
    page_info: PageInfo


@strawberry.type(description="Whether notifications of one kind are also emailed; in-app ones are always on.")
class EmailPreference:
    kind: NotificationKind
    email: bool


def listed(pairs: list[tuple[Kind, bool]]) -> list[EmailPreference]:
    return [EmailPreference(kind=kind, email=on) for kind, on in pairs]


def email_preferences_of(user: m.User) -> list[EmailPreference]:
    return listed(preferences.email_preferences(user))


@strawberry.type
class Viewer:
    user: User
    member: Member | None
    provider: Provider | None

    @strawberry.field
    async def unread_notifications(self, info: Info) -> int:
        return (await unread_counts(info))[0]

    @strawberry.field
    async def unread_messages(self, info: Info) -> int:
        return (await unread_counts(info))[1]

    @resolver_field(description="Every notification kind and whether it is also emailed; in-app is always on.")
    def email_preferences(self) -> list[EmailPreference]:
        return email_preferences_of(self.user.row)


async def member_of(info: Info, member_id: uuid.UUID, *, of_session: bool = False) -> Member:
    """The member of a session or conversation the viewer is party to (what it shows: `Member`'s docstring).
    `of_session`: reached through a session the viewer sees, so a viewing provider shares one with the member
    (primed, so that a page of sessions does not ask again)."""
    viewer = info.context.viewer
    if of_session and viewer.provider_id is not None:
        info.context.loaders.shares_session.prime((viewer.provider_id, member_id), True)
    row = await info.context.loaders.member_by_id.load(member_id)
    assert row is not None
    return Member.of(row)


async def service_of(info: Info, service_id: uuid.UUID) -> Service:
    row = await info.context.loaders.service_by_id.load(service_id)
    assert row is not None
    return Service.of(row)


async def provider_of(info: Info, provider_id: uuid.UUID) -> Provider:
    row = await info.context.loaders.provider_by_id.load(provider_id)
    assert row is not None
    return Provider.of(row)


async def ledger_page(info: Info, *, member_id: uuid.UUID, first: int | None, after: str | None
                      ) -> LedgerEntryConnection:
    size = page_size(first, maximum=info.context.deps.settings.max_page_size)
    page = await people_queries.ledger_page(await info.context.db(), member_id=member_id, first=size,
                                            before_id=id_cursor(after, "after"))
    edges = [LedgerEntryEdge(cursor=encode_cursor(row.id), node=LedgerEntry.of(row)) for row in page.rows]
    cursors = [e.cursor for e in edges]
    return LedgerEntryConnection(edges=edges, page_info=page_info(cursors, has_next=page.has_next,
                                                                    has_previous=after is not None))


async def earnings(info: Info, provider: m.Provider, *, start: datetime, end: datetime) -> Earnings:
    if end <= start:
        raise ValidationError("`to` must be after `from`", field="to")
    count, gross, net = await people_queries.earnings(await info.context.db(), provider_id=provider.id,
                                                      start=start, end=end)
    currency = await _currency(info, provider.id)
    return Earnings(from_=start, to=end, sessions=count, gross=money(gross, currency),
                      commission=money(gross - net, currency), net=money(net, currency))


async def _currency(info: Info, provider_id: uuid.UUID) -> str:
    services = await info.context.loaders.services_by_provider_id.load(provider_id)
    return services[0].currency if services else "USD"


async def unread_counts(info: Info) -> tuple[int, int]:
    return await people_queries.unread_counts(await info.context.db(), viewer=info.context.viewer)


async def load_member(info: Info, member_id: uuid.UUID) -> Member:
    row = await info.context.loaders.member_by_id.load(member_id)
    if row is None or not await visibility.can_see_member(info.context.viewer, member_id, info.context.loaders):
        raise NotFound("no such member", field="memberId")
    return Member.of(row)


async def load_provider(info: Info, provider_id: uuid.UUID) -> Provider:
    row = await info.context.loaders.provider_by_id.load(provider_id)
    if row is None or not visibility.can_see_provider(info.context.viewer, row):
        raise NotFound("no such provider", field="providerId")
    return Provider.of(row)


@strawberry.type
class MemberSuccess:
    member: Member


@strawberry.type
class ProviderSuccess:
    provider: Provider


@strawberry.type
class ServiceSuccess:
    service: Service


@strawberry.type
class UserSuccess:
    user: User


UserResult = Annotated[UserSuccess | BasicError, strawberry.union("UserResult")]
MemberResult = Annotated[MemberSuccess | BasicError, strawberry.union("MemberResult")]
WalletResult = Annotated[MemberSuccess | BasicError, strawberry.union("WalletResult")]
ProviderResult = Annotated[ProviderSuccess | BasicError, strawberry.union("ProviderResult")]
ServiceResult = Annotated[ServiceSuccess | BasicError, strawberry.union("ServiceResult")]
