"""admin tools: users searchable by part of a name, email or phone; services can be archived

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01

`users(filter: {search})` matches any part of a display name, email or phone, any case (ILIKE '%..%'). On
PostgreSQL pg_trgm GIN indexes answer that without reading every user; the btree indexes serve the ordered
pages (display name, id), with or without a role filter, on both backends.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import sessions_gql.db.types

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

SEARCHED = ("display_name", "email", "phone")


def upgrade() -> None:
    with op.batch_alter_table("services") as batch:
        batch.add_column(sa.Column("archived_at", sessions_gql.db.types.UTCDateTime(timezone=True), nullable=True))
    op.create_index("ix_users_display_name_id", "users", ["display_name", "id"])
    op.create_index("ix_users_role_display_name_id", "users", ["role", "display_name", "id"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for column in SEARCHED:
            op.create_index(f"ix_users_{column}_trgm", "users", [column], postgresql_using="gin",
                            postgresql_ops={column: "gin_trgm_ops"})


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for column in SEARCHED:
            op.drop_index(f"ix_users_{column}_trgm", table_name="users")
    op.drop_index("ix_users_role_display_name_id", table_name="users")
    op.drop_index("ix_users_display_name_id", table_name="users")
    with op.batch_alter_table("services") as batch:
        batch.drop_column("archived_at")
