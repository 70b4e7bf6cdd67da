"""What package mutations take (a service's offers are in api/people/inputs.py)."""

from __future__ import annotations

import strawberry


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
