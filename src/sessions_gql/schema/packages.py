"""Packages as the contract names them: what a member bought, its places, and the sessions booked from it."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import Private

from sessions_gql.db import models as m
from sessions_gql.resolvers import ids
from sessions_gql.schema.common import BasicError, InsufficientFundsError, Node, resolver_field
from sessions_gql.schema.context import Info
from sessions_gql.schema.people import Member, Provider, Service, provider_of

if TYPE_CHECKING:
    from sessions_gql.schema.sessions import SessionConnection

SessionsLazy = Annotated["SessionConnection", strawberry.lazy("sessions_gql.schema.sessions")]


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
        row = await info.context.loaders.service_by_id.load(self.row.service_id)
        assert row is not None
        return Service.of(row)

    @resolver_field(description="Places not yet booked (\"Unscheduled\"); refunded ones are not counted.")
    async def sessions_remaining(self, info: Info) -> int:
        from sessions_gql.services.packages import places_from

        booked = await info.context.loaders.sessions_by_package_id.load(self.row.id)
        return places_from(self.row, booked).remaining

    @resolver_field(description="Unused places given back in credits (by the provider, an admin, or on expiry).")
    def sessions_refunded(self) -> int:
        return len(self.row.refunded_places)

    @resolver_field(description="The credits those refunds returned to the member's wallet.")
    def refunded_credits(self) -> int:
        return self.row.refunded_credits

    @strawberry.field
    async def sessions(self, info: Info, first: int | None = 20, after: str | None = None) -> SessionsLazy:
        from sessions_gql.resolvers.sessions import sessions_connection

        return await sessions_connection(info, first=first, after=after, filter=None, package_id=self.row.id)


@strawberry.type
class PackageSuccess:
    package: Package


PackageResult = Annotated[PackageSuccess | BasicError | InsufficientFundsError, strawberry.union("PackageResult")]


@strawberry.input
class PackageOfferInput:
    sessions: int
    price_credits: int


@strawberry.input
class PurchasePackageInput:
    service_id: strawberry.ID
    sessions: int
    member_id: strawberry.ID | None = None
    idempotency_key: str | None = None


@strawberry.input
class RefundPackageInput:
    package_id: strawberry.ID
    sessions: int
    idempotency_key: str | None = None
