"""`sessions-gql seed --demo`: a small world to try in GraphiQL, built through the use cases."""

from __future__ import annotations

from datetime import time

from sqlalchemy import select

from sessions_gql.app import build_deps
from sessions_gql.auth.tokens import issue_token
from sessions_gql.auth.viewer import Viewer
from sessions_gql.config import Settings
from sessions_gql.db import models as m
from sessions_gql.db.migrate import migrate
from sessions_gql.domain.enums import Modality, Role, Weekday
from sessions_gql.domain.packages import Offer
from sessions_gql.services.deps import Deps
from sessions_gql.services.people import availability, catalog, people, wallet

WORKDAYS = [Weekday.MONDAY, Weekday.TUESDAY, Weekday.WEDNESDAY, Weekday.THURSDAY, Weekday.FRIDAY]
PROVIDERS = [
    ("dr.okafor@demo.example", "Dr. Amara Okafor", "Europe/London", "Therapy", ["Anxiety", "Stress"]),
    ("coach.lee@demo.example", "Jordan Lee", "America/New_York", "Career coaching", ["Career", "Leadership"]),
]
MEMBERS = [
    ("sam@demo.example", "Sam Rivera", "Europe/Berlin", "DE", 300, 0.0),
    ("alex@demo.example", "Alex Chen", "Asia/Singapore", "SG", 100, 6.0),
]


async def _admin(deps: Deps) -> Viewer:
    user_id = await people.ensure_admin(deps, email="admin@demo.example", display_name="Demo Admin")
    return Viewer(user_id=user_id, role=Role.ADMIN, time_zone="UTC")


async def _provider(deps: Deps, admin: Viewer, spec: tuple[str, str, str, str, list[str]]) -> None:
    email, name, zone, offer, skills = spec
    provider_id = await people.create_provider(
        deps, viewer=admin, command=people.NewProvider(email=email, display_name=name, time_zone=zone,
                                                       bio=f"{offer} for busy people."))
    await catalog.save_service(deps, viewer=admin, draft=catalog.ServiceDraft(
        name=offer, skills=skills, duration_minutes=50, price_credits=60, fee="45.00", currency="GBP",
        modalities=[Modality.VIDEO, Modality.PHONE], free_initial_consultation=True, provider_id=provider_id,
        packages=[Offer(sessions=4, price_credits=200)]))
    rules = [(day, time(9), time(17)) for day in WORKDAYS]
    await availability.set_availability(deps, viewer=admin, draft=availability.AvailabilityDraft(
        time_zone=zone, weekly_rules=rules, buffer_minutes=10, provider_id=provider_id))


async def _member(deps: Deps, admin: Viewer, spec: tuple[str, str, str, str, int, float]) -> None:
    email, name, zone, country, credits, hours = spec
    member_id = await people.create_member(deps, viewer=admin, command=people.NewMember(
        email=email, display_name=name, time_zone=zone, country=country))
    await wallet.grant_credits(deps, viewer=admin, command=wallet.GrantCredits(
        member_id=member_id, credits=credits, note="welcome credits"))
    if hours:
        await wallet.grant_sponsorship(deps, viewer=admin, command=wallet.GrantSponsorship(
            member_id=member_id, sponsor="Acme Corp", hours=hours))


async def seed_demo(settings: Settings) -> str:
    """Create the demo world unless it exists; return a text with one token per person."""
    deps = build_deps(settings)
    try:
        await migrate(deps.engine)
        await deps.clock.refresh()
        admin = await _admin(deps)
        async with deps.sessions() as db:
            seeded = await db.scalar(select(m.User.id).where(m.User.email == PROVIDERS[0][0]))
        if seeded is None:
            for provider in PROVIDERS:
                await _provider(deps, admin, provider)
            for member in MEMBERS:
                await _member(deps, admin, member)
        async with deps.sessions() as db:
            users = (await db.scalars(select(m.User).where(m.User.email.like("%@demo.example")))).all()
        now = deps.clock.wall()  # tokens live in real time, not the test clock's
        lines = ["Demo world ready. Send one of these as 'Authorization: Bearer <token>' in GraphiQL:"]
        for user in sorted(users, key=lambda u: (u.role.value, u.email)):
            token = issue_token(settings, user_id=user.id, role=user.role.value, now=now)
            lines.append(f"{user.role.value:<9} {user.email:<28} {token}")
        return "\n".join(lines)
    finally:
        await deps.dispose()
