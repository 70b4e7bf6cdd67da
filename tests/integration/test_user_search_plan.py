"""`users` stays an index lookup on PostgreSQL as users grow: the search uses the pg_trgm indexes, the pages the
btree ones (migration 0007). The plans are read from EXPLAIN of the very query the API runs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import text

from sessions_gql.db.engine import create_engine
from sessions_gql.db.migrate import migrate
from sessions_gql.domain.enums import Role
from sessions_gql.services.people.people_queries import users_query
from tests.harness.app import settings_for

USERS = 100_000  # the size the index must serve (issue 14); smaller tables are read whole, rightly
# ANALYZE samples 300 rows per unit of statistics target. At the default (100) it reads a random 30,000 of the
# 100,000 names, and about one run in twenty its histogram held a name containing the search term: the planner then
# expected a thousand matches and walked the ordered index instead. At 1,000 it reads them all, so the plan is
# the same on every run.
STATISTICS = 1_000


def index_names(plan: dict[str, Any]) -> Iterator[str]:
    if "Index Name" in plan:
        yield plan["Index Name"]
    for child in plan.get("Plans", ()):
        yield from index_names(child)


@pytest.mark.pg
async def test_user_search_and_pages_use_their_indexes(pg_url: str) -> None:
    engine = create_engine(settings_for(pg_url))
    try:
        await migrate(engine)
        async with engine.begin() as db:
            await db.execute(text(
                "INSERT INTO users (id, role, email, display_name, phone, time_zone, email_preferences, created_at) "
                "SELECT gen_random_uuid(), CASE WHEN i % 10 = 0 THEN 'PROVIDER' ELSE 'MEMBER' END, "
                "'user' || i || '@example.test', md5(i::text) || ' Name ' || i, "
                "'+44 20 ' || lpad((i * 7919 % 100000000)::text, 8, '0'), 'UTC', '{}', now() "
                "FROM generate_series(1, :n) AS i"), {"n": USERS})
            for column in ("display_name", "email", "phone"):  # ANALYZE reads every row: its sample is not random
                await db.execute(text(f"ALTER TABLE users ALTER COLUMN {column} SET STATISTICS {STATISTICS}"))
            await db.execute(text("ANALYZE users"))
        plans: dict[str, set[str]] = {}
        cases = {"search": {"search": "ab1c", "role": None}, "role": {"search": None, "role": Role.PROVIDER},
                 "all": {"search": None, "role": None}}
        async with engine.connect() as db:
            for name, filter_ in cases.items():
                query = users_query(first=20, after=None, **filter_)
                sql = str(query.compile(engine.sync_engine, compile_kwargs={"literal_binds": True}))
                explained = (await db.execute(text(f"EXPLAIN (FORMAT JSON) {sql}"))).scalar_one()
                document = json.loads(explained) if isinstance(explained, str) else explained
                plans[name] = set(index_names(document[0]["Plan"]))
    finally:
        await engine.dispose()
    assert plans == {"search": {"ix_users_display_name_trgm", "ix_users_email_trgm", "ix_users_phone_trgm"},
                     "role": {"ix_users_role_display_name_id"}, "all": {"ix_users_display_name_id"}}
