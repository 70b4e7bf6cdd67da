"""Alembic environment: runs on a connection handed in by `sessions_gql.db.migrate`."""

from __future__ import annotations

from alembic import context

from sessions_gql.db.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `sessions-gql migrate`, which provides the connection")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
