"""The whole data model. Domain rules live in `domain/`; these are rows."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime, time
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Enum,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    TextClause,
    Time,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy import event as orm_event
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Mapped, mapped_column, relationship

from sessions_gql.db.base import Base as Base  # re-exported: the migrations' env takes the metadata from here
from sessions_gql.db.types import BigId, UTCDateTime, uuid7
from sessions_gql.domain import enums as e
from sessions_gql.domain.reliability import RANK_UNMEASURED


def _enum(cls: type[Any]) -> Enum:
    return Enum(cls, native_enum=False, length=40, validate_strings=True, create_constraint=False)


def _pk() -> Mapped[uuid.UUID]:
    return mapped_column(Uuid, primary_key=True, default=uuid7)


class User(Base):
    __tablename__ = "users"

    id: Mapped[uuid.UUID] = _pk()
    role: Mapped[e.Role] = mapped_column(_enum(e.Role))
    email: Mapped[str] = mapped_column(String(320), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(40))
    time_zone: Mapped[str] = mapped_column(String(64))
    email_preferences: Mapped[dict[str, bool]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Member(Base):
    __tablename__ = "members"
    __table_args__ = (
        CheckConstraint("available_credits >= 0", name="available_not_negative"),
        CheckConstraint("held_credits >= 0", name="held_not_negative"),
    )

    id: Mapped[uuid.UUID] = _pk()
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), unique=True)
    country: Mapped[str | None] = mapped_column(String(2))
    available_credits: Mapped[int] = mapped_column(Integer, default=0)
    held_credits: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Provider(Base):
    __tablename__ = "providers"
    __table_args__ = (Index(None, "visibility", "display_name", "id"),)

    id: Mapped[uuid.UUID] = _pk()
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    bio: Mapped[str | None] = mapped_column(Text)
    time_zone: Mapped[str] = mapped_column(String(64))
    visibility: Mapped[e.ProviderVisibility] = mapped_column(_enum(e.ProviderVisibility))
    commission_rate: Mapped[Decimal] = mapped_column(Numeric(5, 4))
    buffer_minutes: Mapped[int] = mapped_column(Integer, default=0)
    minimum_notice_minutes: Mapped[int] = mapped_column(Integer)
    horizon_days: Mapped[int] = mapped_column(Integer)
    consecutive_cancellations: Mapped[int] = mapped_column(Integer, default=0)
    late_cancellations: Mapped[int] = mapped_column(Integer, default=0)
    flagged: Mapped[bool] = mapped_column(Boolean, default=False)
    response_count: Mapped[int] = mapped_column(Integer, default=0)
    response_minutes_total: Mapped[float] = mapped_column(Numeric(14, 2), default=0)
    late_responses: Mapped[int] = mapped_column(Integer, default=0)
    calendar_token: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # ranking: the average response as a sort key, kept with the figures it comes from (domain/reliability.py)
    rank_response_seconds: Mapped[int] = mapped_column(Integer, default=RANK_UNMEASURED,
                                                       server_default=str(RANK_UNMEASURED))


class Service(Base):
    __tablename__ = "services"
    __table_args__ = (
        CheckConstraint("duration_minutes BETWEEN 15 AND 240 AND duration_minutes % 5 = 0", name="duration"),
        CheckConstraint("price_credits >= 0", name="price_not_negative"),
        CheckConstraint("fee >= 0", name="fee_not_negative"),
    )

    id: Mapped[uuid.UUID] = _pk()
    provider_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("providers.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    skills: Mapped[list[str]] = mapped_column(JSON)
    duration_minutes: Mapped[int] = mapped_column(Integer)
    price_credits: Mapped[int] = mapped_column(Integer)
    fee: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    currency: Mapped[str] = mapped_column(String(3))
    modalities: Mapped[list[str]] = mapped_column(JSON)
    free_initial_consultation: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    packages: Mapped[list[dict[str, int]]] = mapped_column(JSON, default=list, server_default=text("'[]'"))
    """The package offers, [{"sessions": N, "priceCredits": P}] by N (domain/packages.py)."""
    # search: the skills one a line, kept from `skills` on every write (the listener at the end of this file)
    skills_text: Mapped[str] = mapped_column(Text, default="", server_default="")
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)  # retired: no new bookings


class AvailabilityRule(Base):
    __tablename__ = "availability_rules"

    id: Mapped[uuid.UUID] = _pk()
    provider_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("providers.id"), index=True)
    weekday: Mapped[e.Weekday] = mapped_column(_enum(e.Weekday))
    start_time: Mapped[time] = mapped_column(Time)
    end_time: Mapped[time] = mapped_column(Time)


class AvailabilityOverride(Base):
    __tablename__ = "availability_overrides"
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        Index(None, "provider_id", "starts_at"),
    )

    id: Mapped[uuid.UUID] = _pk()
    provider_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("providers.id"))
    kind: Mapped[e.OverrideKind] = mapped_column(_enum(e.OverrideKind))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    note: Mapped[str | None] = mapped_column(String(500))
    source: Mapped[str] = mapped_column(String(16), default="manual")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Sponsorship(Base):
    __tablename__ = "sponsorships"
    __table_args__ = (
        CheckConstraint("minutes_used >= 0 AND minutes_used <= minutes_granted", name="minutes_in_range"),
    )

    id: Mapped[uuid.UUID] = _pk()
    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("members.id"), index=True)
    sponsor: Mapped[str] = mapped_column(String(200))
    minutes_granted: Mapped[int] = mapped_column(Integer)
    minutes_used: Mapped[int] = mapped_column(Integer, default=0)
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


def in_literals(column: str, *values: enum.Enum) -> TextClause:
    """`column IN (...)` with the values written out, not bound: PostgreSQL can then prove that a query implies a
    partial index's predicate even under a generic plan. Only for the enums' own constants, never input."""
    listed = ", ".join(f"'{value.value}'" for value in sorted(values, key=lambda value: value.value))
    return text(f"{column} IN ({listed})")


OPEN_SQL = in_literals("status", *e.OPEN_STATUSES)
FREE_SQL = in_literals("funding", e.Funding.FREE_CONSULTATION)


class Session(Base):
    __tablename__ = "sessions"
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        CheckConstraint("refunded_credits <= captured_credits", name="refund_within_capture"),
        Index(None, "member_id", "starts_at", "id"),
        Index(None, "provider_id", "starts_at", "id"),
        Index(None, "status", "starts_at"),
        # Open sessions are a sliver of a long history: the upcoming and awaiting views, and their counts, read
        # only these (migration 0004, from the W2 growth run).
        Index("ix_sessions_open_by_provider", "provider_id", "starts_at", "id",
              postgresql_where=OPEN_SQL, sqlite_where=OPEN_SQL),
        Index("ix_sessions_open_by_member", "member_id", "starts_at", "id",
              postgresql_where=OPEN_SQL, sqlite_where=OPEN_SQL),
        Index("ix_sessions_free_consultations", "member_id", "provider_id",
              postgresql_where=FREE_SQL, sqlite_where=FREE_SQL),
    )

    id: Mapped[uuid.UUID] = _pk()
    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("members.id"))
    provider_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("providers.id"))
    service_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("services.id"), index=True)
    skill: Mapped[str | None] = mapped_column(String(100))
    modality: Mapped[e.Modality] = mapped_column(_enum(e.Modality))
    location: Mapped[str | None] = mapped_column(String(500))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[e.SessionStatus] = mapped_column(_enum(e.SessionStatus))
    price_credits: Mapped[int] = mapped_column(Integer)
    funding: Mapped[e.Funding | None] = mapped_column(_enum(e.Funding))
    payment_status: Mapped[e.PaymentStatus] = mapped_column(_enum(e.PaymentStatus))
    held_credits: Mapped[int] = mapped_column(Integer, default=0)
    held_sponsored_minutes: Mapped[int] = mapped_column(Integer, default=0)
    captured_credits: Mapped[int] = mapped_column(Integer, default=0)
    captured_sponsored_minutes: Mapped[int] = mapped_column(Integer, default=0)
    refunded_credits: Mapped[int] = mapped_column(Integer, default=0)
    refunded_sponsored_minutes: Mapped[int] = mapped_column(Integer, default=0)
    sponsorship_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("sponsorships.id"))
    fee: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    currency: Mapped[str] = mapped_column(String(3))
    commission_rate: Mapped[Decimal] = mapped_column(Numeric(5, 4))
    provider_earnings: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=0)
    approved_by_member: Mapped[bool] = mapped_column(Boolean)
    approved_by_provider: Mapped[bool] = mapped_column(Boolean)
    respond_by: Mapped[datetime | None] = mapped_column(UTCDateTime)
    awaiting_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    proposal_starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    proposal_ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    proposal_by: Mapped[e.Party | None] = mapped_column(_enum(e.Party))
    proposal_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_by: Mapped[e.Role | None] = mapped_column(_enum(e.Role))
    cancellation_reason: Mapped[e.CancellationReason | None] = mapped_column(_enum(e.CancellationReason))
    cancellation_note: Mapped[str | None] = mapped_column(Text)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancellation_late: Mapped[bool | None] = mapped_column(Boolean)
    decline_reason: Mapped[e.DeclineReason | None] = mapped_column(_enum(e.DeclineReason))
    decline_note: Mapped[str | None] = mapped_column(Text)
    no_show_party: Mapped[e.Party | None] = mapped_column(_enum(e.Party))
    member_note: Mapped[str | None] = mapped_column(Text)
    video_room_url: Mapped[str | None] = mapped_column(String(500))
    member_joined_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    member_late_minutes: Mapped[int | None] = mapped_column(Integer)
    provider_joined_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    member_present: Mapped[bool] = mapped_column(Boolean, default=False)
    provider_present: Mapped[bool] = mapped_column(Boolean, default=False)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by: Mapped[e.Role] = mapped_column(_enum(e.Role))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)
    package_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("packages.id"), index=True)
    package_place: Mapped[int | None] = mapped_column(Integer)
    """Which place of the package (0-based) this session takes; its price is that place's share."""


class SlotHold(Base):
    """A time held by an open session for both parties. PostgreSQL adds exclusion constraints."""

    __tablename__ = "slot_holds"
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        UniqueConstraint("session_id", "kind"),
        Index(None, "provider_id", "starts_at"),
        Index(None, "member_id", "starts_at"),
    )

    id: Mapped[uuid.UUID] = _pk()
    session_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sessions.id"))
    kind: Mapped[str] = mapped_column(String(16))
    provider_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    member_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)


class TimelineEvent(Base):
    __tablename__ = "timeline_events"
    __table_args__ = (Index(None, "session_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    position: Mapped[int | None] = mapped_column(BigId, unique=True)
    session_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sessions.id"))
    type: Mapped[e.TimelineEventType] = mapped_column(_enum(e.TimelineEventType))
    actor_role: Mapped[e.Role | None] = mapped_column(_enum(e.Role))
    actor_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    from_status: Mapped[e.SessionStatus | None] = mapped_column(_enum(e.SessionStatus))
    to_status: Mapped[e.SessionStatus | None] = mapped_column(_enum(e.SessionStatus))
    reason: Mapped[str | None] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(Text)
    previous_starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    new_starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    credits: Mapped[int | None] = mapped_column(Integer)


class LedgerEntry(Base):
    __tablename__ = "ledger_entries"
    __table_args__ = (
        CheckConstraint("credits >= 0 AND sponsored_minutes >= 0", name="amounts_not_negative"),
        Index(None, "member_id", "id"),
        Index(None, "session_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("members.id"))
    kind: Mapped[e.LedgerEntryKind] = mapped_column(_enum(e.LedgerEntryKind))
    credits: Mapped[int] = mapped_column(Integer)
    sponsored_minutes: Mapped[int] = mapped_column(Integer, default=0)
    session_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("sessions.id"))
    sponsorship_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("sponsorships.id"))
    note: Mapped[str | None] = mapped_column(String(500))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    package_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("packages.id"), index=True)
    """A package's purchase (a CAPTURE straight from available credits) or refund of unused places."""


class Note(Base):
    __tablename__ = "notes"
    __table_args__ = (Index(None, "provider_id", "member_id", "at"), Index(None, "session_id"))

    id: Mapped[uuid.UUID] = _pk()
    provider_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("providers.id"))
    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("members.id"))
    session_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("sessions.id"))
    author_user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class Conversation(Base):
    __tablename__ = "conversations"
    __table_args__ = (
        UniqueConstraint("member_id", "provider_id"),
        Index(None, "provider_id", "last_message_at"),
        Index(None, "member_id", "last_message_at"),
    )

    id: Mapped[uuid.UUID] = _pk()
    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("members.id"))
    provider_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("providers.id"))
    last_message_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    member_read_up_to: Mapped[int | None] = mapped_column(BigId)
    provider_read_up_to: Mapped[int | None] = mapped_column(BigId)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("conversation_id", "sender_user_id", "client_message_id"),
        Index(None, "conversation_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    position: Mapped[int | None] = mapped_column(BigId, unique=True)
    conversation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("conversations.id"))
    sender_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text)
    session_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("sessions.id"))
    client_message_id: Mapped[str | None] = mapped_column(String(100))
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime)
    read_by_recipient_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Notification(Base):
    __tablename__ = "notifications"
    __table_args__ = (Index(None, "user_id", "id"), Index(None, "user_id", "read_at"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    position: Mapped[int | None] = mapped_column(BigId, unique=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[e.NotificationKind] = mapped_column(_enum(e.NotificationKind))
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    session_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("sessions.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class EmailDelivery(Base):
    """One email per notification, rendered when the notification is written; the worker sends it."""

    __tablename__ = "email_deliveries"
    __table_args__ = (Index(None, "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    notification_id: Mapped[int] = mapped_column(BigId, ForeignKey("notifications.id"), unique=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    to_address: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(300))
    text_body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str] = mapped_column(Text)
    status: Mapped[e.EmailStatus] = mapped_column(_enum(e.EmailStatus))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    notification: Mapped[Notification] = relationship(lazy="raise")
    """Set when both are written in one flush, so the notification's id fills `notification_id`."""


class OutboxEvent(Base):
    """Written in the mutation's transaction; the relay publishes it after commit."""

    __tablename__ = "outbox"
    __table_args__ = (Index(None, "published_at", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    channels: Mapped[list[str]] = mapped_column(JSON)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class IdempotencyKey(Base):
    __tablename__ = "idempotency_keys"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    operation: Mapped[str] = mapped_column(String(100))
    request_hash: Mapped[str] = mapped_column(String(64))
    result: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class Job(Base):
    """A time-driven task (expiry, reminders, no-shows, auto-completion), claimed with SKIP LOCKED."""

    __tablename__ = "jobs"
    __table_args__ = (
        UniqueConstraint("kind", "session_id", "dedupe_key"),
        Index(None, "done_at", "run_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(40))
    session_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("sessions.id"))
    dedupe_key: Mapped[str] = mapped_column(String(100), default="")
    run_at: Mapped[datetime] = mapped_column(UTCDateTime)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class StreamCounter(Base):
    """The last position handed out by the relay: positions grow in commit order, one sequencer at a time."""

    __tablename__ = "stream_counters"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[int] = mapped_column(BigId)


class ClockOffset(Base):
    """The test clock's shift of the whole deployment (one row, id 1), in microseconds. Only processes with
    SESSIONS_GQL_TEST_CLOCK on read it (services/test_clock.py); production never does."""

    __tablename__ = "test_clock"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    offset_microseconds: Mapped[int] = mapped_column(BigId)


class Package(Base):
    """N sessions of a service bought at once (domain/packages.py). Which places are taken is read from the
    sessions that hold them; `refunded_places` lists the ones given back in credits."""

    __tablename__ = "packages"
    __table_args__ = (
        CheckConstraint("sessions_total BETWEEN 2 AND 50", name="sessions_total_in_range"),
        CheckConstraint("price_credits > 0", name="price_positive"),
        CheckConstraint("refunded_credits >= 0 AND refunded_credits <= price_credits", name="refund_within_price"),
        Index(None, "member_id", "purchased_at"),
        Index(None, "provider_id", "purchased_at"),
    )

    id: Mapped[uuid.UUID] = _pk()
    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("members.id"))
    provider_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("providers.id"))
    service_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("services.id"))
    sessions_total: Mapped[int] = mapped_column(Integer)
    price_credits: Mapped[int] = mapped_column(Integer)
    fee: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    currency: Mapped[str] = mapped_column(String(3))
    refunded_places: Mapped[list[int]] = mapped_column(JSON, default=list)
    refunded_credits: Mapped[int] = mapped_column(Integer, default=0)
    purchased_at: Mapped[datetime] = mapped_column(UTCDateTime)
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


# ------------------------------------------------------------------ find a provider (ranking and search)

# RECOMMENDED order for members: one index range scan per page (people_queries.providers_page). The pg_trgm
# indexes that serve the search exist on PostgreSQL only and are made by migration 0006, not from here.
Index("ix_providers_ranking", Provider.visibility, Provider.flagged, Provider.late_responses,
      Provider.rank_response_seconds, Provider.display_name, Provider.id)


SKILLS_SEPARATOR = "\n"


@orm_event.listens_for(Service, "before_insert")
def _skills_text_of_new(_mapper: Any, _connection: Any, target: Service) -> None:
    target.skills_text = SKILLS_SEPARATOR.join(target.skills or [])


@orm_event.listens_for(Service, "before_update")
def _skills_text_of_changed(_mapper: Any, _connection: Any, target: Service) -> None:
    if sa_inspect(target).attrs.skills.history.has_changes():  # `skills` is assigned whole (catalog._apply)
        target.skills_text = SKILLS_SEPARATOR.join(target.skills or [])


# admin: `users` pages by display name then id, with or without a role filter. PostgreSQL also has pg_trgm GIN
# indexes on users.display_name, email and phone for the substring search (migration 0007; not declared here,
# since SQLite has no equivalent).
Index("ix_users_display_name_id", User.display_name, User.id)
Index("ix_users_role_display_name_id", User.role, User.display_name, User.id)
