"""Use cases for accounts: members, providers, admins, provider visibility."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass

from sqlalchemy import select

from sessions_gql.auth.viewer import Viewer
from sessions_gql.db import models as m
from sessions_gql.db.types import uuid7
from sessions_gql.db.uow import UnitOfWork
from sessions_gql.domain import validation as v
from sessions_gql.domain.enums import ProviderVisibility, Role
from sessions_gql.domain.errors import Forbidden, NotFound, ValidationError
from sessions_gql.services.access import acting_provider, require_admin
from sessions_gql.services.deps import Deps


@dataclass(frozen=True)
class NewMember:
    email: str
    display_name: str
    time_zone: str
    phone: str | None = None
    country: str | None = None


@dataclass(frozen=True)
class ProfileChange:
    """`updateProfile`: None leaves a field as it is; an empty phone, country or bio clears it."""

    user_id: uuid.UUID | None = None
    display_name: str | None = None
    time_zone: str | None = None
    phone: str | None = None
    country: str | None = None
    bio: str | None = None


@dataclass(frozen=True)
class NewProvider:
    email: str
    display_name: str
    time_zone: str
    bio: str | None = None
    commission_rate: float | None = None


async def _new_user(uow: UnitOfWork, deps: Deps, *, role: Role, email: str, name: str | None, tz: str,
                    phone: str | None = None) -> m.User:
    address = v.email(email)
    taken = await uow.session.scalar(select(m.User.id).where(m.User.email == address))
    if taken is not None:
        raise ValidationError(f"{address} already has an account", field="email")
    user = m.User(
        id=uuid7(), role=role, email=address,
        display_name=v.text(name, field="displayName", max_length=200),
        time_zone=v.time_zone(tz), phone=v.phone(phone), email_preferences={},
        created_at=deps.clock.now(),
    )
    uow.session.add(user)
    await uow.session.flush()
    return user


async def create_member(deps: Deps, *, viewer: Viewer, command: NewMember) -> uuid.UUID:
    require_admin(viewer)
    async with deps.uow() as uow:
        user = await _new_user(uow, deps, role=Role.MEMBER, email=command.email, name=command.display_name,
                               tz=command.time_zone, phone=command.phone)
        member = m.Member(id=uuid7(), user_id=user.id, country=v.country(command.country),
                          available_credits=0, held_credits=0, created_at=user.created_at)
        uow.session.add(member)
        await uow.commit()
        return member.id


async def create_provider(deps: Deps, *, viewer: Viewer, command: NewProvider) -> uuid.UUID:
    require_admin(viewer)
    settings = deps.settings
    rate = settings.default_commission_rate if command.commission_rate is None else command.commission_rate
    async with deps.uow() as uow:
        user = await _new_user(uow, deps, role=Role.PROVIDER, email=command.email, name=command.display_name,
                               tz=command.time_zone)
        provider = m.Provider(
            id=uuid7(), user_id=user.id, display_name=user.display_name,
            bio=v.text(command.bio, field="bio", max_length=5000, required=False),
            time_zone=user.time_zone, visibility=ProviderVisibility.ACTIVE,
            commission_rate=v.rate(rate, field="commissionRate"), buffer_minutes=0,
            minimum_notice_minutes=settings.minimum_notice_minutes, horizon_days=settings.horizon_days,
            consecutive_cancellations=0, late_cancellations=0, flagged=False, response_count=0,
            response_minutes_total=0, late_responses=0, created_at=user.created_at,
            calendar_token=secrets.token_urlsafe(32),
        )
        uow.session.add(provider)
        await uow.commit()
        return provider.id


async def ensure_admin(deps: Deps, *, email: str, display_name: str | None = None) -> uuid.UUID:
    """The admin with this email, created first if missing (for `sessions-gql token --role ADMIN`)."""
    async with deps.uow() as uow:
        address = v.email(email)
        user = await uow.session.scalar(select(m.User).where(m.User.email == address))
        if user is not None:
            if user.role is not Role.ADMIN:
                raise ValidationError(f"{address} is a {user.role.value}, not an admin", field="email")
            return user.id
        user = await _new_user(uow, deps, role=Role.ADMIN, email=address,
                               name=display_name or address.split("@")[0], tz="UTC")
        await uow.commit()
        return user.id


async def set_visibility(
    deps: Deps, *, viewer: Viewer, visibility: ProviderVisibility, provider_id: uuid.UUID | None = None
) -> uuid.UUID:
    """A provider hides (INVISIBLE), takes a break (PAUSED) or comes back (ACTIVE) themself; DEACTIVATED is set
    by the system or an admin, and only an admin lifts it."""
    provider_id = acting_provider(viewer, provider_id)
    async with deps.uow() as uow:
        provider = await uow.session.get(m.Provider, provider_id, with_for_update=True)
        if provider is None:
            raise NotFound("no such provider")
        if not viewer.is_admin and not provider.visibility.set_by_provider:
            raise Forbidden("this account is deactivated and only an admin can reactivate it", field="visibility")
        if not viewer.is_admin and not visibility.set_by_provider:
            raise Forbidden("only an admin deactivates an account; to take a break set PAUSED, or INVISIBLE to "
                            "stay bookable but unlisted", field="visibility")
        provider.visibility = visibility
        await uow.commit()
        return provider.id


async def update_profile(deps: Deps, *, viewer: Viewer, change: ProfileChange) -> uuid.UUID:
    """The viewer's own profile, or any user's for an admin. A new time zone changes how times are shown, never a
    booked instant; a provider's weekly rules keep their wall-clock times, now read in the new zone (DECISIONS)."""
    target = change.user_id or viewer.user_id
    if target != viewer.user_id and not viewer.is_admin:
        raise Forbidden("only admins edit another person's profile", field="userId")
    name = None if change.display_name is None else v.text(change.display_name, field="displayName",
                                                           max_length=200)
    zone = None if change.time_zone is None else v.time_zone(change.time_zone)
    phone = v.phone(change.phone)
    country = v.country(change.country)
    bio = v.text(change.bio, field="bio", max_length=5000, required=False)
    async with deps.uow() as uow:
        # FOR NO KEY UPDATE: a booking in flight holding this provider or member checks foreign keys on the
        # user (KEY SHARE), which FOR UPDATE would make wait on us while we wait on it
        user = await uow.session.get(m.User, target, with_for_update={"key_share": True})
        if user is None:
            raise NotFound("no such user", field="userId")
        provider = await uow.session.scalar(
            select(m.Provider).where(m.Provider.user_id == user.id).with_for_update()
        ) if user.role is Role.PROVIDER else None
        member = await uow.session.scalar(
            select(m.Member).where(m.Member.user_id == user.id).with_for_update()
        ) if user.role is Role.MEMBER and change.country is not None else None
        if change.bio is not None and provider is None:
            raise ValidationError("only providers have a bio", field="bio")
        if change.country is not None and user.role is not Role.MEMBER:
            raise ValidationError("only members have a country", field="country")
        if name is not None:
            user.display_name = name
        if zone is not None:
            user.time_zone = zone
        if change.phone is not None:
            user.phone = phone
        if member is not None:
            member.country = country
        if provider is not None:  # a provider's name and zone are kept on its row too (listing, availability)
            if name is not None:
                provider.display_name = name
            if zone is not None:
                provider.time_zone = zone
            if change.bio is not None:
                provider.bio = bio
        await uow.commit()
    deps.viewers.pop(target, None)  # the cached viewer carries the old time zone
    return target
