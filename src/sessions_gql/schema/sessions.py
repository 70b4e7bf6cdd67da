"""Sessions, their timeline and notes as the contract names them."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import Private

from sessions_gql.db import models as m
from sessions_gql.domain.credits import expected_earnings
from sessions_gql.domain.enums import Modality as ModalityEnum
from sessions_gql.domain.enums import Party as PartyEnum
from sessions_gql.domain.enums import PresenceState as PresenceEnum
from sessions_gql.domain.enums import SessionStatus as StatusEnum
from sessions_gql.realtime.presence import states as presence_states
from sessions_gql.resolvers import ids
from sessions_gql.schema.common import Money, Node, PageInfo, Slot, resolver_field
from sessions_gql.schema.context import Info
from sessions_gql.schema.enums import (
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
    SessionView,
    TimelineEventType,
)
from sessions_gql.schema.people import Member, Provider, Service, User, member_of, money, provider_of
from sessions_gql.services import conflicts as busy_time
from sessions_gql.services import visibility

if TYPE_CHECKING:
    from sessions_gql.schema.messaging import Conversation
    from sessions_gql.schema.packages import Package

ConversationLazy = Annotated["Conversation", strawberry.lazy("sessions_gql.schema.messaging")]
PackageLazy = Annotated["Package", strawberry.lazy("sessions_gql.schema.packages")]
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
        from sessions_gql.resolvers.cursors import encode_cursor

        return encode_cursor(self.row.position if self.row.position is not None else f"i{self.row.id}")

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
        row = await info.context.loaders.service_by_id.load(self.row.service_id)
        assert row is not None
        return Service.of(row)

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
        from sessions_gql.schema.packages import Package

        if self.row.package_id is None:
            return None
        row = await info.context.loaders.package_by_id.load(self.row.package_id)
        return Package.of(row) if row is not None and visibility.sees_package(info.context.viewer, row) else None

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
        from sessions_gql.resolvers.sessions import session_notes

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
        from sessions_gql.resolvers.lifecycle import allowed_actions

        return await allowed_actions(info, self.row)

    @resolver_field(description="The member's and provider's conversation, where booking events are posted.")
    async def conversation(self, info: Info) -> ConversationLazy | None:
        from sessions_gql.resolvers.messaging import session_conversation

        return await session_conversation(info, self.row)

    @resolver_field(description="The newest timeline event (an addition to the contract), batched per page.")
    async def last_event(self, info: Info) -> TimelineEvent | None:
        row = await info.context.loaders.last_event_by_session_id.load(self.row.id)
        return TimelineEvent.of(row) if row is not None else None

    @strawberry.field
    async def timeline(self, info: Info, first: int | None = 50, after: str | None = None) -> TimelineEventConnection:
        from sessions_gql.resolvers.sessions import timeline_page

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


@strawberry.input
class SessionFilter:
    view: SessionView | None = None
    statuses: list[SessionStatus] | None = None
    member_id: strawberry.ID | None = None
    provider_id: strawberry.ID | None = None
    starts_after: datetime | None = None
    starts_before: datetime | None = None
    funding: list[Funding] | None = strawberry.field(
        default=None, description="How the sessions were paid for (any of these); at most one of each value.")


async def load_session(info: Info, session_id: uuid.UUID | None) -> Session | None:
    """The session if the viewer is party to it (or an admin); otherwise None."""
    if session_id is None:
        return None
    row = await info.context.loaders.session_by_id.load(session_id)
    if row is None or not visibility.can_see_session(info.context.viewer, row):
        return None
    return Session.of(row)


async def notes_on_member(info: Info, member_id: uuid.UUID) -> list[Note]:
    from sessions_gql.resolvers.sessions import member_notes

    return await member_notes(info, member_id)

