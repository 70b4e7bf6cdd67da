"""packages: offers on a service, bought packages, the sessions and ledger entries tied to them

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01

SQLite cannot ALTER a table to add a foreign key constraint, but it takes a REFERENCES clause on ADD COLUMN
(the new column is NULL everywhere, so nothing needs checking); PostgreSQL gets the named constraint.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import sessions_gql.db.types

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

LINKED = (("sessions", "ix_sessions_package_id"), ("ledger_entries", "ix_ledger_entries_package_id"))


def upgrade() -> None:
    op.create_table(
        "packages",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("provider_id", sa.Uuid(), nullable=False),
        sa.Column("service_id", sa.Uuid(), nullable=False),
        sa.Column("sessions_total", sa.Integer(), nullable=False),
        sa.Column("price_credits", sa.Integer(), nullable=False),
        sa.Column("fee", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("refunded_places", sa.JSON(), nullable=False),
        sa.Column("refunded_credits", sa.Integer(), nullable=False),
        sa.Column("purchased_at", sessions_gql.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("valid_until", sessions_gql.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint("sessions_total BETWEEN 2 AND 50", name=op.f("ck_packages_sessions_total_in_range")),
        sa.CheckConstraint("price_credits > 0", name=op.f("ck_packages_price_positive")),
        sa.CheckConstraint("refunded_credits >= 0 AND refunded_credits <= price_credits",
                           name=op.f("ck_packages_refund_within_price")),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_packages_member_id_members")),
        sa.ForeignKeyConstraint(["provider_id"], ["providers.id"], name=op.f("fk_packages_provider_id_providers")),
        sa.ForeignKeyConstraint(["service_id"], ["services.id"], name=op.f("fk_packages_service_id_services")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_packages")),
    )
    op.create_index("ix_packages_member_id_purchased_at", "packages", ["member_id", "purchased_at"])
    op.create_index("ix_packages_provider_id_purchased_at", "packages", ["provider_id", "purchased_at"])
    op.add_column("services", sa.Column("packages", sa.JSON(), server_default=sa.text("'[]'"), nullable=False))
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table, index in LINKED:
        if sqlite:
            op.execute(f"ALTER TABLE {table} ADD COLUMN package_id CHAR(32) REFERENCES packages (id)")
        else:
            op.add_column(table, sa.Column("package_id", sa.Uuid(), nullable=True))
            op.create_foreign_key(f"fk_{table}_package_id_packages", table, "packages", ["package_id"], ["id"])
        op.create_index(index, table, ["package_id"])
    op.add_column("sessions", sa.Column("package_place", sa.Integer(), nullable=True))


def downgrade() -> None:
    for table, index in LINKED:
        op.drop_index(index, table_name=table)
        if op.get_bind().dialect.name != "sqlite":
            op.drop_constraint(f"fk_{table}_package_id_packages", table, type_="foreignkey")
    with op.batch_alter_table("sessions") as batch:
        batch.drop_column("package_place")
        batch.drop_column("package_id")
    with op.batch_alter_table("ledger_entries") as batch:
        batch.drop_column("package_id")
    with op.batch_alter_table("services") as batch:
        batch.drop_column("packages")
    op.drop_index("ix_packages_provider_id_purchased_at", table_name="packages")
    op.drop_index("ix_packages_member_id_purchased_at", table_name="packages")
    op.drop_table("packages")
