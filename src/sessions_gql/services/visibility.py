"""Who may see what (DOMAIN.md "Parties and accounts"). What a viewer may not see is null or NOT_FOUND."""

from __future__ import annotations

import uuid

from strawberry.dataloader import DataLoader

from sessions_gql.auth.viewer import Viewer
from sessions_gql.db import models as m
from sessions_gql.db.loaders import Loaders


async def can_see_member(viewer: Viewer, member_id: uuid.UUID, loaders: Loaders) -> bool:
    """Themself, admins, and providers who share a session (past or future) with the member, or sold them a
    package (its sessions are theirs to come)."""
    if await _self_admin_or_pair(viewer, member_id, loaders.shares_session):
        return True
    return viewer.provider_id is not None and await loaders.sold_package.load((viewer.provider_id, member_id))


async def sees_contact_details(viewer: Viewer, member_id: uuid.UUID, loaders: Loaders) -> bool:
    """A member's email and phone: themself, admins, and providers the member asked for or agreed to a session
    with. Seeing the profile is not enough: a provider could otherwise propose to anyone to learn their phone."""
    return await _self_admin_or_pair(viewer, member_id, loaders.member_engaged)


async def _self_admin_or_pair(viewer: Viewer, member_id: uuid.UUID,
                              pair_rule: DataLoader[tuple[uuid.UUID, uuid.UUID], bool]) -> bool:
    """The member themself and admins always; a provider when `pair_rule` holds for (provider, member)."""
    if viewer.is_admin or viewer.member_id == member_id:
        return True
    if viewer.provider_id is None:
        return False
    return await pair_rule.load((viewer.provider_id, member_id))


def can_see_session(viewer: Viewer, session: m.Session) -> bool:
    return viewer.is_admin or session.member_id == viewer.member_id or session.provider_id == viewer.provider_id


def sees_wallet(viewer: Viewer, member_id: uuid.UUID) -> bool:
    return viewer.is_admin or viewer.member_id == member_id


def is_provider_or_admin(viewer: Viewer, provider_id: uuid.UUID) -> bool:
    return viewer.is_admin or viewer.provider_id == provider_id


def can_see_provider(viewer: Viewer, provider: m.Provider) -> bool:
    """Profiles are public to signed-in users; a deactivated one only to itself and admins."""
    if provider.visibility.profile_visible:
        return True
    return is_provider_or_admin(viewer, provider.id)


def sees_package(viewer: Viewer, package: m.Package) -> bool:
    """The member who bought it, the provider it was bought from, admins."""
    return viewer.is_admin or viewer.member_id == package.member_id or viewer.provider_id == package.provider_id
