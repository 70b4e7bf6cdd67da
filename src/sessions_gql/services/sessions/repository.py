"""The SQL of a session's transitions: load and lock what a transition reads in one statement, and write what
it changed (`domain.changes.Changes`) with Core statements, append-only rows as multi-row inserts.

Reads: one statement locks the session, its provider and its member (that order, the order of every
transition) and brings the parties' users, the service and the pair's conversation along. Writes: the session
row's changed columns, the balances, one insert per kind of appended row (timeline, ledger, notifications,
emails, messages, outbox), and slot holds and jobs only when the state calls for other ones.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, insert, or_, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import aliased

from sessions_gql.auth.viewer import Viewer
from sessions_gql.db import models as m
from sessions_gql.db.loaders import Loaders
from sessions_gql.db.types import uuid7
from sessions_gql.db.uow import UnitOfWork
from sessions_gql.domain import events as ev
from sessions_gql.domain.actors import Actor
from sessions_gql.domain.changes import SESSION_JOB_KINDS, Changes
from sessions_gql.domain.credits import Funds, LedgerMove
from sessions_gql.domain.enums import (
    Funding,
    Modality,
    NotificationKind,
    Party,
    ProviderVisibility,
    Role,
    TimelineEventType,
)
from sessions_gql.domain.errors import Interval, NotFound, ScheduleConflict, SlotUnavailable, StaleVersion
from sessions_gql.domain.reliability import ProviderReliability, rank_response_seconds
from sessions_gql.domain.session import Session
from sessions_gql.services import conflicts, notice_text, notify, outbox, visibility
from sessions_gql.services.booking_messages import describe
from sessions_gql.services.deps import Deps
from sessions_gql.services.session_store import columns, to_domain, write_back

MU, PU = aliased(m.User, name="member_user"), aliased(m.User, name="provider_user")
FIGURES = ("consecutive_cancellations", "late_cancellations", "flagged", "response_count", "response_minutes_total",
           "late_responses", "rank_response_seconds", "visibility")


@dataclass
class Parties:
    """The session's provider and member, locked, with their users and the pair's conversation (if any)."""

    provider: m.Provider
    member: m.Member
    provider_user: m.User
    member_user: m.User
    conversation_id: uuid.UUID | None


@dataclass
class Loaded:
    """A session as a transition found it (`before`, `row`) and the entity the domain changes (`session`)."""

    row: m.Session
    before: Session | None
    session: Session
    parties: Parties
    service: m.Service


@dataclass
class Saved:
    timeline_ids: list[int] = field(default_factory=list)
    notification_ids: list[int] = field(default_factory=list)
    message_ids: list[int] = field(default_factory=list)


def _detached(uow: UnitOfWork, *rows: Any) -> None:
    """The loaded rows become plain records: what changes is written by statements, never by a flush."""
    for row in rows:
        if row is not None and row in uow.session:
            uow.session.expunge(row)


class SessionRepository:
    def __init__(self, uow: UnitOfWork, deps: Deps) -> None:
        self.uow, self.deps = uow, deps

    async def _conn(self) -> AsyncConnection:
        return await self.uow.session.connection()

    # ------------------------------------------------------------------ reads

    async def lock(self, session_id: uuid.UUID, *, viewer: Viewer | None, expected_version: int | None) -> Loaded:
        """The session, its provider and its member locked (NOT_FOUND for sessions the viewer is not party to),
        checked against `expected_version`."""
        S, P, M = m.Session, m.Provider, m.Member
        query = (
            select(S, P, M, MU, PU, m.Service, m.Conversation.id)
            .join(P, P.id == S.provider_id).join(M, M.id == S.member_id)
            .join(MU, MU.id == M.user_id).join(PU, PU.id == P.user_id).join(m.Service, m.Service.id == S.service_id)
            .outerjoin(m.Conversation, and_(m.Conversation.member_id == S.member_id,
                                            m.Conversation.provider_id == S.provider_id))
            .where(S.id == session_id).with_for_update(of=[S, P, M])
            .execution_options(populate_existing=True)
        )
        found = (await self.uow.session.execute(query)).first()
        row = found[0] if found is not None else None
        visible = row is not None and (viewer is None or viewer.is_admin or row.member_id == viewer.member_id
                                       or row.provider_id == viewer.provider_id)
        if found is None or row is None or not visible:
            raise NotFound("no such session", field="sessionId")
        _, provider, member, member_user, provider_user, service, conversation_id = found
        _detached(self.uow, row, provider, member, member_user, provider_user, service)
        if expected_version is not None and expected_version != row.version:
            raise StaleVersion(f"the session changed: it is at version {row.version}, not {expected_version}",
                               field="expectedVersion")
        parties = Parties(provider=provider, member=member, provider_user=provider_user, member_user=member_user,
                          conversation_id=conversation_id)
        return Loaded(row=row, before=to_domain(row), session=to_domain(row), parties=parties, service=service)

    async def lock_parties(self, *, provider_id: uuid.UUID, member_id: uuid.UUID) -> Parties | None:
        """The provider, then the member, locked (the order of every booking), with their users; None when
        either is missing."""
        P, M, C = m.Provider, m.Member, m.Conversation
        query = (
            select(P, M, PU, MU, C.id)
            .join(PU, PU.id == P.user_id).join(M, M.id == member_id).join(MU, MU.id == M.user_id)
            .outerjoin(C, and_(C.member_id == M.id, C.provider_id == P.id))
            .where(P.id == provider_id).with_for_update(of=[P, M])
            .execution_options(populate_existing=True)
        )
        found = (await self.uow.session.execute(query)).first()
        if found is None:
            return None
        provider, member, provider_user, member_user, conversation_id = found
        _detached(self.uow, provider, member, provider_user, member_user)
        return Parties(provider=provider, member=member, provider_user=provider_user, member_user=member_user,
                       conversation_id=conversation_id)

    # ------------------------------------------------------------------ writes

    async def add(self, session: Session, events: list[ev.DomainEvent], *, parties: Parties, service: m.Service,
                  sponsorship_id: uuid.UUID | None, actor: Actor | None, now: datetime) -> Saved:
        """A new session (request or proposal) and everything its first events write."""
        row = m.Session(id=session.id, updated_at=now, sponsorship_id=sponsorship_id, video_room_url=None)
        loaded = Loaded(row=row, before=None, session=session, parties=parties, service=service)
        timeline, video = self._timeline(loaded, events, now)
        write_back(session, row)
        row.video_room_url = video.get("video_room_url")
        await (await self._conn()).execute(insert(m.Session), [{
            **columns(session), "id": session.id, "sponsorship_id": sponsorship_id, "updated_at": now,
            "video_room_url": row.video_room_url}])
        return await self._write(loaded, events, timeline, actor=actor, now=now, keep_job=None)

    async def save(self, loaded: Loaded, events: list[ev.DomainEvent], *, actor: Actor | None, now: datetime,
                   keep_job: int | None = None, sponsorship_id: uuid.UUID | None = None) -> Saved:
        """Write what the transition changed. `keep_job`: the job running this transition (the scheduler
        marks it done), never dropped as no longer wanted; `sponsorship_id`: the sponsorship a confirmation
        chose to pay with."""
        changed = {name: value for name, value in columns(loaded.session).items()
                   if value != getattr(loaded.row, name)}
        if sponsorship_id is not None:
            loaded.row.sponsorship_id = changed["sponsorship_id"] = sponsorship_id
        timeline, video = self._timeline(loaded, events, now)
        write_back(loaded.session, loaded.row)
        for name, value in video.items():
            setattr(loaded.row, name, value)
        await (await self._conn()).execute(update(m.Session).where(m.Session.id == loaded.row.id).values(
            **changed, **video, updated_at=now))
        return await self._write(loaded, events, timeline, actor=actor, now=now, keep_job=keep_job)

    def _timeline(self, loaded: Loaded, events: list[ev.DomainEvent], now: datetime
                  ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """The timeline rows in the order the events happened (a video room made or closed is one too), and the
        video room's new address if a request changed it."""
        video, session_id = self.deps.video, loaded.row.id
        url, changed = loaded.row.video_room_url, False
        rows: list[dict[str, Any]] = []
        for event in events:
            if isinstance(event, ev.TimelineRecorded):
                rows.append(_timeline_row(session_id, event, now))
                continue
            if not isinstance(event, ev.VideoRoomRequested):
                continue
            assert video is not None
            if event.action == "create":
                url, changed = video.create_room(session_id), True
                rows.append(_timeline_row(session_id, ev.TimelineRecorded(TimelineEventType.VIDEO_ROOM_CREATED,
                                                                          None), now))
            elif event.action == "move" and url:
                url, changed = video.move_room(session_id, url), True
            elif event.action == "cancel" and url:
                video.cancel_room(session_id, url)
                url, changed = None, True
                rows.append(_timeline_row(session_id, ev.TimelineRecorded(TimelineEventType.VIDEO_ROOM_CANCELLED,
                                                                          None), now))
        return rows, ({"video_room_url": url} if changed else {})

    async def _write(self, loaded: Loaded, events: list[ev.DomainEvent], timeline: list[dict[str, Any]], *,
                     actor: Actor | None, now: datetime, keep_job: int | None) -> Saved:
        policy, row, parties = self.deps.policy, loaded.row, loaded.parties
        conn = await self._conn()
        provider = parties.provider
        figures = ProviderReliability(
            consecutive_cancellations=provider.consecutive_cancellations,
            late_cancellations=provider.late_cancellations, flagged=provider.flagged,
            response_count=provider.response_count, response_minutes_total=float(provider.response_minutes_total),
            late_responses=provider.late_responses)
        changes = Changes.of(before=loaded.before, after=loaded.session, events=events, policy=policy, now=now,
                             figures=figures)
        ledger = await self._money(loaded, changes.moves, now)  # refused whole before anything is written
        if changes.holds is not None:
            await self._holds(conn, loaded, changes.holds, actor)
        saved = Saved()
        saved.timeline_ids = await _insert_ids(conn, m.TimelineEvent, timeline)
        if ledger:
            await conn.execute(insert(m.LedgerEntry), ledger)
        admins = await self._reliability(conn, parties.provider, changes)
        saved.notification_ids = await self._notices(conn, loaded, changes, admins, now)
        if changes.jobs_changed:
            await self._jobs(conn, loaded.session.id, changes.jobs, now, keep_job)
        saved.message_ids = await self._messages(conn, loaded, changes, now)
        users = {parties.member_user.id, parties.provider_user.id, *admins}
        channels = [outbox.session_channel(row.id), *(outbox.user_channel(user) for user in users)]
        if saved.message_ids:
            channels.append(outbox.conversation_channel(parties.conversation_id))
        await conn.execute(insert(m.OutboxEvent), [outbox.row(
            channels=channels, now=now, timeline=saved.timeline_ids, notifications=saved.notification_ids,
            messages=saved.message_ids)])
        return saved

    async def _money(self, loaded: Loaded, moves: list[ev.FundsMoved], now: datetime) -> list[dict[str, Any]]:
        """The balances after the moves, by the one money rule (`Funds`: a move is refused whole when a balance
        would go negative), and the ledger rows; credits are the member's, sponsored minutes the sponsorship's."""
        if not moves:
            return []
        member, row = loaded.parties.member, loaded.row
        wallet = Funds(available_credits=member.available_credits, held_credits=member.held_credits)
        minutes: Funds | None = None
        sponsorship: m.Sponsorship | None = None
        entries: list[dict[str, Any]] = []
        for moved in moves:
            move = moved.move
            if move.sponsored_minutes:
                if sponsorship is None:
                    sponsorship = await self._sponsorship(row.sponsorship_id)
                    held = loaded.before.held_sponsored_minutes if loaded.before is not None else 0
                    minutes = Funds.of_sponsorship(granted=sponsorship.minutes_granted,
                                                   used=sponsorship.minutes_used, held=held)
                assert minutes is not None
                minutes.apply(LedgerMove(move.kind, 0, move.sponsored_minutes, move.note))
            wallet.apply(LedgerMove(move.kind, move.credits, 0, move.note, from_available=move.from_available))
            entries.append({"member_id": member.id, "kind": move.kind, "credits": move.credits,
                            "sponsored_minutes": move.sponsored_minutes, "session_id": row.id,
                            "sponsorship_id": row.sponsorship_id if move.sponsored_minutes else None,
                            "package_id": row.package_id if moved.funding is Funding.PACKAGE else None,
                            "note": move.note, "at": now})
        conn = await self._conn()
        if (wallet.available_credits, wallet.held_credits) != (member.available_credits, member.held_credits):
            member.available_credits, member.held_credits = wallet.available_credits, wallet.held_credits
            await conn.execute(update(m.Member).where(m.Member.id == member.id).values(
                available_credits=wallet.available_credits, held_credits=wallet.held_credits))
        if sponsorship is not None and minutes is not None:
            await conn.execute(update(m.Sponsorship).where(m.Sponsorship.id == sponsorship.id).values(
                minutes_used=sponsorship.minutes_granted - minutes.available_minutes))
        return entries

    async def _sponsorship(self, sponsorship_id: uuid.UUID | None) -> m.Sponsorship:
        if sponsorship_id is None:
            raise RuntimeError("a sponsored session without its sponsorship")
        found = await self.uow.session.get(m.Sponsorship, sponsorship_id, with_for_update=True,
                                           populate_existing=True)
        assert found is not None
        _detached(self.uow, found)
        return found

    async def _holds(self, conn: AsyncConnection, loaded: Loaded, wanted: list[tuple[str, Interval]],
                     actor: Actor | None) -> None:
        """Make the session's slot holds `wanted`; overlaps are refused before the exclusion constraint (the
        guarantee) sees them, in one statement."""
        session = loaded.session
        mine = actor.party_of(session) if actor is not None else None
        taken = await overlapping_holds(conn, session=session, intervals=[interval for _kind, interval in wanted])
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
        if loaded.before is not None and loaded.before.held_intervals():
            await conn.execute(delete(m.SlotHold).where(m.SlotHold.session_id == session.id))
        if not wanted:
            return
        try:
            await conn.execute(insert(m.SlotHold), [
                {"id": uuid7(), "session_id": session.id, "kind": kind, "provider_id": session.provider_id,
                 "member_id": session.member_id, "starts_at": interval.starts_at, "ends_at": interval.ends_at}
                for kind, interval in wanted])
        except IntegrityError as exc:
            if not is_overlap_violation(exc):
                raise
            raise SlotUnavailable("another booking took this time a moment ago", field="startsAt") from exc

    async def _reliability(self, conn: AsyncConnection, provider: m.Provider, changes: Changes) -> list[uuid.UUID]:
        """Write the provider's new figures; the admins to tell of an automatic deactivation."""
        figures = changes.figures
        if figures is None:
            return []
        before = {name: getattr(provider, name) for name in FIGURES}
        provider.consecutive_cancellations = figures.consecutive_cancellations
        provider.late_cancellations = figures.late_cancellations
        provider.flagged = figures.flagged
        provider.response_count = figures.response_count
        provider.response_minutes_total = round(figures.response_minutes_total, 2)
        provider.late_responses = figures.late_responses
        provider.rank_response_seconds = rank_response_seconds(provider.response_count,
                                                               provider.response_minutes_total)
        admins: list[uuid.UUID] = []
        if changes.deactivate:
            provider.visibility = ProviderVisibility.DEACTIVATED
            admins = list((await conn.execute(select(m.User.id).where(m.User.role == Role.ADMIN))).scalars())
        sets = {name: getattr(provider, name) for name in FIGURES if getattr(provider, name) != before[name]}
        if sets:
            await conn.execute(update(m.Provider).where(m.Provider.id == provider.id).values(**sets))
        return admins

    async def _notices(self, conn: AsyncConnection, loaded: Loaded, changes: Changes, admins: list[uuid.UUID],
                       now: datetime) -> list[int]:
        """One in-app notice per party told (and each admin told of a deactivation), with its email unless the
        recipient opted out; worded for the session as it now is."""
        parties = loaded.parties
        told = [(parties.member_user if e.party is Party.MEMBER else parties.provider_user, e.kind)
                for e in changes.notices]
        if admins:
            users = {u.id: u for u in (await self.uow.session.scalars(
                select(m.User).where(m.User.id.in_(admins)))).all()}
            told += [(users[admin], NotificationKind.ACCOUNT_DEACTIVATED) for admin in admins]
        if not told:
            return []
        facts = await self._facts(loaded, changes, asking=any(kind in notice_text.ASK_ANSWER for _u, kind in told))
        notices = [(user, kind, notice_text.compose(kind, recipient=user, facts=facts, now=now, session=loaded.row))
                   for user, kind in told]
        ids = await _insert_ids(conn, m.Notification, [
            notify.notification_row(user_id=user.id, kind=kind, notice=notice, session_id=loaded.row.id, now=now)
            for user, kind, notice in notices])
        emails = [notify.email_row(notification_id=ident, recipient=user, notice=notice, now=now)
                  for ident, (user, kind, notice) in zip(ids, notices, strict=True) if notify.wants_email(user, kind)]
        if emails:
            await conn.execute(insert(m.EmailDelivery), emails)
        return ids

    async def _facts(self, loaded: Loaded, changes: Changes, *, asking: bool) -> notice_text.Facts:
        """What the notices tell: the member's phone to the provider once the member asked for or agreed to a
        session with them (this one shows it without a query), and the provider's conflicts when asked."""
        row, parties = loaded.row, loaded.parties
        db = self.uow.session

        async def same_session() -> Any:
            return db

        loaders = Loaders(same_session)
        phone = None
        if row.modality is Modality.PHONE:
            engaged = loaded.session.approvals.member or (loaded.before is not None
                                                          and loaded.before.approvals.member)
            if not engaged:
                as_provider = Viewer(user_id=parties.provider_user.id, role=Role.PROVIDER,
                                     time_zone=parties.provider_user.time_zone, provider_id=parties.provider.id)
                engaged = await visibility.sees_contact_details(as_provider, row.member_id, loaders)
            phone = parties.member_user.phone if engaged else None
        found = await conflicts.of_session(loaders, row) if asking else []
        return notice_text.Facts(row=row, member=parties.member_user, provider=parties.provider_user,
                                 service=loaded.service.name, member_phone=phone, conflicts=tuple(found),
                                 dropped_starts_at=changes.dropped_starts_at,
                                 streak=parties.provider.consecutive_cancellations)

    async def _jobs(self, conn: AsyncConnection, session_id: uuid.UUID, wanted: list[tuple[str, str, datetime]],
                    now: datetime, keep_job: int | None) -> None:
        """Drop the pending jobs the state no longer calls for, add the new ones; jobs already run are kept."""
        J = m.Job
        dropping = delete(J).where(J.session_id == session_id, J.kind.in_(SESSION_JOB_KINDS), J.done_at.is_(None))
        if wanted:
            dropping = dropping.where(tuple_(J.kind, J.dedupe_key).not_in([(k, key) for k, key, _at in wanted]))
        if keep_job is not None:
            dropping = dropping.where(J.id != keep_job)
        await conn.execute(dropping)
        if not wanted:
            return
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        await conn.execute(dialect.insert(J).on_conflict_do_nothing(), [
            {"kind": kind, "session_id": session_id, "dedupe_key": key, "run_at": at, "payload": {}, "attempts": 0,
             "created_at": now} for kind, key, at in wanted])

    async def _messages(self, conn: AsyncConnection, loaded: Loaded, changes: Changes, now: datetime) -> list[int]:
        """One system message in the pair's conversation per change of the session's status or time."""
        parties, row = loaded.parties, loaded.row
        zones = (parties.member_user.time_zone, parties.provider_user.time_zone)
        texts = [text for event in changes.timeline if isinstance(event, ev.TimelineRecorded)
                 and (text := describe(event, row, zones))]
        if not texts:
            return []
        C = m.Conversation
        if parties.conversation_id is None:  # maybe made while we waited for the locks, after the load's snapshot
            parties.conversation_id = await conn.scalar(select(C.id).where(C.member_id == row.member_id,
                                                                           C.provider_id == row.provider_id))
        if parties.conversation_id is None:  # both parties are locked: nobody else creates it meanwhile
            parties.conversation_id = uuid7()
            await conn.execute(insert(C), [{"id": parties.conversation_id, "member_id": row.member_id,
                                            "provider_id": row.provider_id, "last_message_at": now,
                                            "created_at": now}])
        else:
            await conn.execute(update(C).where(C.id == parties.conversation_id, or_(
                C.last_message_at.is_(None), C.last_message_at < now)).values(last_message_at=now))
        return await _insert_ids(conn, m.Message, [
            {"conversation_id": parties.conversation_id, "sender_user_id": None, "body": text, "session_id": row.id,
             "sent_at": now} for text in texts])


def _timeline_row(session_id: uuid.UUID, event: ev.TimelineRecorded, now: datetime) -> dict[str, Any]:
    return {"session_id": session_id, "type": event.type, "actor_role": event.actor.role if event.actor else None,
            "actor_user_id": event.actor.user_id if event.actor else None, "at": now,
            "from_status": event.from_status, "to_status": event.to_status, "reason": event.reason,
            "note": event.note, "previous_starts_at": event.previous_starts_at, "new_starts_at": event.new_starts_at,
            "credits": event.credits}


async def _insert_ids(conn: AsyncConnection, table: Any, rows: list[dict[str, Any]]) -> list[int]:
    """Insert `rows` in one statement; their ids, in the order given."""
    if not rows:
        return []
    result = await conn.execute(insert(table).returning(table.id, sort_by_parameter_order=True), rows)
    return [ident for (ident,) in result.all()]


async def overlapping_holds(conn: AsyncConnection, *, session: Session, intervals: list[Interval]
                            ) -> list[tuple[Party, Interval]]:
    """Other sessions' holds of the session's member or provider that overlap one of `intervals`, whose they
    are (a hold of both counts for both), by start: one statement for the whole transition."""
    if not intervals:
        return []
    H = m.SlotHold
    overlaps = or_(*(and_(H.starts_at < each.ends_at, H.ends_at > each.starts_at) for each in intervals))
    rows = (await conn.execute(
        select(H.provider_id, H.member_id, H.starts_at, H.ends_at).where(
            H.session_id != session.id, or_(H.member_id == session.member_id, H.provider_id == session.provider_id),
            overlaps).order_by(H.starts_at))).all()
    found: list[tuple[Party, Interval]] = []
    for r in rows:
        hold = Interval(starts_at=r.starts_at, ends_at=r.ends_at)
        found += [(party, hold) for party, mine in ((Party.PROVIDER, r.provider_id == session.provider_id),
                                                    (Party.MEMBER, r.member_id == session.member_id)) if mine]
    return found


def is_overlap_violation(exc: IntegrityError) -> bool:
    """PostgreSQL's exclusion_violation (23P01) on a slot_holds overlap constraint: a race lost, not a bug."""
    original = exc.orig
    code = getattr(original, "sqlstate", None) or getattr(original, "pgcode", None)
    return code == "23P01" or "ex_slot_holds_" in str(original)

