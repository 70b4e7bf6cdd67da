"""Resolvers for packages: decode, call the use case, map the result."""

from __future__ import annotations

import uuid

import strawberry

from sessions_gql.resolvers import ids
from sessions_gql.resolvers.errors import result_or_error
from sessions_gql.schema import packages as t
from sessions_gql.schema.context import Info
from sessions_gql.services import packages, visibility


async def package(info: Info, id: strawberry.ID) -> t.Package | None:
    """The node: like Member.packages, the member, the provider it was bought from, and admins."""
    row = await info.context.loaders.package_by_id.load(ids.decode_uuid(id, "Package"))
    return t.Package.of(row) if row is not None and visibility.sees_package(info.context.viewer, row) else None


async def _success(info: Info, package_id: uuid.UUID) -> t.PackageSuccess:
    info.context.reset_loaders()
    row = await info.context.loaders.package_by_id.load(package_id)
    assert row is not None
    return t.PackageSuccess(package=t.Package.of(row))


async def purchase_package(info: Info, input: t.PurchasePackageInput) -> t.PackageResult:
    async def run() -> t.PackageSuccess:
        command = packages.PurchasePackage(
            service_id=ids.decode_uuid(input.service_id, "Service", field="serviceId"), sessions=input.sessions,
            member_id=ids.maybe_uuid(input.member_id, "Member", field="memberId"),
            idempotency_key=input.idempotency_key,
        )
        return await _success(info, await packages.purchase_package(info.context.deps, viewer=info.context.viewer,
                                                                    command=command))

    return await result_or_error(run)  # type: ignore[return-value]


async def refund_package(info: Info, input: t.RefundPackageInput) -> t.PackageResult:
    async def run() -> t.PackageSuccess:
        command = packages.RefundPackage(
            package_id=ids.decode_uuid(input.package_id, "Package", field="packageId"), sessions=input.sessions,
            idempotency_key=input.idempotency_key,
        )
        return await _success(info, await packages.refund_package(info.context.deps, viewer=info.context.viewer,
                                                                  command=command))

    return await result_or_error(run)  # type: ignore[return-value]
