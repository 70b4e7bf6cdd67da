"""What people, services and preferences queries and mutations take."""

from __future__ import annotations

from datetime import datetime

import strawberry

from sessions_gql.api.enums import Modality, NotificationKind, Role


@strawberry.input
class PackageOfferInput:
    sessions: int
    price_credits: int


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


@strawberry.input
class ProviderFilter:
    skill: str | None = None
    modality: Modality | None = None
    search: str | None = None


@strawberry.input
class UserFilter:
    search: str | None = None  # part of the display name, email or phone, any case
    role: Role | None = None


@strawberry.input
class EmailPreferenceInput:
    kind: NotificationKind
    email: bool
