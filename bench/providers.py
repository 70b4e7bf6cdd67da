"""Find a provider at 10,000 providers: the plan and time of one page of `providers` on PostgreSQL.

    .venv/bin/python -m bench.providers [--providers 10000] [--runs 30]

Seeds a throwaway PostgreSQL with providers (two services each, varied reliability figures and visibility), then
EXPLAINs (ANALYZE, BUFFERS) the statement the API runs (services/people_queries.providers_query) for several
pages, first without the indexes of migration 0006 ("before") and then with them ("after"), and prints the
plans and the median time of `--runs` executions of each.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import insert, text
from sqlalchemy.dialects.postgresql import asyncpg
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine
from tests.harness.servers import PostgresServer

from sessions_gql.db import models as m
from sessions_gql.db.migrate import migrate
from sessions_gql.db.types import uuid7
from sessions_gql.domain.enums import Modality, ProviderOrder, ProviderVisibility, Role
from sessions_gql.domain.reliability import rank_response_seconds
from sessions_gql.services.people.people_queries import provider_sort_key, providers_query

FIRST = ["Ada", "Ben", "Cleo", "Dana", "Eli", "Fay", "Gus", "Hana", "Ivo", "Jon", "Kai", "Lea", "Mo", "Nia",
         "Otto", "Pia", "Quinn", "Rae", "Sam", "Tess", "Uma", "Vic", "Wen", "Xan", "Yara", "Zoe"]
LAST = ["Alvarez", "Brown", "Chen", "Doyle", "Evans", "Fox", "Gray", "Hill", "Ito", "Jones", "Khan", "Lopez",
        "Meyer", "Novak", "Okafor", "Park", "Quist", "Rossi", "Silva", "Tanaka", "Ueda", "Vogel", "Weber", "Young"]
SKILLS = ["Anxiety", "Stress management", "Depression", "Burnout", "Grief", "Sleep", "Relationships", "Career",
          "Leadership", "Public speaking", "Parenting", "Trauma", "Self-esteem", "Mindfulness", "Nutrition"]
SERVICES = ["Cognitive Behavioural Therapy", "Career coaching", "Mindfulness sessions", "Counselling",
            "Executive coaching", "Couples therapy", "Sleep clinic", "Expert call"]
WORDS = ["calm", "practical", "warm", "evidence-based", "listening", "support", "clients", "years", "teams",
         "change", "habits", "goals", "families", "students", "founders", "managers", "worried", "minds"]
INDEXES = ["ix_providers_ranking", "ix_providers_name_trgm", "ix_providers_bio_trgm", "ix_services_name_trgm",
           "ix_services_skills_trgm"]


async def seed(connection: AsyncConnection, count: int) -> None:
    rng = random.Random(14)
    now = datetime(2026, 12, 1, tzinfo=UTC)
    users, providers, services = [], [], []
    for index in range(count):
        user_id, provider_id = uuid7(), uuid7()
        name = f"{rng.choice(FIRST)} {rng.choice(LAST)} {index}"
        responses = rng.choice([0, 0, *range(1, 60)])
        minutes_total = Decimal(sum(rng.expovariate(1 / 90) for _ in range(responses))).quantize(Decimal("0.01"))
        late = sum(rng.random() < 0.15 for _ in range(responses))
        streak = rng.choice([0] * 15 + [1, 2, 3, 4])
        users.append({"id": user_id, "role": Role.PROVIDER.value, "email": f"p{index}@bench.test",
                      "display_name": name, "time_zone": "UTC", "email_preferences": {}, "created_at": now})
        providers.append({
            "id": provider_id, "user_id": user_id, "display_name": name,
            "bio": " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 30))), "time_zone": "UTC",
            "visibility": rng.choices([ProviderVisibility.ACTIVE, ProviderVisibility.INVISIBLE,
                                       ProviderVisibility.DEACTIVATED], [90, 6, 4])[0].value,
            "commission_rate": Decimal("0.1"), "buffer_minutes": 0, "minimum_notice_minutes": 120,
            "horizon_days": 90, "consecutive_cancellations": streak, "late_cancellations": 0,
            "flagged": streak >= 3, "response_count": responses, "response_minutes_total": minutes_total,
            "late_responses": late, "created_at": now,
            "rank_response_seconds": rank_response_seconds(responses, minutes_total),
        })
        for _ in range(2):
            skills = rng.sample(SKILLS, 3)
            services.append({
                "id": uuid7(), "provider_id": provider_id, "name": rng.choice(SERVICES), "skills": skills,
                "skills_text": m.SKILLS_SEPARATOR.join(skills), "duration_minutes": 60, "price_credits": 10,
                "fee": Decimal("50"), "currency": "EUR", "modalities": [Modality.VIDEO.value],
                "free_initial_consultation": False, "created_at": now,
            })
    for table, rows in ((m.User, users), (m.Provider, providers), (m.Service, services)):
        for start in range(0, len(rows), 1000):
            await connection.execute(insert(table), rows[start:start + 1000])


def cases(middle: tuple[Any, ...], middle_by_name: tuple[Any, ...]) -> dict[str, dict[str, Any]]:
    base = {"first": 20, "skill": None, "modality": None, "search": None, "after": None}
    return {
        "RECOMMENDED, first page": {**base, "order": ProviderOrder.RECOMMENDED},
        "RECOMMENDED, a page in the middle": {**base, "order": ProviderOrder.RECOMMENDED, "after": middle},
        "NAME, a page in the middle": {**base, "order": ProviderOrder.NAME, "after": middle_by_name},
        'search "anx" (matches most), first page': {**base, "order": ProviderOrder.RECOMMENDED, "search": "anx"},
        'search "okafor 12" (matches few)': {**base, "order": ProviderOrder.RECOMMENDED, "search": "okafor 12"},
        'skill "sleep", first page': {**base, "order": ProviderOrder.RECOMMENDED, "skill": "sleep"},
    }


def compiled(arguments: dict[str, Any]) -> str:
    """The statement with its values written in (the asyncpg dialect: `%` stays `%`)."""
    return str(providers_query(**arguments).compile(dialect=asyncpg.dialect(),
                                                     compile_kwargs={"literal_binds": True}))


async def measure(connection: AsyncConnection, arguments: dict[str, Any], runs: int) -> tuple[str, float]:
    sql = compiled(arguments)
    plan = "\n".join(row[0] for row in await connection.execute(text(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")))
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        await connection.execute(text(sql))
        timings.append((time.perf_counter() - started) * 1000)
    return plan, statistics.median(timings)


async def key_at(connection: AsyncConnection, order: ProviderOrder, offset: int) -> tuple[Any, ...]:
    """The sort key of the `offset`-th listed provider: where a page in the middle starts."""
    arguments = {"first": offset, "order": order, "after": None, "skill": None, "modality": None, "search": None}
    row = (await connection.execute(providers_query(**arguments))).all()[offset - 1]._mapping
    provider = m.Provider(**{column.key: row[column.name] for column in m.Provider.__table__.columns})
    return provider_sort_key(order, provider)


async def run(url: str, count: int, runs: int) -> None:
    engine = create_async_engine(url)
    await migrate(engine)
    async with engine.begin() as connection:
        await seed(connection, count)
    async with engine.connect() as connection:  # what autovacuum does after a bulk load: flush GIN pending lists
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        await connection.execute(text("VACUUM ANALYZE"))
    async with engine.connect() as connection:
        listed = await connection.scalar(text("SELECT count(*) FROM providers WHERE visibility = 'ACTIVE'"))
        print(f"{count} providers ({listed} ACTIVE), {2 * count} services; median of {runs} runs per query\n")
        indexes = await connection.execute(text("SELECT indexname FROM pg_indexes WHERE indexname = ANY(:names)"),
                                           {"names": INDEXES})
        print("indexes of 0006:", sorted(row[0] for row in indexes), "\n")
        middle = await key_at(connection, ProviderOrder.RECOMMENDED, int(listed or 0) // 2)
        middle_by_name = await key_at(connection, ProviderOrder.NAME, int(listed or 0) // 2)
        await connection.commit()
        results: dict[str, dict[str, tuple[str, float]]] = {}
        for label in ("before", "after"):
            transaction = await connection.begin()
            if label == "before":  # DROP INDEX is transactional: the rollback below brings them back
                for name in INDEXES:
                    await connection.execute(text(f"DROP INDEX {name}"))
            for case, arguments in cases(middle, middle_by_name).items():
                results.setdefault(case, {})[label] = await measure(connection, arguments, runs)
            await transaction.rollback()
    await engine.dispose()
    print("| query | before (no 0006 indexes) | after |\n|---|---|---|")
    for case, figures in results.items():
        print(f"| {case} | {figures['before'][1]:.2f} ms | {figures['after'][1]:.2f} ms |")
    for case, figures in results.items():
        for label in ("before", "after"):
            print(f"\n### {case}: {label}\n\n```\n{figures[label][0]}\n```")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--providers", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    server = PostgresServer().start()
    try:
        asyncio.run(run(server.create_database("bench_providers"), args.providers, args.runs))
    finally:
        server.stop()


if __name__ == "__main__":
    main()
