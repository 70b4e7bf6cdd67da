"""The migrations build exactly the schema the models describe."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, inspect

from sessions_gql.db.engine import create_engine
from sessions_gql.db.migrate import migrate
from sessions_gql.db.models import Base
from tests.harness.app import settings_for


def _differences(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def test_a_freshly_migrated_sqlite_database_matches_the_models(tmp_path: Path) -> None:
    engine = create_engine(settings_for(f"sqlite+aiosqlite:///{tmp_path / 'fresh.sqlite3'}"))
    try:
        await migrate(engine)
        async with engine.connect() as connection:
            tables = await connection.run_sync(lambda sync: set(inspect(sync).get_table_names()))
            differences = await connection.run_sync(_differences)
    finally:
        await engine.dispose()
    assert "email_deliveries" in tables
    assert differences == []
