"""Sessions, their timeline and notes as the contract names them, and what session mutations return."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import Private

from sessions_gql.api import ids
from sessions_gql.api.common import Money, Node, PageInfo, Slot, money, page_info, resolver_field
from sessions_gql.api.context import Info
from sessions_gql.api.cursors import encode_cursor, id_cursor, page_size, stream_cursor
from sessions_gql.api.enums import (
    CancellationReason,
    DeclineReason,
    Funding,
    Modality,
    Party,
    PaymentStatus,
    PresenceState,
    Role,
    SessionAction,
    SessionStatus,
    TimelineEventType,
)
from sessions_gql.api.errors import BasicError, InsufficientFundsError, LateCancellationError, ScheduleConflictError
from sessions_gql.api.links import links
from sessions_gql.api.people.types import Member, Provider, Service, User, member_of, provider_of, service_of
from sessions_gql.db import models as m
from sessions_gql.domain.credits import expected_earnings
from sessions_gql.domain.enums import Modality as ModalityEnum
from sessions_gql.domain.enums import Party as PartyEnum
from sessions_gql.domain.enums import PresenceState as PresenceEnum
from sessions_gql.domain.enums import ProviderVisibility
from sessions_gql.domain.enums import SessionStatus as StatusEnum
from sessions_gql.realtime.presence import states as presence_states
from sessions_gql.services import visibility
from sessions_gql.services.people import notes_queries
from sessions_gql.services.sessions import conflicts as busy_time
from sessions_gql.services.sessions.session_store import actor_of, to_domain

if TYPE_CHECKING:
    from sessions_gql.api.messaging.types import Conversation
    from sessions_gql.api.packages.types import Package

ConversationLazy = Annotated["Conversation", strawberry.lazy("sessions_gql.api.messaging.types")]
PackageLazy = Annotated["Package", strawberry.lazy("sessions_gql.api.packages.types")]
VIDEO_VISIBLE_BEFORE = timedelta(minutes=15)


@strawberry.type
class Approvals:
    member: bool
    provider: bool


@strawberry.type
class TimeProposal:
    starts_at: datetime
    ends_at: datetime
    proposed_by: Party
    proposed_at: datetime


@strawberry.type
class Cancellation:
    by: Role
    reason: CancellationReason | None
    note: str | None
    at: datetime
    late: bool


@strawberry.type
class VideoRoom:
    provider: str
    join_url: str


@strawberry.type
class WaitingRoom:
    member: PresenceState
    provider: PresenceState
    member_waiting_since: datetime | None

    @classmethod
    def of(cls, row: m.Session, present: dict[PartyEnum, datetime]) -> WaitingRoom:
        member, provider = presence_states(row.status, present)
        since = present.get(PartyEnum.MEMBER) if member is not PresenceEnum.ABSENT else None
        return cls(member=member, provider=provider, member_waiting_since=since)


@strawberry.type
class Note(Node):
    row: Private[m.Note]
    body: str
    at: datetime

    @classmethod
    def of(cls, row: m.Note) -> Note:
        return cls(id=strawberry.ID(ids.encode("Note", row.id)), row=row, body=row.body, at=row.at)

    @strawberry.field
    async def author(self, info: Info) -> User:
        user = await info.context.loaders.user_by_id.load(self.row.author_user_id)
        assert user is not None
        return User.of(user)

    @strawberry.field
    async def session(self, info: Info) -> Session | None:
        return await load_session(info, self.row.session_id)


@strawberry.type
class TimelineEvent(Node):
    row: Private[m.TimelineEvent]
    type: TimelineEventType
    actor_role: Role | None
    at: datetime
    from_status: SessionStatus | None
    to_status: SessionStatus | None
    reason: str | None
    note: str | None
    previous_starts_at: datetime | None
    new_starts_at: datetime | None
    credits: int | None

    @classmethod
    def of(cls, row: m.TimelineEvent) -> TimelineEvent:
        return cls(
            id=strawberry.ID(ids.encode("TimelineEvent", row.id)), row=row, type=row.type,
            actor_role=row.actor_role, at=row.at, from_status=row.from_status, to_status=row.to_status,
            reason=row.reason, note=row.note, previous_starts_at=row.previous_starts_at,
            new_starts_at=row.new_starts_at, credits=row.credits,
        )

    @resolver_field(description="Resume a subscription after this event.")
    def cursor(self) -> str:
        return stream_cursor(self.row.position, self.row.id)

    @strawberry.field
    async def session(self, info: Info) -> Session:
        found = await load_session(info, self.row.session_id)
        assert found is not None
        return found

    @strawberry.field
    async def actor(self, info: Info) -> User | None:
        if self.row.actor_user_id is None:
            return None
        user = await info.context.loaders.user_by_id.load(self.row.actor_user_id)
        return User.of(user) if user is not None else None


@strawberry.type
class TimelineEventEdge:
    cursor: str
    node: TimelineEvent


@strawberry.type
class TimelineEventConnection:
    edges: list[TimelineEventEdge]
    page_info: PageInfo


@strawberry.type
class Session(Node):
    row: Private[m.Session]
    status: SessionStatus
    skill: str | None
    modality: Modality
    location: str | None
    starts_at: datetime
    ends_at: datetime
    price_credits: int
    funding: Funding | None
    payment_status: PaymentStatus
    refunded_credits: int
    decline_reason: DeclineReason | None
    decline_note: str | None
    no_show_party: Party | None
    member_note: str | None
    member_joined_at: datetime | None
    member_late_minutes: int | None
    started_at: datetime | None
    ended_at: datetime | None
    created_by: Role
    created_at: datetime
    respond_by: datetime | None
    version: int

    @classmethod
    def of(cls, row: m.Session) -> Session:
        return cls(
            id=strawberry.ID(ids.encode("Session", row.id)), row=row, status=row.status, skill=row.skill,
            modality=row.modality, location=row.location, starts_at=row.starts_at, ends_at=row.ends_at,
            price_credits=row.price_credits, funding=row.funding, payment_status=row.payment_status,
            refunded_credits=row.refunded_credits, decline_reason=row.decline_reason,
            decline_note=row.decline_note, no_show_party=row.no_show_party, member_note=row.member_note,
            member_joined_at=row.member_joined_at, member_late_minutes=row.member_late_minutes,
            started_at=row.started_at, ended_at=row.ended_at, created_by=row.created_by,
            created_at=row.created_at, respond_by=row.respond_by, version=row.version,
        )

    @strawberry.field
    async def member(self, info: Info) -> Member:
        return await member_of(info, self.row.member_id, of_session=True)

    @strawberry.field
    async def provider(self, info: Info) -> Provider:
        return await provider_of(info, self.row.provider_id)

    @strawberry.field
    async def service(self, info: Info) -> Service:
        return await service_of(info, self.row.service_id)

    @strawberry.field
    def duration_minutes(self) -> int:
        return int((self.row.ends_at - self.row.starts_at).total_seconds() // 60)

    @resolver_field(description="PHONE sessions, for the provider (and admins): the member's phone, once the member "
                                "has asked for or agreed to a session with this provider.")
    async def phone_number(self, info: Info) -> str | None:
        viewer, loaders = info.context.viewer, info.context.loaders
        if self.row.modality is not ModalityEnum.PHONE:
            return None
        if not visibility.is_provider_or_admin(viewer, self.row.provider_id):
            return None
        if not await visibility.sees_contact_details(viewer, self.row.member_id, loaders):
            return None
        member = await loaders.member_by_id.load(self.row.member_id)
        user = await loaders.user_by_id.load(member.user_id) if member else None
        return user.phone if user else None

    @strawberry.field
    def fee(self) -> Money:
        return money(self.row.fee, self.row.currency)

    @resolver_field(description="The provider and admins.")
    def provider_earnings(self, info: Info) -> Money | None:
        if not visibility.is_provider_or_admin(info.context.viewer, self.row.provider_id):
            return None
        return money(self.row.provider_earnings, self.row.currency)

    @resolver_field(description="The provider and admins: what completing it would earn (the fee minus commission, "
                                "a package session's share, 0 for a free consultation; null until funded).")
    def expected_earnings(self, info: Info) -> Money | None:
        row = self.row
        if not visibility.is_provider_or_admin(info.context.viewer, row.provider_id):
            return None
        amount = expected_earnings(funding=row.funding, fee=row.fee, commission_rate=row.commission_rate,
                                   price_credits=row.price_credits, refunded=row.refunded_credits)
        return money(amount, row.currency) if amount is not None else None

    @resolver_field(description="The package this session was booked from (funding PACKAGE).")
    async def package(self, info: Info) -> PackageLazy | None:
        return await links().session_package(info, self.row)

    @strawberry.field
    def approvals(self) -> Approvals:
        return Approvals(member=self.row.approved_by_member, provider=self.row.approved_by_provider)

    @strawberry.field
    def awaiting_response_from(self) -> Party | None:
        row = self.row
        if row.status is StatusEnum.AWAITING_APPROVAL:
            return Party.PROVIDER if not row.approved_by_provider else Party.MEMBER
        if row.status is StatusEnum.RESCHEDULING and row.proposal_by is not None:
            return Party.PROVIDER if row.proposal_by.value == "MEMBER" else Party.MEMBER
        return None

    @strawberry.field
    def proposal(self) -> TimeProposal | None:
        row = self.row
        if row.proposal_starts_at is None or row.proposal_ends_at is None or row.proposal_by is None:
            return None
        assert row.proposal_at is not None
        return TimeProposal(starts_at=row.proposal_starts_at, ends_at=row.proposal_ends_at,
                            proposed_by=row.proposal_by, proposed_at=row.proposal_at)

    @strawberry.field
    def cancellation(self) -> Cancellation | None:
        row = self.row
        if row.cancelled_by is None or row.cancelled_at is None:
            return None
        return Cancellation(by=row.cancelled_by, reason=row.cancellation_reason, note=row.cancellation_note,
                            at=row.cancelled_at, late=bool(row.cancellation_late))

    @resolver_field(description="The provider's own notes; never shown to the member.")
    async def private_notes(self, info: Info) -> list[Note]:
        return await session_notes(info, self.row)

    @resolver_field(description="Parties only, from 15 minutes before start until the end.")
    def video_room(self, info: Info) -> VideoRoom | None:
        row, viewer = self.row, info.context.viewer
        if row.video_room_url is None or viewer.is_admin:
            return None
        now = info.context.deps.clock.now()
        if not (row.starts_at - VIDEO_VISIBLE_BEFORE <= now < row.ends_at):
            return None
        return VideoRoom(provider="jitsi", join_url=row.video_room_url)

    @resolver_field(description="Who is in the waiting room now (live: the waitingRoom subscription).")
    async def waiting_room(self, info: Info) -> WaitingRoom:
        hub = info.context.deps.hub
        present = await hub.presence.present(self.row.id) if hub is not None else {}
        return WaitingRoom.of(self.row, present)

    @resolver_field(description="What the viewer may do now, by the same rules the mutations enforce.")
    async def allowed_actions(self, info: Info) -> list[SessionAction]:
        return await allowed_actions(info, self.row)

    @resolver_field(description="The member's and provider's conversation, where booking events are posted.")
    async def conversation(self, info: Info) -> ConversationLazy | None:
        return await links().session_conversation(info, self.row)

    @resolver_field(description="The newest timeline event (an addition to the contract), batched per page.")
    async def last_event(self, info: Info) -> TimelineEvent | None:
        row = await info.context.loaders.last_event_by_session_id.load(self.row.id)
        return TimelineEvent.of(row) if row is not None else None

    @strawberry.field
    async def timeline(self, info: Info, first: int | None = 50, after: str | None = None) -> TimelineEventConnection:
        return await timeline_page(info, self.row.id, first=first, after=after)

    @resolver_field(description="The provider and admins (an empty list for anyone else): busy time imported from "
                                "calendars and BLOCKED availability overrides overlapping the session's time, and "
                                "a pending proposal's, for the confirmation dialog.")
    async def conflicts(self, info: Info) -> list[Slot]:
        if not visibility.is_provider_or_admin(info.context.viewer, self.row.provider_id):
            return []
        found = await busy_time.of_session(info.context.loaders, self.row)
        return [Slot(starts_at=each.starts_at, ends_at=each.ends_at) for each in found]


@strawberry.type
class SessionEdge:
    cursor: str
    node: Session


@strawberry.type
class SessionConnection:
    edges: list[SessionEdge]
    page_info: PageInfo
    total_count: int


async def load_session(info: Info, session_id: uuid.UUID | None) -> Session | None:
    """The session if the viewer is party to it (or an admin); otherwise None."""
    if session_id is None:
        return None
    row = await info.context.loaders.session_by_id.load(session_id)
    if row is None or not visibility.can_see_session(info.context.viewer, row):
        return None
    return Session.of(row)


async def timeline_page(info: Info, session_id: uuid.UUID, *, first: int | None, after: str | None
                        ) -> TimelineEventConnection:
    size = page_size(first, maximum=info.context.deps.settings.max_page_size)
    rows, has_next = await notes_queries.timeline_page(await info.context.db(), session_id=session_id,
                                                       first=size, after_id=id_cursor(after, "after"))
    edges = [TimelineEventEdge(cursor=encode_cursor(row.id), node=TimelineEvent.of(row)) for row in rows]
    return TimelineEventConnection(
        edges=edges,
        page_info=page_info([e.cursor for e in edges], has_next=has_next, has_previous=after is not None),
    )


async def session_notes(info: Info, row: m.Session) -> list[Note]:
    """Batched across a page of sessions: one query for all their notes."""
    notes = await info.context.loaders.notes_by_session_id.load(row.id)
    return [Note.of(note) for note in notes_queries.readable_notes(info.context.viewer, notes)]


async def member_notes(info: Info, member_id: uuid.UUID) -> list[Note]:
    notes = await notes_queries.notes_for(await info.context.db(), viewer=info.context.viewer,
                                          member_id=member_id)
    return [Note.of(note) for note in notes]
async def allowed_actions(info: Info, row: m.Session) -> list[SessionAction]:
    deps = info.context.deps
    actor = actor_of(info.context.viewer)
    allowed = to_domain(row).allowed_actions(actor=actor, now=deps.clock.now(), policy=deps.policy)
    provider = await info.context.loaders.provider_by_id.load(row.provider_id)
    assert provider is not None
    by_member = actor.party_of(row) is Party.MEMBER
    return [action for action in allowed if _provider_allows(action, provider.visibility, by_member=by_member)]


def _provider_allows(action: SessionAction, state: ProviderVisibility, *, by_member: bool) -> bool:
    """The provider's state as the mutations check it: confirming a pending session (session_actions.confirm), a
    member's new time (booking.check_bookable), a member's message (messaging._check_may_write)."""
    if action is SessionAction.CONFIRM or (by_member and action is SessionAction.PROPOSE_NEW_TIME):
        return state.takes_new_sessions
    if by_member and action is SessionAction.SEND_MESSAGE:
        return state.profile_visible
    return True


@strawberry.type
class SessionSuccess:
    session_id: Private[uuid.UUID]

    @strawberry.field
    async def session(self, info: Info) -> Session:
        """Read when the response selects it, not after every mutation (a `{ __typename }` answer reads
        nothing back)."""
        found = await load_session(info, self.session_id)
        assert found is not None  # the one who changed it, or an admin
        return found


SessionResult = Annotated[
    SessionSuccess | BasicError | ScheduleConflictError | InsufficientFundsError | LateCancellationError,
    strawberry.union("SessionResult"),
]


@strawberry.type
class NoteSuccess:
    note: Note


NoteResult = Annotated[NoteSuccess | BasicError, strawberry.union("NoteResult")]


@strawberry.type
class PresenceUpdate:
    session: Session
    waiting_room: WaitingRoom
    at: datetime
