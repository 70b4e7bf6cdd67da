"""Package queries: a package by id (the node)."""

from __future__ import annotations

import strawberry

from sessions_gql.api import ids
from sessions_gql.api.context import Info
from sessions_gql.api.packages.types import Package, package_for


async def package(info: Info, id: strawberry.ID) -> Package | None:
    """The node: like Member.packages, the member, the provider it was bought from, and admins."""
    return await package_for(info, ids.decode_uuid(id, "Package"))
