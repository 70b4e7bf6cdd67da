"""find a provider: a ranking key on the provider row, its keyset index, and trigram search indexes

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01

`providers(orderBy: RECOMMENDED)` sorts on (flagged, late responses, average response, name, id). The average
is kept as whole seconds in `providers.rank_response_seconds`, written in the transaction that records a
response, so a page is a range of `ix_providers_ranking`. `services.skills_text` holds the skills one a line
for part-of-a-word search. On PostgreSQL, pg_trgm GIN indexes serve `lower(...) LIKE '%fragment%'`.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

UNMEASURED = 2**31 - 1  # domain/reliability.py RANK_UNMEASURED, frozen here as migrations must be

TRIGRAM_INDEXES = {
    "ix_providers_name_trgm": ("providers", "lower(display_name)"),
    "ix_providers_bio_trgm": ("providers", "lower(coalesce(bio, ''))"),
    "ix_services_name_trgm": ("services", "lower(name)"),
    "ix_services_skills_trgm": ("services", "lower(skills_text)"),
}


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    with op.batch_alter_table("providers") as batch:
        batch.add_column(sa.Column("rank_response_seconds", sa.Integer(), nullable=False,
                                   server_default=str(UNMEASURED)))
    op.execute(f"UPDATE providers SET rank_response_seconds = CAST(ROUND(response_minutes_total * 60 / "
               f"response_count) AS INTEGER) WHERE response_count > 0 AND response_minutes_total * 60 / "
               f"response_count < {UNMEASURED}")
    op.create_index("ix_providers_ranking", "providers", ["visibility", "flagged", "late_responses",
                                                          "rank_response_seconds", "display_name", "id"])
    with op.batch_alter_table("services") as batch:
        batch.add_column(sa.Column("skills_text", sa.Text(), nullable=False, server_default=""))
    if postgres:
        op.execute("UPDATE services SET skills_text = coalesce((SELECT string_agg(skill, E'\\n') "
                   "FROM json_array_elements_text(skills) AS skill), '')")
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for name, (table, expression) in TRIGRAM_INDEXES.items():
            op.execute(f"CREATE INDEX {name} ON {table} USING gin ({expression} gin_trgm_ops)")
    else:
        op.execute("UPDATE services SET skills_text = coalesce((SELECT group_concat(value, char(10)) "
                   "FROM json_each(services.skills)), '')")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name in TRIGRAM_INDEXES:
            op.execute(f"DROP INDEX {name}")
    with op.batch_alter_table("services") as batch:
        batch.drop_column("skills_text")
    op.drop_index("ix_providers_ranking", table_name="providers")
    with op.batch_alter_table("providers") as batch:
        batch.drop_column("rank_response_seconds")
