"""the test clock's offset, shared by every process of a deployment

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01

`advanceTestClock` used to move one process's clock only: other API instances, the worker and the CLI kept
real time. One row holds the shift; processes with SESSIONS_GQL_TEST_CLOCK on read it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "test_clock",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("offset_microseconds", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_test_clock")),
    )
    op.execute("INSERT INTO test_clock (id, offset_microseconds) VALUES (1, 0)")


def downgrade() -> None:
    op.drop_table("test_clock")
