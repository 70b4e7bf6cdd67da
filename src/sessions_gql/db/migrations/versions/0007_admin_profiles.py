"""admin tools: services can be archived

Revision ID: 0007
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import sessions_gql.db.types

revision = "0007"
down_revision = "0005"
branch_labels = None
depends_on = None

def upgrade() -> None:
    with op.batch_alter_table("services") as batch:
        batch.add_column(sa.Column("archived_at", sessions_gql.db.types.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("services") as batch:
        batch.drop_column("archived_at")
