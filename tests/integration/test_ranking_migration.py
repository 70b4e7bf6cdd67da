"""Migration 0006 fills the ranking key and the skills text of rows that existed before it, on both backends."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Connection, MetaData, Table, insert, select

from sessions_gql.db.engine import create_engine
from sessions_gql.db.migrate import alembic_config
from sessions_gql.domain.reliability import RANK_UNMEASURED, rank_response_seconds
from tests.harness.app import settings_for

NOW = datetime(2026, 12, 1, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'before_0006.sqlite3'}"
    else:
        yield request.getfixturevalue("pg_url")


def _rows_before_0006(connection: Connection) -> dict[str, Any]:
    """Providers with 3 responses in 100 minutes, none, and 2 in 0.05 minutes (1.5 s: rounds half up), each with
    a service, written through the tables as 0005 left them."""
    command.upgrade(alembic_config(connection), "0005")
    tables = {name: Table(name, MetaData(), autoload_with=connection) for name in ("users", "providers", "services")}
    made = {}
    as_stored: Any = (lambda u: u.hex) if connection.dialect.name == "sqlite" else (lambda u: u)  # CHAR(32) there
    for key, count, total, skills in (("steady", 3, "100.00", ["Anxiety", "Stress management"]),
                                      ("new", 0, "0", ["Career"]), ("quick", 2, "0.05", [])):
        user_id, provider_id = as_stored(uuid.uuid4()), as_stored(uuid.uuid4())
        connection.execute(insert(tables["users"]).values(
            id=user_id, role="PROVIDER", email=f"{key}@migration.test", display_name=key, time_zone="UTC",
            email_preferences={}, created_at=NOW))
        connection.execute(insert(tables["providers"]).values(
            id=provider_id, user_id=user_id, display_name=key, time_zone="UTC", visibility="ACTIVE",
            commission_rate=Decimal("0.1"), buffer_minutes=0, minimum_notice_minutes=120, horizon_days=90,
            consecutive_cancellations=0, late_cancellations=0, flagged=False, response_count=count,
            response_minutes_total=Decimal(total), late_responses=0, created_at=NOW))
        connection.execute(insert(tables["services"]).values(
            id=as_stored(uuid.uuid4()), provider_id=provider_id, name="Sessions", skills=skills, duration_minutes=60,
            price_credits=1, fee=Decimal("1"), currency="EUR", modalities=["VIDEO"], free_initial_consultation=False,
            created_at=NOW))
        made[key] = provider_id
    command.upgrade(alembic_config(connection), "head")
    return made


def _after(connection: Connection) -> dict[str, Any]:
    providers = Table("providers", MetaData(), autoload_with=connection)
    services = Table("services", MetaData(), autoload_with=connection)
    query = select(providers.c.display_name, providers.c.rank_response_seconds, services.c.skills_text).join(
        services, services.c.provider_id == providers.c.id)
    return {row.display_name: (row.rank_response_seconds, row.skills_text) for row in connection.execute(query)}


async def test_0006_fills_the_ranking_key_and_skills_text_of_existing_rows(empty_database: str) -> None:
    engine = create_engine(settings_for(empty_database))
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_rows_before_0006)
            after = await connection.run_sync(_after)
    finally:
        await engine.dispose()
    assert after == {"steady": (2000, "Anxiety\nStress management"), "new": (RANK_UNMEASURED, "Career"),
                     "quick": (2, "")}
    # the same keys the running service writes when it records a response
    assert [rank_response_seconds(3, Decimal("100.00")), rank_response_seconds(0, Decimal(0)),
            rank_response_seconds(2, Decimal("0.05"))] == [2000, RANK_UNMEASURED, 2]
