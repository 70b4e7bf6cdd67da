"""Who may act for whom, and what takes new bookings. Raise typed errors; never reveal another person's data."""

from __future__ import annotations

import uuid

from sessions_gql.auth.viewer import Viewer
from sessions_gql.db import models as m
from sessions_gql.domain.errors import Forbidden, ProviderUnavailable, ValidationError


def require_taking_sessions(provider: m.Provider, *, field: str) -> None:
    """Requests, proposals and package purchases need a provider who takes new sessions (not PAUSED or
    DEACTIVATED: `ProviderVisibility.takes_new_sessions`)."""
    if not provider.visibility.takes_new_sessions:
        raise ProviderUnavailable(provider.visibility.unavailable_reason, field=field)


def require_not_archived(service: m.Service) -> None:
    """An archived service takes no new bookings; what is already booked goes on."""
    if service.archived_at is not None:
        raise ValidationError(f"{service.name} is archived and takes no new bookings", field="serviceId")


def require_admin(viewer: Viewer) -> None:
    if not viewer.is_admin:
        raise Forbidden("only admins may do this")


def acting_provider(viewer: Viewer, provider_id: uuid.UUID | None) -> uuid.UUID:
    """The provider a provider-or-admin mutation acts for: the viewer's own, or the one an admin names."""
    if viewer.is_admin:
        if provider_id is None:
            raise ValidationError("admins must name the provider", field="providerId")
        return provider_id
    if viewer.is_provider and viewer.provider_id is not None:
        if provider_id is not None and provider_id != viewer.provider_id:
            raise Forbidden("providers may only change their own profile", field="providerId")
        return viewer.provider_id
    raise Forbidden("only providers and admins may do this")


def acting_member(viewer: Viewer, member_id: uuid.UUID | None, *, what: str = "request a session") -> uuid.UUID:
    """The member a member-or-admin mutation acts for: the viewer themself, or the one an admin names."""
    if viewer.is_admin:
        if member_id is None:
            raise ValidationError("admins must name the member", field="memberId")
        return member_id
    if viewer.member_id is None:
        raise Forbidden(f"only members, or admins for them, may {what}")
    if member_id is not None and member_id != viewer.member_id:
        raise Forbidden("members book for themselves", field="memberId")
    return viewer.member_id
