"""Which funds pay for a session: a free consultation, a sponsorship, or the member's credits."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import func, or_, select

from sessions_gql.db import models as m
from sessions_gql.db.uow import UnitOfWork
from sessions_gql.domain.credits import choose_funding
from sessions_gql.domain.enums import Funding, SessionStatus
from sessions_gql.domain.session import Session

RETURNED_STATUSES = (SessionStatus.DECLINED, SessionStatus.CANCELLED, SessionStatus.EXPIRED)


async def usable_sponsorship(uow: UnitOfWork, *, member_id: uuid.UUID, minutes: int, now: datetime
                             ) -> m.Sponsorship | None:
    """The valid sponsorship that covers `minutes`, the one expiring soonest first."""
    S = m.Sponsorship
    query = (
        select(S)
        .where(S.member_id == member_id, S.minutes_granted - S.minutes_used >= minutes,
               or_(S.valid_until.is_(None), S.valid_until > now))
        .order_by(S.valid_until.is_(None), S.valid_until, S.created_at)
        .limit(1)
    )
    return await uow.session.scalar(query)


async def used_free_consultation(uow: UnitOfWork, *, member_id: uuid.UUID, provider_id: uuid.UUID,
                                 except_session: uuid.UUID | None = None) -> bool:
    """A free consultation counts as used unless it was declined, cancelled or expired."""
    S = m.Session
    query = select(func.count()).select_from(S).where(  # the literal matches the partial index's predicate
        S.member_id == member_id, S.provider_id == provider_id,
        m.in_literals("sessions.funding", Funding.FREE_CONSULTATION), S.status.not_in(RETURNED_STATUSES),
    )
    if except_session is not None:
        query = query.where(S.id != except_session)
    return bool(await uow.session.scalar(query))


async def fund(uow: UnitOfWork, *, member: m.Member, provider_id: uuid.UUID, service: m.Service,
               duration_minutes: int, price_credits: int, now: datetime, session_id: uuid.UUID | None = None
               ) -> tuple[Funding, uuid.UUID | None]:
    """The funding for a session, and the sponsorship it draws on when SPONSORED."""
    sponsorship = await usable_sponsorship(uow, member_id=member.id, minutes=duration_minutes, now=now)
    funding = choose_funding(
        service_offers_free_consultation=service.free_initial_consultation,
        used_free_consultation_with_provider=await used_free_consultation(
            uow, member_id=member.id, provider_id=provider_id, except_session=session_id),
        sponsored_minutes_available=(sponsorship.minutes_granted - sponsorship.minutes_used) if sponsorship else 0,
        duration_minutes=duration_minutes,
        available_credits=member.available_credits,
        price_credits=price_credits,
    )
    return funding, (sponsorship.id if funding is Funding.SPONSORED and sponsorship else None)


async def to_confirm(uow: UnitOfWork, session: Session, *, member: m.Member, service: m.Service, now: datetime
                     ) -> tuple[Funding | None, uuid.UUID | None]:
    """What pays for a session when it is confirmed: nothing new unless it still needs funding (a proposal, or the
    provider accepting a member's counter-offer to one)."""
    if not session.needs_funding:
        return None, None
    return await fund(uow, member=member, provider_id=session.provider_id, service=service,
                      duration_minutes=session.duration_minutes, price_credits=session.price_credits, now=now,
                      session_id=session.id)
