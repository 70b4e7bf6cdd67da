"""partial indexes on open sessions and free consultations, for long histories

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21

The growth run (bench/growth.py) at a million sessions showed the upcoming and awaiting views scanning every
session a provider ever had, and the free-consultation check every session a member ever had.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

OPEN = sa.text("status IN ('AWAITING_APPROVAL', 'CONFIRMED', 'RESCHEDULING', 'IN_PROGRESS')")
FREE = sa.text("funding = 'FREE_CONSULTATION'")


def upgrade() -> None:
    op.create_index("ix_sessions_open_by_provider", "sessions", ["provider_id", "starts_at", "id"],
                    postgresql_where=OPEN, sqlite_where=OPEN)
    op.create_index("ix_sessions_open_by_member", "sessions", ["member_id", "starts_at", "id"],
                    postgresql_where=OPEN, sqlite_where=OPEN)
    op.create_index("ix_sessions_free_consultations", "sessions", ["member_id", "provider_id"],
                    postgresql_where=FREE, sqlite_where=FREE)


def downgrade() -> None:
    for name in ("ix_sessions_free_consultations", "ix_sessions_open_by_member", "ix_sessions_open_by_provider"):
        op.drop_index(name, table_name="sessions")
