"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-21

PostgreSQL also gets btree_gist exclusion constraints on slot_holds: no two sessions may hold
overlapping time for the same provider or the same member (the last line behind the use cases' checks).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import sessions_gql.db.types

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "outbox",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("channels", sa.JSON(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", sessions_gql.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("published_at", sessions_gql.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outbox_published_at_id"), ["published_at", "id"], unique=False)

    op.create_table(
        "users",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "role",
            sa.Enum("MEMBER", "PROVIDER", "ADMIN", name="role", native_enum=False, length=40),
            nullable=False,
        ),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("phone", sa.String(length=40), nullable=True),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.Column("email_preferences", sa.JSON(), nullable=False),
        sa.Column("created_at", sessions_gql.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("operation", sa.String(length=100), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("created_at", sessions_gql.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_idempotency_keys_user_id_users")),
        sa.PrimaryKeyConstraint("user_id", "key", name=op.f("pk_idempotency_keys")),
    )
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_idempotency_keys_created_at"), ["created_at"], unique=False)

    op.create_table(
        "members",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("available_credits", sa.Integer(), nullable=False),
        sa.Column("held_credits", sa.Integer(), nullable=False),
        sa.Column("created_at", sessions_gql.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("available_credits >= 0", name=op.f("ck_members_available_not_negative")),
        sa.CheckConstraint("held_credits >= 0", name=op.f("ck_members_held_not_negative")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_members_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_members")),
        sa.UniqueConstraint("user_id", name=op.f("uq_members_user_id")),
    )
    op.create_table(
        "providers",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("bio", sa.Text(), nullable=True),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.Column(
            "visibility",
            sa.Enum(
                "ACTIVE", "INVISIBLE", "DEACTIVATED", name="providervisibility", native_enum=False, length=40
            ),
            nullable=False,
        ),
        sa.Column("commission_rate", sa.Numeric(precision=5, scale=4), nullable=False),
        sa.Column("buffer_minutes", sa.Integer(), nullable=False),
        sa.Column("minimum_notice_minutes", sa.Integer(), nullable=False),
        sa.Column("horizon_days", sa.Integer(), nullable=False),
        sa.Column("consecutive_cancellations", sa.Integer(), nullable=False),
        sa.Column("late_cancellations", sa.Integer(), nullable=False),
        sa.Column("flagged", sa.Boolean(), nullable=False),
        sa.Column("response_count", sa.Integer(), nullable=False),
        sa.Column("response_minutes_total", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("late_responses", sa.Integer(), nullable=False),
        sa.Column("calendar_token", sa.String(length=64), nullable=True),
        sa.Column("created_at", sessions_gql.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_providers_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_providers")),
        sa.UniqueConstraint("calendar_token", name=op.f("uq_providers_calendar_token")),
        sa.UniqueConstraint("user_id", name=op.f("uq_providers_user_id")),
    )
    with op.batch_alter_table("providers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_providers_visibility_display_name_id"),
            ["visibility", "display_name", "id"],
            unique=False,
        )

    op.create_table(
        "availability_overrides",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("provider_id", sa.Uuid(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("AVAILABLE", "BLOCKED", name="overridekind", native_enum=False, length=40),
            nullable=False,
        ),
        sa.Column("starts_at", sessions_gql.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sessions_gql.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("created_at", sessions_gql.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("ends_at > starts_at", name=op.f("ck_availability_overrides_ends_after_start")),
        sa.ForeignKeyConstraint(
            ["provider_id"], ["providers.id"], name=op.f("fk_availability_overrides_provider_id_providers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_availability_overrides")),
    )
    with op.batch_alter_table("availability_overrides", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_availability_overrides_provider_id_starts_at"),
            ["provider_id", "starts_at"],
            unique=False,
        )

    op.create_table(
        "availability_rules",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("provider_id", sa.Uuid(), nullable=False),
        sa.Column(
            "weekday",
            sa.Enum(
                "MONDAY",
                "TUESDAY",
                "WEDNESDAY",
                "THURSDAY",
                "FRIDAY",
                "SATURDAY",
                "SUNDAY",
                name="weekday",
                native_enum=False,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("start_time", sa.Time(), nullable=False),
        sa.Column("end_time", sa.Time(), nullable=False),
        sa.ForeignKeyConstraint(
            ["provider_id"], ["providers.id"], name=op.f("fk_availability_rules_provider_id_providers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_availability_rules")),
    )
    with op.batch_alter_table("availability_rules", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_availability_rules_provider_id"), ["provider_id"], unique=False)

    op.create_table(
        "conversations",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("provider_id", sa.Uuid(), nullable=False),
        sa.Column("last_message_at", sessions_gql.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("member_read_up_to", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("provider_read_up_to", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("created_at", sessions_gql.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_conversations_member_id_members")
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"], ["providers.id"], name=op.f("fk_conversations_provider_id_providers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversations")),
        sa.UniqueConstraint("member_id", "provider_id", name=op.f("uq_conversations_member_id_provider_id")),
    )
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_conversations_member_id_last_message_at"),
            ["member_id", "last_message_at"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_conversations_provider_id_last_message_at"),
            ["provider_id", "last_message_at"],
            unique=False,
        )

    op.create_table(
        "services",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("provider_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("skills", sa.JSON(), nullable=False),
        sa.Column("duration_minutes", sa.Integer(), nullable=False),
        sa.Column("price_credits", sa.Integer(), nullable=False),
        sa.Column("fee", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("modalities", sa.JSON(), nullable=False),
        sa.Column("free_initial_consultation", sa.Boolean(), nullable=False),
        sa.Column("created_at", sessions_gql.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "duration_minutes BETWEEN 15 AND 240 AND duration_minutes % 5 = 0",
            name=op.f("ck_services_duration"),
        ),
        sa.CheckConstraint("fee >= 0", name=op.f("ck_services_fee_not_negative")),
        sa.CheckConstraint("price_credits >= 0", name=op.f("ck_services_price_not_negative")),
        sa.ForeignKeyConstraint(
            ["provider_id"], ["providers.id"], name=op.f("fk_services_provider_id_providers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_services")),
    )
    with op.batch_alter_table("services", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_services_provider_id"), ["provider_id"], unique=False)

    op.create_table(
        "sponsorships",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("sponsor", sa.String(length=200), nullable=False),
        sa.Column("minutes_granted", sa.Integer(), nullable=False),
        sa.Column("minutes_used", sa.Integer(), nullable=False),
        sa.Column("valid_until", sessions_gql.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", sessions_gql.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "minutes_used >= 0 AND minutes_used <= minutes_granted",
            name=op.f("ck_sponsorships_minutes_in_range"),
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_sponsorships_member_id_members")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sponsorships")),
    )
    with op.batch_alter_table("sponsorships", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sponsorships_member_id"), ["member_id"], unique=False)

    op.create_table(
        "sessions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("provider_id", sa.Uuid(), nullable=False),
        sa.Column("service_id", sa.Uuid(), nullable=False),
        sa.Column("skill", sa.String(length=100), nullable=True),
        sa.Column(
            "modality",
            sa.Enum("VIDEO", "PHONE", "IN_PERSON", name="modality", native_enum=False, length=40),
            nullable=False,
        ),
        sa.Column("location", sa.String(length=500), nullable=True),
        sa.Column("starts_at", sessions_gql.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sessions_gql.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "AWAITING_APPROVAL",
                "CONFIRMED",
                "RESCHEDULING",
                "IN_PROGRESS",
                "COMPLETED",
                "NO_SHOW",
                "DECLINED",
                "CANCELLED",
                "EXPIRED",
                name="sessionstatus",
                native_enum=False,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("price_credits", sa.Integer(), nullable=False),
        sa.Column(
            "funding",
            sa.Enum(
                "FREE_CONSULTATION", "SPONSORED", "CREDITS", name="funding", native_enum=False, length=40
            ),
            nullable=True,
        ),
        sa.Column(
            "payment_status",
            sa.Enum(
                "NONE",
                "HELD",
                "RETURNED",
                "CAPTURED",
                "PARTIALLY_REFUNDED",
                "REFUNDED",
                name="paymentstatus",
                native_enum=False,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("held_credits", sa.Integer(), nullable=False),
        sa.Column("held_sponsored_minutes", sa.Integer(), nullable=False),
        sa.Column("captured_credits", sa.Integer(), nullable=False),
        sa.Column("captured_sponsored_minutes", sa.Integer(), nullable=False),
        sa.Column("refunded_credits", sa.Integer(), nullable=False),
        sa.Column("refunded_sponsored_minutes", sa.Integer(), nullable=False),
        sa.Column("sponsorship_id", sa.Uuid(), nullable=True),
        sa.Column("fee", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("commission_rate", sa.Numeric(precision=5, scale=4), nullable=False),
        sa.Column("provider_earnings", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("approved_by_member", sa.Boolean(), nullable=False),
        sa.Column("approved_by_provider", sa.Boolean(), nullable=False),
        sa.Column("respond_by", sessions_gql.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("awaiting_since", sessions_gql.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("proposal_starts_at", sessions_gql.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("proposal_ends_at", sessions_gql.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "proposal_by",
            sa.Enum("MEMBER", "PROVIDER", name="party", native_enum=False, length=40),
            nullable=True,
        ),
        sa.Column("proposal_at", sessions_gql.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "cancelled_by",
            sa.Enum("MEMBER", "PROVIDER", "ADMIN", name="role", native_enum=False, length=40),
            nullable=True,
        ),
        sa.Column(
            "cancellation_reason",
            sa.Enum(
                "SCHEDULE_CONFLICT",
                "ILLNESS",
                "EMERGENCY",
                "TECHNICAL_ISSUE",
                "MEMBER_REQUEST",
                "PROVIDER_REQUEST",
                "OTHER",
                name="cancellationreason",
                native_enum=False,
                length=40,
            ),
            nullable=True,
        ),
        sa.Column("cancellation_note", sa.Text(), nullable=True),
        sa.Column("cancelled_at", sessions_gql.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("cancellation_late", sa.Boolean(), nullable=True),
        sa.Column(
            "decline_reason",
            sa.Enum(
                "NOT_AVAILABLE",
                "OUTSIDE_EXPERTISE",
                "NOT_A_GOOD_FIT",
                "PERSONAL",
                "OTHER",
                name="declinereason",
                native_enum=False,
                length=40,
            ),
            nullable=True,
        ),
        sa.Column("decline_note", sa.Text(), nullable=True),
        sa.Column(
            "no_show_party",
            sa.Enum("MEMBER", "PROVIDER", name="party", native_enum=False, length=40),
            nullable=True,
        ),
        sa.Column("member_note", sa.Text(), nullable=True),
        sa.Column("video_room_url", sa.String(length=500), nullable=True),
        sa.Column("member_joined_at", sessions_gql.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("member_late_minutes", sa.Integer(), nullable=True),
        sa.Column("provider_joined_at", sessions_gql.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("member_present", sa.Boolean(), nullable=False),
        sa.Column("provider_present", sa.Boolean(), nullable=False),
        sa.Column("started_at", sessions_gql.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sessions_gql.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "created_by",
            sa.Enum("MEMBER", "PROVIDER", "ADMIN", name="role", native_enum=False, length=40),
            nullable=False,
        ),
        sa.Column("created_at", sessions_gql.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sessions_gql.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint("ends_at > starts_at", name=op.f("ck_sessions_ends_after_start")),
        sa.CheckConstraint(
            "refunded_credits <= captured_credits", name=op.f("ck_sessions_refund_within_capture")
        ),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_sessions_member_id_members")),
        sa.ForeignKeyConstraint(
            ["provider_id"], ["providers.id"], name=op.f("fk_sessions_provider_id_providers")
        ),
        sa.ForeignKeyConstraint(
            ["service_id"], ["services.id"], name=op.f("fk_sessions_service_id_services")
        ),
        sa.ForeignKeyConstraint(
            ["sponsorship_id"], ["sponsorships.id"], name=op.f("fk_sessions_sponsorship_id_sponsorships")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sessions")),
    )
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sessions_member_id_starts_at_id"), ["member_id", "starts_at", "id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_sessions_provider_id_starts_at_id"),
            ["provider_id", "starts_at", "id"],
            unique=False,
        )
        batch_op.create_index(batch_op.f("ix_sessions_service_id"), ["service_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_sessions_status_starts_at"), ["status", "starts_at"], unique=False
        )

    op.create_table(
        "jobs",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("session_id", sa.Uuid(), nullable=True),
        sa.Column("dedupe_key", sa.String(length=100), nullable=False),
        sa.Column("run_at", sessions_gql.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("done_at", sessions_gql.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", sessions_gql.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["session_id"], ["sessions.id"], name=op.f("fk_jobs_session_id_sessions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
        sa.UniqueConstraint(
            "kind", "session_id", "dedupe_key", name=op.f("uq_jobs_kind_session_id_dedupe_key")
        ),
    )
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_jobs_done_at_run_at"), ["done_at", "run_at"], unique=False)

    op.create_table(
        "ledger_entries",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "GRANT",
                "HOLD",
                "RELEASE",
                "CAPTURE",
                "REFUND",
                name="ledgerentrykind",
                native_enum=False,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("credits", sa.Integer(), nullable=False),
        sa.Column("sponsored_minutes", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Uuid(), nullable=True),
        sa.Column("sponsorship_id", sa.Uuid(), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column("at", sessions_gql.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "credits >= 0 AND sponsored_minutes >= 0", name=op.f("ck_ledger_entries_amounts_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_ledger_entries_member_id_members")
        ),
        sa.ForeignKeyConstraint(
            ["session_id"], ["sessions.id"], name=op.f("fk_ledger_entries_session_id_sessions")
        ),
        sa.ForeignKeyConstraint(
            ["sponsorship_id"],
            ["sponsorships.id"],
            name=op.f("fk_ledger_entries_sponsorship_id_sponsorships"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_entries")),
    )
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ledger_entries_member_id_id"), ["member_id", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_ledger_entries_session_id"), ["session_id"], unique=False)

    op.create_table(
        "messages",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("position", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("conversation_id", sa.Uuid(), nullable=False),
        sa.Column("sender_user_id", sa.Uuid(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("session_id", sa.Uuid(), nullable=True),
        sa.Column("client_message_id", sa.String(length=100), nullable=True),
        sa.Column("sent_at", sessions_gql.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("read_by_recipient_at", sessions_gql.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["conversation_id"], ["conversations.id"], name=op.f("fk_messages_conversation_id_conversations")
        ),
        sa.ForeignKeyConstraint(
            ["sender_user_id"], ["users.id"], name=op.f("fk_messages_sender_user_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["session_id"], ["sessions.id"], name=op.f("fk_messages_session_id_sessions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_messages")),
        sa.UniqueConstraint(
            "conversation_id",
            "sender_user_id",
            "client_message_id",
            name=op.f("uq_messages_conversation_id_sender_user_id_client_message_id"),
        ),
        sa.UniqueConstraint("position", name=op.f("uq_messages_position")),
    )
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_messages_conversation_id_id"), ["conversation_id", "id"], unique=False
        )

    op.create_table(
        "notes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("provider_id", sa.Uuid(), nullable=False),
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("session_id", sa.Uuid(), nullable=True),
        sa.Column("author_user_id", sa.Uuid(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("at", sessions_gql.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["author_user_id"], ["users.id"], name=op.f("fk_notes_author_user_id_users")),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_notes_member_id_members")),
        sa.ForeignKeyConstraint(
            ["provider_id"], ["providers.id"], name=op.f("fk_notes_provider_id_providers")
        ),
        sa.ForeignKeyConstraint(["session_id"], ["sessions.id"], name=op.f("fk_notes_session_id_sessions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notes")),
    )
    with op.batch_alter_table("notes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_notes_provider_id_member_id_at"), ["provider_id", "member_id", "at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_notes_session_id"), ["session_id"], unique=False)

    op.create_table(
        "notifications",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("position", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "SESSION_REQUESTED",
                "SESSION_PROPOSED",
                "SESSION_CONFIRMED",
                "SESSION_DECLINED",
                "SESSION_CANCELLED",
                "SESSION_EXPIRED",
                "NEW_TIME_PROPOSED",
                "NEW_TIME_ACCEPTED",
                "NEW_TIME_REJECTED",
                "MEETING_REMINDER",
                "MEETING_LINK",
                "MEMBER_WAITING",
                "NO_SHOW_MARKED",
                "SESSION_REFUNDED",
                "MESSAGE_RECEIVED",
                "ACCOUNT_FLAGGED",
                "ACCOUNT_DEACTIVATED",
                name="notificationkind",
                native_enum=False,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("session_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sessions_gql.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("read_at", sessions_gql.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["session_id"], ["sessions.id"], name=op.f("fk_notifications_session_id_sessions")
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_notifications_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
        sa.UniqueConstraint("position", name=op.f("uq_notifications_position")),
    )
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notifications_user_id_id"), ["user_id", "id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_notifications_user_id_read_at"), ["user_id", "read_at"], unique=False
        )

    op.create_table(
        "slot_holds",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("session_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("provider_id", sa.Uuid(), nullable=False),
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("starts_at", sessions_gql.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sessions_gql.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("ends_at > starts_at", name=op.f("ck_slot_holds_ends_after_start")),
        sa.ForeignKeyConstraint(
            ["session_id"], ["sessions.id"], name=op.f("fk_slot_holds_session_id_sessions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_slot_holds")),
        sa.UniqueConstraint("session_id", "kind", name=op.f("uq_slot_holds_session_id_kind")),
    )
    with op.batch_alter_table("slot_holds", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_slot_holds_member_id_starts_at"), ["member_id", "starts_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_slot_holds_provider_id_starts_at"), ["provider_id", "starts_at"], unique=False
        )

    op.create_table(
        "timeline_events",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("position", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("session_id", sa.Uuid(), nullable=False),
        sa.Column(
            "type",
            sa.Enum(
                "REQUESTED",
                "PROPOSED",
                "APPROVED_BY_MEMBER",
                "APPROVED_BY_PROVIDER",
                "DECLINED",
                "WITHDRAWN",
                "CANCELLED_BY_MEMBER",
                "CANCELLED_BY_PROVIDER",
                "CANCELLED_BY_ADMIN",
                "NEW_TIME_PROPOSED",
                "NEW_TIME_ACCEPTED",
                "NEW_TIME_REJECTED",
                "NEW_TIME_WITHDRAWN",
                "EXPIRED",
                "MEMBER_JOINED",
                "PROVIDER_JOINED",
                "MEMBER_LEFT",
                "PROVIDER_LEFT",
                "STARTED",
                "NO_SHOW_MARKED",
                "NO_SHOW_UNDONE",
                "COMPLETED",
                "FUNDS_HELD",
                "FUNDS_RETURNED",
                "FUNDS_CAPTURED",
                "REFUNDED",
                "VIDEO_ROOM_CREATED",
                "VIDEO_ROOM_CANCELLED",
                "REMINDER_SENT",
                "NOTE_ADDED",
                name="timelineeventtype",
                native_enum=False,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column(
            "actor_role",
            sa.Enum("MEMBER", "PROVIDER", "ADMIN", name="role", native_enum=False, length=40),
            nullable=True,
        ),
        sa.Column("actor_user_id", sa.Uuid(), nullable=True),
        sa.Column("at", sessions_gql.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "from_status",
            sa.Enum(
                "AWAITING_APPROVAL",
                "CONFIRMED",
                "RESCHEDULING",
                "IN_PROGRESS",
                "COMPLETED",
                "NO_SHOW",
                "DECLINED",
                "CANCELLED",
                "EXPIRED",
                name="sessionstatus",
                native_enum=False,
                length=40,
            ),
            nullable=True,
        ),
        sa.Column(
            "to_status",
            sa.Enum(
                "AWAITING_APPROVAL",
                "CONFIRMED",
                "RESCHEDULING",
                "IN_PROGRESS",
                "COMPLETED",
                "NO_SHOW",
                "DECLINED",
                "CANCELLED",
                "EXPIRED",
                name="sessionstatus",
                native_enum=False,
                length=40,
            ),
            nullable=True,
        ),
        sa.Column("reason", sa.String(length=100), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("previous_starts_at", sessions_gql.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("new_starts_at", sessions_gql.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("credits", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["actor_user_id"], ["users.id"], name=op.f("fk_timeline_events_actor_user_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["session_id"], ["sessions.id"], name=op.f("fk_timeline_events_session_id_sessions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_timeline_events")),
        sa.UniqueConstraint("position", name=op.f("uq_timeline_events_position")),
    )
    with op.batch_alter_table("timeline_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_timeline_events_session_id_id"), ["session_id", "id"], unique=False
        )

    if op.get_bind().dialect.name == "postgresql":
        _add_exclusion_constraints()


def _add_exclusion_constraints() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    for party in ("provider", "member"):
        op.execute(
            f"ALTER TABLE slot_holds ADD CONSTRAINT ex_slot_holds_{party}_overlap "
            f"EXCLUDE USING gist ({party}_id WITH =, session_id WITH <>, "
            "tstzrange(starts_at, ends_at, '[)') WITH &&)"
        )


def downgrade() -> None:
    with op.batch_alter_table("timeline_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_timeline_events_session_id_id"))

    op.drop_table("timeline_events")
    with op.batch_alter_table("slot_holds", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_slot_holds_provider_id_starts_at"))
        batch_op.drop_index(batch_op.f("ix_slot_holds_member_id_starts_at"))

    op.drop_table("slot_holds")
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notifications_user_id_read_at"))
        batch_op.drop_index(batch_op.f("ix_notifications_user_id_id"))

    op.drop_table("notifications")
    with op.batch_alter_table("notes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notes_session_id"))
        batch_op.drop_index(batch_op.f("ix_notes_provider_id_member_id_at"))

    op.drop_table("notes")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_messages_conversation_id_id"))

    op.drop_table("messages")
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ledger_entries_session_id"))
        batch_op.drop_index(batch_op.f("ix_ledger_entries_member_id_id"))

    op.drop_table("ledger_entries")
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_jobs_done_at_run_at"))

    op.drop_table("jobs")
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sessions_status_starts_at"))
        batch_op.drop_index(batch_op.f("ix_sessions_service_id"))
        batch_op.drop_index(batch_op.f("ix_sessions_provider_id_starts_at_id"))
        batch_op.drop_index(batch_op.f("ix_sessions_member_id_starts_at_id"))

    op.drop_table("sessions")
    with op.batch_alter_table("sponsorships", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sponsorships_member_id"))

    op.drop_table("sponsorships")
    with op.batch_alter_table("services", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_services_provider_id"))

    op.drop_table("services")
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_conversations_provider_id_last_message_at"))
        batch_op.drop_index(batch_op.f("ix_conversations_member_id_last_message_at"))

    op.drop_table("conversations")
    with op.batch_alter_table("availability_rules", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_availability_rules_provider_id"))

    op.drop_table("availability_rules")
    with op.batch_alter_table("availability_overrides", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_availability_overrides_provider_id_starts_at"))

    op.drop_table("availability_overrides")
    with op.batch_alter_table("providers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_providers_visibility_display_name_id"))

    op.drop_table("providers")
    op.drop_table("members")
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_idempotency_keys_created_at"))

    op.drop_table("idempotency_keys")
    op.drop_table("users")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_published_at_id"))

    op.drop_table("outbox")
