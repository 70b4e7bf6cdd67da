"""Packages as the contract names them: what a member bought, its places, and the sessions booked from it."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

import strawberry
from strawberry import Private

from sessions_gql.api import ids
from sessions_gql.api.common import Node, resolver_field
from sessions_gql.api.context import Info
from sessions_gql.api.errors import BasicError, InsufficientFundsError
from sessions_gql.api.people.types import Member, Provider, Service, provider_of, service_of
from sessions_gql.api.sessions.queries import sessions_connection
from sessions_gql.api.sessions.types import SessionConnection
from sessions_gql.db import models as m
from sessions_gql.services import visibility
from sessions_gql.services.people.packages import places_from


@strawberry.type
class Package(Node):
    row: Private[m.Package]
    sessions_total: int
    price_credits: int
    purchased_at: datetime
    valid_until: datetime | None

    @classmethod
    def of(cls, row: m.Package) -> Package:
        return cls(id=strawberry.ID(ids.encode("Package", row.id)), row=row, sessions_total=row.sessions_total,
                   price_credits=row.price_credits, purchased_at=row.purchased_at, valid_until=row.valid_until)

    @strawberry.field
    async def member(self, info: Info) -> Member:
        """Its buyer: the provider sees the name of whoever bought from them (contact details stay guarded)."""
        row = await info.context.loaders.member_by_id.load(self.row.member_id)
        assert row is not None
        return Member.of(row)

    @strawberry.field
    async def provider(self, info: Info) -> Provider:
        return await provider_of(info, self.row.provider_id)

    @strawberry.field
    async def service(self, info: Info) -> Service:
        return await service_of(info, self.row.service_id)

    @resolver_field(description="Places not yet booked (\"Unscheduled\"); refunded ones are not counted.")
    async def sessions_remaining(self, info: Info) -> int:
        booked = await info.context.loaders.sessions_by_package_id.load(self.row.id)
        return places_from(self.row, booked).remaining

    @resolver_field(description="Unused places given back in credits (by the provider, an admin, or on expiry).")
    def sessions_refunded(self) -> int:
        return len(self.row.refunded_places)

    @resolver_field(description="The credits those refunds returned to the member's wallet.")
    def refunded_credits(self) -> int:
        return self.row.refunded_credits

    @strawberry.field
    async def sessions(self, info: Info, first: int | None = 20, after: str | None = None) -> SessionConnection:
        return await sessions_connection(info, first=first, after=after, filter=None, package_id=self.row.id)


@strawberry.type
class PackageSuccess:
    package: Package


PackageResult = Annotated[PackageSuccess | BasicError | InsufficientFundsError, strawberry.union("PackageResult")]


async def package_for(info: Info, package_id: uuid.UUID | None) -> Package | None:
    """The package if the viewer may see it: its member, the provider it was bought from, and admins."""
    if package_id is None:
        return None
    row = await info.context.loaders.package_by_id.load(package_id)
    return Package.of(row) if row is not None and visibility.sees_package(info.context.viewer, row) else None


async def session_package(info: Info, row: m.Session) -> Package | None:
    """Session.package: the package a session was booked from (funding PACKAGE)."""
    return await package_for(info, row.package_id)


async def member_packages(info: Info, member_id: uuid.UUID) -> list[Package]:
    """Member.packages: the member themself and admins see all; a provider the ones bought from them."""
    rows = await info.context.loaders.packages_by_member_id.load(member_id)
    return [Package.of(row) for row in rows if visibility.sees_package(info.context.viewer, row)]
