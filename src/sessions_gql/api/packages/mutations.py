"""Package mutations: buy one, refund unused places."""

from __future__ import annotations

import uuid

from sessions_gql.api import ids
from sessions_gql.api.context import Info
from sessions_gql.api.errors import result_or_error
from sessions_gql.api.packages.inputs import PurchasePackageInput, RefundPackageInput
from sessions_gql.api.packages.types import Package, PackageResult, PackageSuccess
from sessions_gql.services.people import packages


async def _success(info: Info, package_id: uuid.UUID) -> PackageSuccess:
    info.context.reset_loaders()
    row = await info.context.loaders.package_by_id.load(package_id)
    assert row is not None
    return PackageSuccess(package=Package.of(row))


async def purchase_package(info: Info, input: PurchasePackageInput) -> PackageResult:
    async def run() -> PackageSuccess:
        command = packages.PurchasePackage(
            service_id=ids.decode_uuid(input.service_id, "Service", field="serviceId"), sessions=input.sessions,
            member_id=ids.maybe_uuid(input.member_id, "Member", field="memberId"),
            idempotency_key=input.idempotency_key,
        )
        return await _success(info, await packages.purchase_package(info.context.deps, viewer=info.context.viewer,
                                                                    command=command))

    return await result_or_error(run)  # type: ignore[return-value]


async def refund_package(info: Info, input: RefundPackageInput) -> PackageResult:
    async def run() -> PackageSuccess:
        command = packages.RefundPackage(
            package_id=ids.decode_uuid(input.package_id, "Package", field="packageId"), sessions=input.sessions,
            idempotency_key=input.idempotency_key,
        )
        return await _success(info, await packages.refund_package(info.context.deps, viewer=info.context.viewer,
                                                                  command=command))

    return await result_or_error(run)  # type: ignore[return-value]
