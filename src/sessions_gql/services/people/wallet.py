"""Use cases for the credit wallet and sponsorships. Every movement is a ledger row."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sessions_gql.auth.viewer import Viewer
from sessions_gql.db import models as m
from sessions_gql.db.types import uuid7
from sessions_gql.db.uow import UnitOfWork
from sessions_gql.domain import validation as v
from sessions_gql.domain.credits import Funds, LedgerMove
from sessions_gql.domain.enums import LedgerEntryKind
from sessions_gql.domain.errors import NotFound, ValidationError
from sessions_gql.services.access import require_admin
from sessions_gql.services.deps import Deps
from sessions_gql.services.idempotency import run_once

MAX_SPONSORED_HOURS = 1000.0


@dataclass(frozen=True)
class GrantCredits:
    member_id: uuid.UUID
    credits: int
    note: str | None = None
    idempotency_key: str | None = None


@dataclass(frozen=True)
class GrantSponsorship:
    member_id: uuid.UUID
    sponsor: str
    hours: float
    valid_until: datetime | None = None


def record(uow: UnitOfWork, member: m.Member, move: LedgerMove, *, now: datetime,
           session_id: uuid.UUID | None = None, sponsorship_id: uuid.UUID | None = None,
           package_id: uuid.UUID | None = None) -> m.LedgerEntry:
    """Apply a move to the member's credit balances by the one money rule (`Funds`: refused whole when a balance
    would go negative) and write its ledger row. Sponsored minutes are the sponsorship's (session_effects)."""
    funds = Funds(available_credits=member.available_credits, held_credits=member.held_credits)
    funds.apply(LedgerMove(move.kind, move.credits, 0, move.note, from_available=move.from_available))
    member.available_credits, member.held_credits = funds.available_credits, funds.held_credits
    entry = m.LedgerEntry(member_id=member.id, kind=move.kind, credits=move.credits,
                          sponsored_minutes=move.sponsored_minutes, session_id=session_id,
                          sponsorship_id=sponsorship_id, package_id=package_id, note=move.note, at=now)
    uow.session.add(entry)
    return entry


def move_of(entry: m.LedgerEntry) -> LedgerMove:
    """A ledger row as the move it recorded: a CAPTURE tied to a package and no session was a purchase, taken
    straight from the available credits."""
    direct = entry.kind is LedgerEntryKind.CAPTURE and entry.session_id is None and entry.package_id is not None
    return LedgerMove(entry.kind, entry.credits, entry.sponsored_minutes, entry.note, from_available=direct)


async def _member_for_update(uow: UnitOfWork, member_id: uuid.UUID) -> m.Member:
    member = await uow.session.get(m.Member, member_id, with_for_update=True)
    if member is None:
        raise NotFound("no such member", field="memberId")
    return member


async def grant_credits(deps: Deps, *, viewer: Viewer, command: GrantCredits) -> uuid.UUID:
    require_admin(viewer)
    credits = v.positive_int(command.credits, field="credits")
    note = v.text(command.note, field="note", max_length=500, required=False)
    now = deps.clock.now()

    async def work(uow: UnitOfWork) -> dict[str, str]:
        member = await _member_for_update(uow, command.member_id)
        if member.available_credits + credits > v.MAX_CREDITS:
            raise ValidationError(f"a wallet holds at most {v.MAX_CREDITS} credits", field="credits")
        record(uow, member, LedgerMove(LedgerEntryKind.GRANT, credits, note=note), now=now)
        return {"member_id": str(member.id)}

    result = await run_once(
        deps.uow, user_id=viewer.user_id, key=command.idempotency_key, operation="grantCredits",
        payload={"member": str(command.member_id), "credits": credits, "note": note}, now=now, work=work,
    )
    return uuid.UUID(result["member_id"])


async def grant_sponsorship(deps: Deps, *, viewer: Viewer, command: GrantSponsorship) -> uuid.UUID:
    """Employer-paid hours, recorded as a GRANT of sponsored minutes."""
    require_admin(viewer)
    sponsor = v.text(command.sponsor, field="sponsor", max_length=200)
    if not 0 < command.hours <= MAX_SPONSORED_HOURS:
        raise ValidationError(f"hours must be above 0 and at most {MAX_SPONSORED_HOURS:g}", field="hours")
    minutes = round(command.hours * 60)
    if minutes < 1:
        raise ValidationError("a sponsorship grants at least one minute", field="hours")
    now = deps.clock.now()
    if command.valid_until is not None and command.valid_until <= now:
        raise ValidationError("validUntil must be in the future", field="validUntil")
    async with deps.uow() as uow:
        member = await _member_for_update(uow, command.member_id)
        sponsorship = m.Sponsorship(id=uuid7(), member_id=member.id, sponsor=sponsor, minutes_granted=minutes,
                                    minutes_used=0, valid_until=command.valid_until, created_at=now)
        uow.session.add(sponsorship)
        await uow.session.flush()
        uow.session.add(m.LedgerEntry(member_id=member.id, kind=LedgerEntryKind.GRANT, credits=0,
                                      sponsored_minutes=minutes, sponsorship_id=sponsorship.id,
                                      note=f"sponsored by {sponsor}", at=now))
        await uow.commit()
        return member.id
