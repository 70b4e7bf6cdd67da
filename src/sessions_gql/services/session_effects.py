"""Turns a transition's domain events into rows: timeline, ledger, notifications, holds, jobs, outbox."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, delete, or_, select
from sqlalchemy.exc import IntegrityError

from sessions_gql.db import models as m
from sessions_gql.db.uow import UnitOfWork
from sessions_gql.domain import events as ev
from sessions_gql.domain.actors import Actor
from sessions_gql.domain.enums import Funding, LedgerEntryKind, Party, ProviderVisibility, TimelineEventType
from sessions_gql.domain.errors import InsufficientFunds, Interval, ScheduleConflict, SlotUnavailable
from sessions_gql.domain.reliability import ProviderReliability, rank_response_seconds
from sessions_gql.domain.session import Session
from sessions_gql.services import notice_text, notify, wallet
from sessions_gql.services.deps import Deps
from sessions_gql.services.session_store import write_back


@dataclass
class Written:
    """What one transition wrote, for the outbox and the caller."""

    timeline: list[m.TimelineEvent] = field(default_factory=list)
    notifications: list[m.Notification] = field(default_factory=list)
    party_user_ids: list[uuid.UUID] = field(default_factory=list)
    messages: list[m.Message] = field(default_factory=list)


async def apply_events(uow: UnitOfWork, deps: Deps, *, row: m.Session, session: Session,
                       events: list[ev.DomainEvent], actor: Actor | None, now: datetime) -> Written:
    written = Written()
    member = await uow.session.get(m.Member, row.member_id, with_for_update=True)
    provider = await uow.session.get(m.Provider, row.provider_id, with_for_update=True)
    assert member is not None and provider is not None
    written.party_user_ids = [member.user_id, provider.user_id]
    for event in events:
        if isinstance(event, ev.TimelineRecorded):
            written.timeline.append(_timeline(uow, row, event, now))
        elif isinstance(event, ev.FundsMoved):
            await _move_funds(uow, row, member, event, now)
        elif isinstance(event, ev.VideoRoomRequested):
            written.timeline += _video(uow, deps, row, event, now)
    deactivated = await _reliability(uow, deps, provider, events)
    write_back(session, row)
    row.updated_at = now
    # worded after write_back, so every notice tells the session as it now is
    told = [(member.user_id if e.party is Party.MEMBER else provider.user_id, e.kind)
            for e in events if isinstance(e, ev.PartyNotified)]
    told += [(admin_id, notify.K.ACCOUNT_DEACTIVATED) for admin_id in deactivated]
    if told:
        asking = any(kind in notice_text.ASK_ANSWER for _user, kind in told)
        facts = await notice_text.gather(uow.session, row, dropped_starts_at=_dropped(events),
                                         with_conflicts=asking)
        for user_id, kind in told:
            written.notifications.append(await notify.notify(uow, user_id=user_id, kind=kind, session=row,
                                                             now=now, facts=facts))
    await sync_holds(uow, row, session, actor)
    return written


def _timeline(uow: UnitOfWork, row: m.Session, event: ev.TimelineRecorded, now: datetime) -> m.TimelineEvent:
    entry = m.TimelineEvent(
        session_id=row.id, type=event.type, actor_role=event.actor.role if event.actor else None,
        actor_user_id=event.actor.user_id if event.actor else None, at=now, from_status=event.from_status,
        to_status=event.to_status, reason=event.reason, note=event.note,
        previous_starts_at=event.previous_starts_at, new_starts_at=event.new_starts_at, credits=event.credits,
    )
    uow.session.add(entry)
    return entry


async def _move_funds(uow: UnitOfWork, row: m.Session, member: m.Member, event: ev.FundsMoved,
                      now: datetime) -> None:
    """The one place a session's outcome moves money: the wallet's credits by `wallet.record` (the `Funds` rule),
    a sponsorship's minutes here. A PACKAGE session's hold, return and capture move nothing (its place is the
    session's own state, domain/packages.py); a refund of its credits is tied to the package as well."""
    move = event.move
    if move.sponsored_minutes:
        await _move_minutes(uow, row, move.kind, move.sponsored_minutes)
    wallet.record(uow, member, move, now=now, session_id=row.id,
                  sponsorship_id=row.sponsorship_id if move.sponsored_minutes else None,
                  package_id=row.package_id if event.funding is Funding.PACKAGE else None)


async def _move_minutes(uow: UnitOfWork, row: m.Session, kind: LedgerEntryKind, minutes: int) -> None:
    """Sponsored minutes held or captured count as used; released or refunded ones come back."""
    if row.sponsorship_id is None:
        raise RuntimeError("a sponsored session without its sponsorship")
    sponsorship = await uow.session.get(m.Sponsorship, row.sponsorship_id, with_for_update=True)
    assert sponsorship is not None
    delta = {LedgerEntryKind.HOLD: minutes, LedgerEntryKind.RELEASE: -minutes,
             LedgerEntryKind.CAPTURE: 0, LedgerEntryKind.REFUND: -minutes}[kind]
    if sponsorship.minutes_used + delta > sponsorship.minutes_granted:
        remaining = sponsorship.minutes_granted - sponsorship.minutes_used
        raise InsufficientFunds("the sponsorship no longer covers this session", required=minutes,
                                available=remaining)
    sponsorship.minutes_used += delta


def _video(uow: UnitOfWork, deps: Deps, row: m.Session, event: ev.VideoRoomRequested, now: datetime
           ) -> list[m.TimelineEvent]:
    video = deps.video
    assert video is not None
    if event.action == "create":
        row.video_room_url = video.create_room(row.id)
        kind = TimelineEventType.VIDEO_ROOM_CREATED
    elif event.action == "move" and row.video_room_url:
        row.video_room_url = video.move_room(row.id, row.video_room_url)
        return []
    elif event.action == "cancel" and row.video_room_url:
        video.cancel_room(row.id, row.video_room_url)
        row.video_room_url = None
        kind = TimelineEventType.VIDEO_ROOM_CANCELLED
    else:
        return []
    return [_timeline(uow, row, ev.TimelineRecorded(kind, None), now)]


def _dropped(events: list[ev.DomainEvent]) -> datetime | None:
    """The start of the proposal a rejection, withdrawal or lapse dropped (its timeline event names it)."""
    dropping = (TimelineEventType.NEW_TIME_REJECTED, TimelineEventType.NEW_TIME_WITHDRAWN, TimelineEventType.EXPIRED)
    for event in events:
        if isinstance(event, ev.TimelineRecorded) and event.type in dropping and event.new_starts_at is not None:
            return event.new_starts_at
    return None


async def _reliability(uow: UnitOfWork, deps: Deps, provider: m.Provider, events: list[ev.DomainEvent]
                       ) -> list[uuid.UUID]:
    """Update the provider's figures; the admins to tell of an automatic deactivation (told by the caller)."""
    figures = ProviderReliability(
        consecutive_cancellations=provider.consecutive_cancellations, late_cancellations=provider.late_cancellations,
        flagged=provider.flagged, response_count=provider.response_count,
        response_minutes_total=float(provider.response_minutes_total), late_responses=provider.late_responses,
    )
    admins: list[uuid.UUID] = []
    index = 0
    while index < len(events):  # record_cancellation may append follow-up events; they are handled too
        event = events[index]
        index += 1
        if isinstance(event, ev.ProviderCancelled):
            events.extend(figures.record_cancellation(late=event.late, policy=deps.policy))
        elif isinstance(event, ev.ProviderResponded):
            figures.record_response(minutes=event.minutes, policy=deps.policy, late=event.late)
        elif isinstance(event, ev.SessionCompleted):
            figures.record_completed()
        elif isinstance(event, ev.ProviderDeactivationRequested):
            provider.visibility = ProviderVisibility.DEACTIVATED
            admins = await notify.admin_user_ids(uow)
    provider.consecutive_cancellations = figures.consecutive_cancellations
    provider.late_cancellations = figures.late_cancellations
    provider.flagged = figures.flagged
    provider.response_count = figures.response_count
    provider.response_minutes_total = round(figures.response_minutes_total, 2)
    provider.late_responses = figures.late_responses
    provider.rank_response_seconds = rank_response_seconds(provider.response_count, provider.response_minutes_total)
    return admins


async def overlapping_holds(uow: UnitOfWork, *, session: Session, intervals: list[Interval]
                            ) -> list[tuple[Party, Interval]]:
    """Other sessions' holds of the session's member or provider that overlap one of `intervals`, whose they
    are (a hold of both counts for both), by start: one statement for the whole transition."""
    if not intervals:
        return []
    H = m.SlotHold
    overlaps = or_(*(and_(H.starts_at < each.ends_at, H.ends_at > each.starts_at) for each in intervals))
    rows = (await uow.session.execute(
        select(H.provider_id, H.member_id, H.starts_at, H.ends_at).where(
            H.session_id != session.id, or_(H.member_id == session.member_id, H.provider_id == session.provider_id),
            overlaps).order_by(H.starts_at))).all()
    found: list[tuple[Party, Interval]] = []
    for r in rows:
        hold = Interval(starts_at=r.starts_at, ends_at=r.ends_at)
        found += [(party, hold) for party, mine in ((Party.PROVIDER, r.provider_id == session.provider_id),
                                                    (Party.MEMBER, r.member_id == session.member_id)) if mine]
    return found


async def sync_holds(uow: UnitOfWork, row: m.Session, session: Session, actor: Actor | None) -> None:
    """Make the session's slot holds match its state; overlaps are refused before the constraint sees them."""
    wanted = session.held_intervals()
    mine = actor.party_of(session) if actor is not None else None
    taken = await overlapping_holds(uow, session=session, intervals=[interval for _kind, interval in wanted])
    for _kind, interval in wanted:
        for party in (Party.PROVIDER, Party.MEMBER):
            found = [hold for whose, hold in taken if whose is party
                     and hold.starts_at < interval.ends_at and hold.ends_at > interval.starts_at]
            if not found:
                continue
            if mine is None or mine is party:
                whose = "your" if mine is party else f"the {party.value.lower()}'s"
                raise ScheduleConflict(f"this time overlaps {whose} other sessions", conflicts=found,
                                       field="startsAt")
            raise SlotUnavailable(f"the {party.value.lower()} is not free at this time", field="startsAt")
    await uow.session.execute(delete(m.SlotHold).where(m.SlotHold.session_id == row.id))
    uow.session.add_all(
        m.SlotHold(session_id=row.id, kind=kind, provider_id=row.provider_id, member_id=row.member_id,
                   starts_at=interval.starts_at, ends_at=interval.ends_at)
        for kind, interval in wanted
    )
    try:
        await uow.session.flush()
    except IntegrityError as exc:
        if not is_overlap_violation(exc):
            raise
        raise SlotUnavailable("another booking took this time a moment ago", field="startsAt") from exc


def is_overlap_violation(exc: IntegrityError) -> bool:
    """PostgreSQL's exclusion_violation (23P01) on a slot_holds overlap constraint: a race lost, not a bug."""
    original = exc.orig
    code = getattr(original, "sqlstate", None) or getattr(original, "pgcode", None)
    return code == "23P01" or "ex_slot_holds_" in str(original)

