"""The SQL of a session's transitions: load and lock what a transition reads in one statement, and write what
it changed (`domain.changes.Changes`) with Core statements, append-only rows as multi-row inserts.

Reads: one statement locks the session, its provider and its member (that order, the order of every
transition) and brings the parties' users, the service and the pair's conversation along. Writes: the session
row's changed columns, the balances, one insert per kind of appended row (timeline, ledger, notifications,
emails, messages, outbox), and slot holds and jobs only when the state calls for other ones.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, delete, literal_column, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from sessions_gql.auth.viewer import Viewer
from sessions_gql.db import models as m
from sessions_gql.db.fast import Ids, Writer, records, table_of
from sessions_gql.db.loaders import Loaders
from sessions_gql.db.types import uuid7
from sessions_gql.db.uow import UnitOfWork
from sessions_gql.domain import availability as av
from sessions_gql.domain import events as ev
from sessions_gql.domain.actors import Actor
from sessions_gql.domain.changes import SESSION_JOB_KINDS, Changes
from sessions_gql.domain.credits import Funds, LedgerMove
from sessions_gql.domain.enums import (
    Funding,
    Modality,
    NotificationKind,
    OverrideKind,
    Party,
    ProviderVisibility,
    Role,
    TimelineEventType,
)
from sessions_gql.domain.errors import Interval, NotFound, ScheduleConflict, SlotUnavailable, StaleVersion
from sessions_gql.domain.reliability import ProviderReliability, rank_response_seconds
from sessions_gql.domain.session import Session
from sessions_gql.services import outbox, visibility
from sessions_gql.services.deps import Deps
from sessions_gql.services.messaging import notice_text, notify
from sessions_gql.services.messaging.booking_messages import describe
from sessions_gql.services.people import availability
from sessions_gql.services.sessions import conflicts, funding
from sessions_gql.services.sessions.session_store import columns, to_domain, write_back

MU, PU = aliased(m.User, name="member_user"), aliased(m.User, name="provider_user")
H, J, C = m.SlotHold, m.Job, m.Conversation


def _overlapping(intervals: int) -> Any:
    """Other sessions' holds of a member or a provider that overlap one of `intervals` times (s0/e0, ...)."""
    overlaps = or_(*(and_(H.starts_at < bindparam(f"e{i}", type_=H.ends_at.type),
                          H.ends_at > bindparam(f"s{i}", type_=H.starts_at.type)) for i in range(intervals)))
    return (select(H.provider_id, H.member_id, H.starts_at, H.ends_at)
            .where(H.session_id != bindparam("session"), or_(H.member_id == bindparam("member"),
                                                              H.provider_id == bindparam("provider")), overlaps)
            .order_by(H.starts_at))


_ST, _PT, _MT, _SVT = (table_of(model) for model in (m.Session, m.Provider, m.Member, m.Service))
_MUT, _PUT = table_of(m.User).alias("member_user"), table_of(m.User).alias("provider_user")
_CT = table_of(m.Conversation)
_LOADED = ((m.Session, _ST), (m.Provider, _PT), (m.Member, _MT), (m.User, _MUT), (m.User, _PUT), (m.Service, _SVT))
LOCK_SESSION = (
    select(*(column for _model, table in _LOADED for column in table.c), _CT.c.id, _CT.c.last_message_at)
    .select_from(_ST.join(_PT, _PT.c.id == _ST.c.provider_id).join(_MT, _MT.c.id == _ST.c.member_id)
                 .join(_MUT, _MUT.c.id == _MT.c.user_id).join(_PUT, _PUT.c.id == _PT.c.user_id)
                 .join(_SVT, _SVT.c.id == _ST.c.service_id)
                 .outerjoin(_CT, and_(_CT.c.member_id == _ST.c.member_id, _CT.c.provider_id == _ST.c.provider_id)))
    .where(_ST.c.id == bindparam("session")).with_for_update(of=[_ST, _PT, _MT])
)
"""The session, its provider and its member locked in that order (the order of every transition), with both
parties' users, the service and the pair's conversation: what a transition reads, in one statement."""
LOCK_BOOKING = (
    select(*_SVT.c, *_PT.c, *_MT.c, *_PUT.c, *_MUT.c, _CT.c.id, _CT.c.last_message_at)
    .select_from(_SVT.join(_PT, _PT.c.id == _SVT.c.provider_id).join(_PUT, _PUT.c.id == _PT.c.user_id)
                 .join(_MT, _MT.c.id == bindparam("member")).join(_MUT, _MUT.c.id == _MT.c.user_id)
                 .outerjoin(_CT, and_(_CT.c.member_id == _MT.c.id, _CT.c.provider_id == _PT.c.id)))
    .where(_SVT.c.id == bindparam("service"))
    .suffix_with("FOR SHARE OF services FOR UPDATE OF providers, members", dialect="postgresql")
)
"""What a booking reads, in one statement: the service FOR SHARE (`archiveService`, FOR UPDATE, waits for
bookings in flight, and a booking after it sees it), then its provider and the member FOR UPDATE (the order of
every booking), with their users and the pair's conversation."""
_BOOKING = ((m.Service, _SVT), (m.Provider, _PT), (m.Member, _MT), (m.User, _PUT), (m.User, _MUT))
SESSION_ROW = select(*_ST.c).where(_ST.c.id == bindparam("session"))
SERVICE = select(*_SVT.c).where(_SVT.c.id == bindparam("service"))
_RT, _OT = table_of(m.AvailabilityRule), table_of(m.AvailabilityOverride)
RULES = select(*_RT.c).where(_RT.c.provider_id == bindparam("provider"))
OVERRIDES_NEAR = select(*_OT.c).where(_OT.c.provider_id == bindparam("provider"),
                                      _OT.c.ends_at > bindparam("from", type_=_OT.c.ends_at.type),
                                      _OT.c.starts_at < bindparam("to", type_=_OT.c.starts_at.type))
HELD_NEAR = (select(H.starts_at, H.ends_at)
             .where(H.provider_id == bindparam("provider"), H.ends_at > bindparam("from", type_=H.ends_at.type),
                    H.starts_at < bindparam("to", type_=H.starts_at.type)).order_by(H.starts_at))
HELD_NEAR_BUT = HELD_NEAR.where(H.session_id != bindparam("except"))
"""The times the provider's sessions hold near a window (but one session's own)."""
BLOCKED_DURING = {count: select(_OT.c.id, _OT.c.starts_at, _OT.c.ends_at).where(
    _OT.c.provider_id == bindparam("provider"), _OT.c.kind == OverrideKind.BLOCKED,
    or_(*(and_(_OT.c.starts_at < bindparam(f"e{i}", type_=_OT.c.starts_at.type),
               _OT.c.ends_at > bindparam(f"s{i}", type_=_OT.c.ends_at.type)) for i in range(count))))
    for count in (1, 2)}
"""The provider's BLOCKED overrides (imported busy time included) overlapping a session's time or its proposal."""
OVERLAPPING = {count: _overlapping(count) for count in (1, 2)}  # a session holds its time and a proposed one
FREE_HOLDS = delete(H).where(H.session_id == bindparam("session"))
_PENDING = and_(J.session_id == bindparam("session"), J.done_at.is_(None), J.id != bindparam("keep"))
DROP_JOB = delete(J).where(_PENDING, J.kind == bindparam("kind"), J.dedupe_key == bindparam("key"))
DROP_SESSION_JOBS = delete(J).where(_PENDING, J.kind.in_([literal_column(f"'{kind}'") for kind in SESSION_JOB_KINDS]))
TOUCH_CONVERSATION = update(C).where(C.id == bindparam("conversation"), or_(
    C.last_message_at.is_(None), C.last_message_at < bindparam("now"))).values(last_message_at=bindparam("at"))
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
    last_message_at: datetime | None = None


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
        self._writer: Writer | None = None

    async def writer(self) -> Writer:
        """The unit of work's connection (one per transaction), and the writer on it."""
        if self._writer is None:
            self._writer = Writer(await self.uow.session.connection())
        return self._writer

    # ------------------------------------------------------------------ reads

    async def lock(self, session_id: uuid.UUID, *, viewer: Viewer | None, expected_version: int | None) -> Loaded:
        """The session, its provider and its member locked (NOT_FOUND for sessions the viewer is not party to),
        checked against `expected_version`."""
        found = await (await self.writer()).fetch_typed(LOCK_SESSION, {"session": session_id})
        loaded = _split(found[0]) if found else None
        row = loaded[0] if loaded is not None else None
        visible = row is not None and (viewer is None or viewer.is_admin or row.member_id == viewer.member_id
                                       or row.provider_id == viewer.provider_id)
        if loaded is None or row is None or not visible:
            raise NotFound("no such session", field="sessionId")
        _, provider, member, member_user, provider_user, service, (conversation_id, last_message_at) = loaded
        if expected_version is not None and expected_version != row.version:
            raise StaleVersion(f"the session changed: it is at version {row.version}, not {expected_version}",
                               field="expectedVersion")
        parties = Parties(provider=provider, member=member, provider_user=provider_user, member_user=member_user,
                          conversation_id=conversation_id, last_message_at=last_message_at)
        return Loaded(row=row, before=to_domain(row), session=to_domain(row), parties=parties, service=service)

    async def lock_booking(self, *, service_id: uuid.UUID, provider_id: uuid.UUID | None, member_id: uuid.UUID
                           ) -> tuple[m.Service, Parties | None]:
        """The service to book, its provider and the member, locked (LOCK_BOOKING); NOT_FOUND for a service that
        is missing or not `provider_id`'s (when given); no parties when the member is missing (the caller checks
        the offer first, as before the two reads were one)."""
        writer = await self.writer()
        found = await writer.fetch_typed(LOCK_BOOKING, {"service": service_id, "member": member_id})
        if found:
            service, provider, member, provider_user, member_user, (conversation_id, last_message_at) = _split(
                found[0], _BOOKING)
        else:  # which one is missing
            services = await writer.fetch_typed(SERVICE, {"service": service_id})
            service = records(m.Service, services[0]) if services else None
        if service is None or (provider_id is not None and service.provider_id != provider_id):
            raise NotFound("no such service for this provider", field="serviceId")
        if not found:
            return service, None
        return service, Parties(provider=provider, member=member, provider_user=provider_user,
                                member_user=member_user, conversation_id=conversation_id,
                                last_message_at=last_message_at)

    async def stored(self, session_id: uuid.UUID) -> m.Session:
        """The session's row as this transaction wrote it (a plain record, in no ORM session)."""
        (found,) = await (await self.writer()).fetch_typed(SESSION_ROW, {"session": session_id})
        row: m.Session = records(m.Session, found)
        return row

    async def bookability(self, provider: m.Provider, *, near: Interval, except_session: uuid.UUID | None
                          ) -> tuple[av.AvailabilityPolicy, list[Interval]]:
        """The provider's availability around `near` (a day either side) and the times other sessions hold."""
        writer = await self.writer()
        window: dict[str, Any] = {"provider": provider.id, "from": near.starts_at - timedelta(days=1),
                  "to": near.ends_at + timedelta(days=1)}
        rules, overrides, held = await writer.fetch_each([
            (RULES, {"provider": provider.id}), (OVERRIDES_NEAR, window),
            (HELD_NEAR, window) if except_session is None else (HELD_NEAR_BUT, {**window, "except": except_session})])
        policy = availability.policy_from(provider, [records(m.AvailabilityRule, r) for r in rules],
                                          [records(m.AvailabilityOverride, r) for r in overrides])
        return policy, [Interval(starts_at=starts_at, ends_at=ends_at) for starts_at, ends_at in held]

    async def funding_to_confirm(self, loaded: Loaded, *, now: datetime) -> tuple[Funding | None, uuid.UUID | None]:
        """What pays when the session is confirmed: nothing new unless it still needs funding (a proposal, or the
        provider accepting a member's counter-offer to one); then the funding and the sponsorship it draws on."""
        session = loaded.session
        if not session.needs_funding:
            return None, None
        return await funding.fund(await self.writer(), member=loaded.parties.member, provider_id=session.provider_id,
                                  service=loaded.service, duration_minutes=session.duration_minutes,
                                  price_credits=session.price_credits, now=now, session_id=session.id)

    # ------------------------------------------------------------------ writes

    async def add(self, session: Session, events: list[ev.DomainEvent], *, parties: Parties, service: m.Service,
                  sponsorship_id: uuid.UUID | None, actor: Actor | None, now: datetime) -> Saved:
        """A new session (request or proposal) and everything its first events write."""
        row = m.Session(id=session.id, updated_at=now, sponsorship_id=sponsorship_id, video_room_url=None)
        loaded = Loaded(row=row, before=None, session=session, parties=parties, service=service)
        timeline, video = self._timeline(loaded, events, now)
        write_back(session, row)
        row.video_room_url = video.get("video_room_url")
        await (await self.writer()).defer_insert(table_of(m.Session), [{
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
        for name, value in {**changed, **video}.items():  # the row as written (the rest is as loaded)
            setattr(loaded.row, name, value)
        await (await self.writer()).defer_update(table_of(m.Session), key=("id", loaded.row.id),
                                                    values={**changed, **video, "updated_at": now})
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
        """Everything the transition changed, in two round trips on PostgreSQL: the rows, then those that name
        the ids the first drew (emails name their notices, the outbox names them all) and the new jobs (after
        the dropped ones are gone)."""
        policy, row, parties = self.deps.policy, loaded.row, loaded.parties
        provider = parties.provider
        figures = ProviderReliability(
            consecutive_cancellations=provider.consecutive_cancellations,
            late_cancellations=provider.late_cancellations, flagged=provider.flagged,
            response_count=provider.response_count, response_minutes_total=float(provider.response_minutes_total),
            late_responses=provider.late_responses)
        changes = Changes.of(before=loaded.before, after=loaded.session, events=events, policy=policy, now=now,
                             figures=figures)
        writer = await self.writer()
        taken, blocked = await self._conflicts(loaded, changes)
        with _overlap_is_unavailable():  # the holds are sent with the batch, or with a read before it
            ledger = await self._money(loaded, changes.moves, now)  # refused whole before anything is written
            if changes.holds is not None:
                await self._holds(loaded, changes.holds, actor, taken)
            timeline_ids = await writer.defer_insert(table_of(m.TimelineEvent), timeline, returning=True)
            await writer.defer_insert(table_of(m.LedgerEntry), ledger)
            admins = await self._reliability(parties.provider, changes)
            notices, notice_ids = await self._notices(loaded, changes, admins, blocked, now)
            await self._drop_jobs(loaded.session.id, changes, keep_job)
            message_ids = await self._messages(loaded, changes, now)
            await writer.flush()
        saved = Saved(timeline_ids=timeline_ids.ids, notification_ids=notice_ids.ids, message_ids=message_ids.ids)
        await writer.defer_insert(table_of(m.EmailDelivery), [
            notify.email_row(notification_id=ident, recipient=user, notice=notice, now=now)
            for ident, (user, kind, notice) in zip(saved.notification_ids, notices, strict=True)
            if notify.wants_email(user, kind)])
        await self._add_jobs(loaded.session.id, changes, now)
        users = {parties.member_user.id, parties.provider_user.id, *admins}
        channels = [outbox.session_channel(row.id), *(outbox.user_channel(user) for user in users)]
        if saved.message_ids:
            channels.append(outbox.conversation_channel(parties.conversation_id))
        await writer.defer_insert(table_of(m.OutboxEvent), [outbox.row(
            channels=channels, now=now, timeline=saved.timeline_ids, notifications=saved.notification_ids,
            messages=saved.message_ids)])
        await writer.flush()
        return saved

    async def _read_session(self) -> AsyncSession:
        """The unit of work's ORM session for a read, once the deferred writes are sent (it must see them)."""
        await (await self.writer()).flush()
        return self.uow.session

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
        writer = await self.writer()
        if (wallet.available_credits, wallet.held_credits) != (member.available_credits, member.held_credits):
            member.available_credits, member.held_credits = wallet.available_credits, wallet.held_credits
            await writer.defer_update(table_of(m.Member), key=("id", member.id), values={
                "available_credits": wallet.available_credits, "held_credits": wallet.held_credits})
        if sponsorship is not None and minutes is not None:
            await writer.defer_update(table_of(m.Sponsorship), key=("id", sponsorship.id), values={
                "minutes_used": sponsorship.minutes_granted - minutes.available_minutes})
        return entries

    async def _sponsorship(self, sponsorship_id: uuid.UUID | None) -> m.Sponsorship:
        if sponsorship_id is None:
            raise RuntimeError("a sponsored session without its sponsorship")
        found = await (await self._read_session()).get(m.Sponsorship, sponsorship_id, with_for_update=True,
                                                       populate_existing=True)
        assert found is not None
        _detached(self.uow, found)
        return found

    async def _conflicts(self, loaded: Loaded, changes: Changes
                         ) -> tuple[list[tuple[Party, Interval]], list[Interval]]:
        """What the new state runs into, read in one statement: other sessions' holds of the member or the provider
        overlapping the holds wanted (`overlapping_holds`), and when a notice asks the provider to answer, the
        provider's blocked time during the session's times (`conflicts.of_session`). No transition writes either,
        so the deferred rows need not go first."""
        session, row = loaded.session, loaded.row
        intervals = [interval for _kind, interval in changes.holds or []]
        asking = any(notice.kind in notice_text.ASK_ANSWER for notice in changes.notices)
        reads: list[tuple[Any, dict[str, Any]]] = []
        if intervals:
            reads.append((OVERLAPPING[len(intervals)], {
                "session": session.id, "member": session.member_id, "provider": session.provider_id,
                **_windows((each.starts_at, each.ends_at) for each in intervals)}))
        if asking:
            times = conflicts.spans(row)
            reads.append((BLOCKED_DURING[len(times)], {"provider": row.provider_id, **_windows(times)}))
        found = await (await self.writer()).fetch_each(reads, sees_deferred=False) if reads else []
        taken = overlapping_holds(session, found.pop(0)) if intervals else []
        return taken, conflicts.once_each(found.pop(0)) if asking else []

    async def _holds(self, loaded: Loaded, wanted: list[tuple[str, Interval]], actor: Actor | None,
                     taken: list[tuple[Party, Interval]]) -> None:
        """Make the session's slot holds `wanted`, refusing overlaps with what other sessions hold (`taken`)
        before the exclusion constraint (the guarantee) sees them (a race lost there: `_overlap_is_unavailable`)."""
        session = loaded.session
        mine = actor.party_of(session) if actor is not None else None
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
        writer = await self.writer()
        if loaded.before is not None and loaded.before.held_intervals():
            await writer.defer_run(FREE_HOLDS, {"session": session.id})
        await writer.defer_insert(table_of(m.SlotHold), [
            {"id": uuid7(), "session_id": session.id, "kind": kind, "provider_id": session.provider_id,
             "member_id": session.member_id, "starts_at": interval.starts_at, "ends_at": interval.ends_at}
            for kind, interval in wanted])

    async def _reliability(self, provider: m.Provider, changes: Changes) -> list[uuid.UUID]:
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
            await self._read_session()
            admins = await notify.admin_user_ids(self.uow)
        sets = {name: getattr(provider, name) for name in FIGURES if getattr(provider, name) != before[name]}
        await (await self.writer()).defer_update(table_of(m.Provider), key=("id", provider.id), values=sets)
        return admins

    async def _notices(self, loaded: Loaded, changes: Changes, admins: list[uuid.UUID], blocked: list[Interval],
                       now: datetime) -> tuple[list[tuple[m.User, NotificationKind, notice_text.Notice]], Ids]:
        """One in-app notice per party told (and each admin told of a deactivation), worded for the session as it
        now is; the notices (their emails follow once their ids are known) and their ids, once sent."""
        parties = loaded.parties
        told = [(parties.member_user if e.party is Party.MEMBER else parties.provider_user, e.kind)
                for e in changes.notices]
        if admins:
            users = {u.id: u for u in (await (await self._read_session()).scalars(
                select(m.User).where(m.User.id.in_(admins)))).all()}
            told += [(users[admin], NotificationKind.ACCOUNT_DEACTIVATED) for admin in admins]
        if not told:
            return [], Ids([])
        facts = await self._facts(loaded, changes, blocked)
        notices = [(user, kind, notice_text.compose(kind, recipient=user, facts=facts, now=now, session=loaded.row))
                   for user, kind in told]
        ids = await (await self.writer()).defer_insert(table_of(m.Notification), returning=True, rows=[
            notify.notification_row(user_id=user.id, kind=kind, notice=notice, session_id=loaded.row.id, now=now)
            for user, kind, notice in notices])
        return notices, ids

    async def _facts(self, loaded: Loaded, changes: Changes, blocked: list[Interval]) -> notice_text.Facts:
        """What the notices tell: the member's phone to the provider once the member asked for or agreed to a
        session with them (this one shows it without a query), and the provider's conflicts (`blocked`)."""
        row, parties = loaded.row, loaded.parties

        async def same_session() -> Any:
            return await self._read_session()

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
        return notice_text.Facts(row=row, member=parties.member_user, provider=parties.provider_user,
                                 service=loaded.service.name, member_phone=phone, conflicts=tuple(blocked),
                                 dropped_starts_at=changes.dropped_starts_at,
                                 streak=parties.provider.consecutive_cancellations)

    async def _drop_jobs(self, session_id: uuid.UUID, changes: Changes, keep_job: int | None) -> None:
        """Drop the pending jobs the state no longer calls for; jobs already run are kept. Once the session has
        started, every pending one but the running one is dropped (`_add_jobs` makes the wanted ones again; a
        reminder left over from before is dropped with them)."""
        writer = await self.writer()
        keep = -1 if keep_job is None else keep_job
        if changes.jobs_sweep:
            await writer.defer_run(DROP_SESSION_JOBS, {"session": session_id, "keep": keep})
        for kind, key in changes.jobs_dropped:
            await writer.defer_run(DROP_JOB, {"session": session_id, "keep": keep, "kind": kind, "key": key})

    async def _add_jobs(self, session_id: uuid.UUID, changes: Changes, now: datetime) -> None:
        """The jobs the state now calls for that are not there yet (after `_drop_jobs` was sent)."""
        await (await self.writer()).defer_insert(table_of(J), skip_conflicts=True, rows=[
            {"kind": kind, "session_id": session_id, "dedupe_key": key, "run_at": at, "payload": {}, "attempts": 0,
             "created_at": now} for kind, key, at in changes.jobs_added])

    async def _messages(self, loaded: Loaded, changes: Changes, now: datetime) -> Ids:
        """One system message in the pair's conversation per change of the session's status or time."""
        parties, row = loaded.parties, loaded.row
        zones = (parties.member_user.time_zone, parties.provider_user.time_zone)
        texts = [text for event in changes.timeline if isinstance(event, ev.TimelineRecorded)
                 and (text := describe(event, row, zones))]
        if not texts:
            return Ids([])
        C = m.Conversation
        if parties.conversation_id is None:  # maybe made while we waited for the locks, after the load's snapshot
            db = await self._read_session()
            parties.conversation_id = await db.scalar(select(C.id).where(C.member_id == row.member_id,
                                                                         C.provider_id == row.provider_id))
        writer = await self.writer()
        if parties.conversation_id is None:  # both parties are locked: nobody else creates it meanwhile
            parties.conversation_id, parties.last_message_at = uuid7(), now
            await writer.defer_insert(table_of(C), [{"id": parties.conversation_id, "member_id": row.member_id,
                                               "provider_id": row.provider_id, "last_message_at": now,
                                               "created_at": now}])
        elif parties.last_message_at is None or parties.last_message_at < now:  # as read; a message may be newer
            await writer.defer_run(TOUCH_CONVERSATION, {"conversation": parties.conversation_id, "now": now, "at": now})
        return await writer.defer_insert(table_of(m.Message), returning=True, rows=[
            {"conversation_id": parties.conversation_id, "sender_user_id": None, "body": text, "session_id": row.id,
             "sent_at": now} for text in texts])


def _split(values: tuple[Any, ...], loaded: tuple[tuple[Any, Any], ...] = _LOADED) -> tuple[Any, ...]:
    """One row of LOCK_SESSION (or LOCK_BOOKING) as its records, then the conversation's (id, last message)."""
    out: list[Any] = []
    start = 0
    for model, table in loaded:
        width = len(table.c)
        out.append(records(model, values[start:start + width]))
        start += width
    out.append(values[start:])
    return tuple(out)


def _timeline_row(session_id: uuid.UUID, event: ev.TimelineRecorded, now: datetime) -> dict[str, Any]:
    return {"session_id": session_id, "type": event.type, "actor_role": event.actor.role if event.actor else None,
            "actor_user_id": event.actor.user_id if event.actor else None, "at": now,
            "from_status": event.from_status, "to_status": event.to_status, "reason": event.reason,
            "note": event.note, "previous_starts_at": event.previous_starts_at, "new_starts_at": event.new_starts_at,
            "credits": event.credits}


def _windows(times: Iterable[tuple[datetime, datetime]]) -> dict[str, datetime]:
    """The parameters s0/e0, s1/e1, ... of OVERLAPPING and BLOCKED_DURING."""
    params: dict[str, datetime] = {}
    for i, (starts_at, ends_at) in enumerate(times):
        params |= {f"s{i}": starts_at, f"e{i}": ends_at}
    return params


def overlapping_holds(session: Session, found: list[tuple[Any, ...]]) -> list[tuple[Party, Interval]]:
    """The rows of OVERLAPPING as whose holds they are: the session's provider's, its member's (a hold of both
    counts for both), by start."""
    taken: list[tuple[Party, Interval]] = []
    for provider_id, member_id, starts_at, ends_at in found:
        hold = Interval(starts_at=starts_at, ends_at=ends_at)
        taken += [(party, hold) for party, mine in ((Party.PROVIDER, provider_id == session.provider_id),
                                                    (Party.MEMBER, member_id == session.member_id)) if mine]
    return taken


@contextlib.contextmanager
def _overlap_is_unavailable() -> Iterator[None]:
    """A race lost at the slot holds' exclusion constraint (another booking committed the time between our check
    and our insert) is SLOT_UNAVAILABLE, whichever statement carried the insert."""
    try:
        yield
    except IntegrityError as exc:
        if not is_overlap_violation(exc):
            raise
        raise SlotUnavailable("another booking took this time a moment ago", field="startsAt") from exc


def is_overlap_violation(exc: IntegrityError) -> bool:
    """PostgreSQL's exclusion_violation (23P01) on a slot_holds overlap constraint: a race lost, not a bug."""
    original = exc.orig
    code = getattr(original, "sqlstate", None) or getattr(original, "pgcode", None)
    return code == "23P01" or "ex_slot_holds_" in str(original)

