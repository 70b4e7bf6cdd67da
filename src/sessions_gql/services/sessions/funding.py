"""Which funds pay for a session: a free consultation, a sponsorship, or the member's credits."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import bindparam, func, or_, select

from sessions_gql.db import models as m
from sessions_gql.db.fast import Writer
from sessions_gql.domain.credits import choose_funding
from sessions_gql.domain.enums import Funding, SessionStatus

RETURNED_STATUSES = (SessionStatus.DECLINED, SessionStatus.CANCELLED, SessionStatus.EXPIRED)


S, SP = m.Session, m.Sponsorship
USABLE_SPONSORSHIP = (
    select(SP.id, SP.minutes_granted - SP.minutes_used)
    .where(SP.member_id == bindparam("member"), SP.minutes_granted - SP.minutes_used >= bindparam("minutes"),
           or_(SP.valid_until.is_(None), SP.valid_until > bindparam("now", type_=SP.valid_until.type)))
    .order_by(SP.valid_until.is_(None), SP.valid_until, SP.created_at).limit(1)
)
"""The valid sponsorship that covers the minutes, the one expiring soonest first: (id, minutes left)."""
FREE_CONSULTATION_USED = (
    select(func.count()).select_from(S).where(  # the literal matches the partial index's predicate
        S.member_id == bindparam("member"), S.provider_id == bindparam("provider"),
        m.in_literals("sessions.funding", Funding.FREE_CONSULTATION),
        m.in_literals("sessions.status", *{*SessionStatus} - set(RETURNED_STATUSES)), S.id != bindparam("session"))
)
"""A free consultation counts as used unless it was declined, cancelled or expired (other than `session`)."""
NO_SESSION = uuid.UUID(int=0)


async def fund(db: Writer, *, member: m.Member, provider_id: uuid.UUID, service: m.Service,
               duration_minutes: int, price_credits: int, now: datetime, session_id: uuid.UUID | None = None
               ) -> tuple[Funding, uuid.UUID | None]:
    """The funding for a session, and the sponsorship it draws on when SPONSORED. Only what `choose_funding` can
    use is read: whether the free consultation was used only when the service offers one, the sponsorship only
    when no free consultation pays and there is a price to pay."""
    used = False
    if service.free_initial_consultation:
        counted = await db.fetch(FREE_CONSULTATION_USED, {"member": member.id, "provider": provider_id,
                                                          "session": session_id or NO_SESSION})
        used = bool(counted[0][0])
    found = []
    if price_credits > 0 and not (service.free_initial_consultation and not used):
        found = await db.fetch(USABLE_SPONSORSHIP, {"member": member.id, "minutes": duration_minutes, "now": now})
    funding = choose_funding(
        service_offers_free_consultation=service.free_initial_consultation,
        used_free_consultation_with_provider=used,
        sponsored_minutes_available=found[0][1] if found else 0,
        duration_minutes=duration_minutes,
        available_credits=member.available_credits,
        price_credits=price_credits,
    )
    return funding, (found[0][0] if funding is Funding.SPONSORED and found else None)
