"""Years of history for the growth runs: sessions, their timeline, conversations and messages, written in bulk.

The workloads' own providers and members (from `seed_pairs`) get the history, so the rows the benchmarks touch sit
among many others. Each call grows the database to `total` sessions; rows are written with set-based SQL on
PostgreSQL (seconds per million), not through the API. The mix per 100 sessions: 80 completed and 10 cancelled in
the past two years, 8 confirmed and 2 awaiting the provider in the year ahead (from day 30, clear of the slots W1
books). The history takes no slot holds and moves no credits, so the ledger invariants W1 checks still hold.
Streamed rows get positions from the relay's counter, as the relay would have given them.
"""

from __future__ import annotations

import time

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

SESSIONS = """
WITH p AS (SELECT array_agg(id ORDER BY id) AS ids, count(*) AS n FROM providers),
     s AS (SELECT array_agg(sv.id ORDER BY sv.provider_id) AS ids FROM services sv),
     m AS (SELECT array_agg(id ORDER BY id) AS ids, count(*) AS n FROM members),
     g AS (SELECT i, i % 100 AS kind FROM generate_series(CAST(:first AS bigint), CAST(:last AS bigint)) AS i),
     picked AS (
       SELECT g.i, g.kind,
              p.ids[1 + g.i % p.n] AS provider_id, s.ids[1 + g.i % p.n] AS service_id,
              m.ids[1 + (g.i / p.n) % m.n] AS member_id,
              CASE WHEN g.kind < 10
                   THEN date_trunc('hour', now()) + interval '30 days' + (g.i % 8000) * interval '1 hour'
                   ELSE date_trunc('hour', now()) - interval '1 day' - (g.i % 17000) * interval '1 hour' END AS starts
       FROM g, p, s, m)
INSERT INTO sessions (id, member_id, provider_id, service_id, modality, starts_at, ends_at, status, price_credits,
  funding, payment_status, held_credits, held_sponsored_minutes, captured_credits, captured_sponsored_minutes,
  refunded_credits, refunded_sponsored_minutes, fee, currency, commission_rate, provider_earnings,
  approved_by_member, approved_by_provider, respond_by, awaiting_since, member_present, provider_present,
  cancelled_by, cancellation_reason, cancelled_at, cancellation_late, started_at, ended_at, created_by, created_at,
  updated_at, version)
SELECT gen_random_uuid(), member_id, provider_id, service_id, 'PHONE', starts, starts + interval '1 hour',
  CASE WHEN kind < 8 THEN 'CONFIRMED' WHEN kind < 10 THEN 'AWAITING_APPROVAL'
       WHEN kind < 20 THEN 'CANCELLED' ELSE 'COMPLETED' END,
  10, 'CREDITS',
  CASE WHEN kind < 10 THEN 'NONE' WHEN kind < 20 THEN 'REFUNDED' ELSE 'CAPTURED' END,
  0, 0, CASE WHEN kind >= 10 THEN 10 ELSE 0 END, 0, CASE WHEN kind BETWEEN 10 AND 19 THEN 10 ELSE 0 END, 0,
  40.00, 'USD', 0.2000, CASE WHEN kind >= 20 THEN 32.00 ELSE 0 END,
  true, kind NOT IN (8, 9), CASE WHEN kind IN (8, 9) THEN now() + interval '2 days' END,
  CASE WHEN kind IN (8, 9) THEN now() END, false, false,
  CASE WHEN kind BETWEEN 10 AND 19 THEN 'MEMBER' END, CASE WHEN kind BETWEEN 10 AND 19 THEN 'OTHER' END,
  CASE WHEN kind BETWEEN 10 AND 19 THEN starts - interval '3 days' END,
  CASE WHEN kind BETWEEN 10 AND 19 THEN false END,
  CASE WHEN kind >= 20 THEN starts END, CASE WHEN kind >= 20 THEN starts + interval '1 hour' END,
  'MEMBER', starts - interval '7 days', now(), 1
FROM picked
"""

TIMELINE = """
INSERT INTO timeline_events (session_id, type, actor_role, at, to_status)
SELECT id, 'REQUESTED', 'MEMBER', created_at, 'AWAITING_APPROVAL' FROM sessions s
WHERE NOT EXISTS (SELECT 1 FROM timeline_events t WHERE t.session_id = s.id)
"""

CONVERSATIONS = """
INSERT INTO conversations (id, member_id, provider_id, created_at)
SELECT gen_random_uuid(), member_id, provider_id, min(created_at) FROM sessions s
WHERE NOT EXISTS (SELECT 1 FROM conversations c WHERE c.member_id = s.member_id AND c.provider_id = s.provider_id)
GROUP BY member_id, provider_id
"""

# Two messages per conversation for every ten sessions it has had (at least two), when the conversation is
# first written; later growth adds sessions, not messages.
MESSAGES = """
INSERT INTO messages (conversation_id, sender_user_id, body, sent_at)
SELECT c.id, CASE WHEN k % 2 = 0 THEN mu.user_id ELSE pu.user_id END,
       'Message ' || k || ' about our sessions', now() - interval '1 day' - k * interval '1 hour'
FROM conversations c
JOIN members mu ON mu.id = c.member_id
JOIN providers pu ON pu.id = c.provider_id
CROSS JOIN LATERAL (SELECT count(*) AS n FROM sessions s
                    WHERE s.member_id = c.member_id AND s.provider_id = c.provider_id) AS had
CROSS JOIN LATERAL generate_series(1, greatest(2, had.n / 5)::int) AS k
WHERE NOT EXISTS (SELECT 1 FROM messages x WHERE x.conversation_id = c.id)
"""

LAST_MESSAGE_AT = """
UPDATE conversations c SET last_message_at = latest.at
FROM (SELECT conversation_id, max(sent_at) AS at FROM messages GROUP BY conversation_id) AS latest
WHERE latest.conversation_id = c.id AND c.last_message_at IS DISTINCT FROM latest.at
"""


async def _position_unsequenced(conn: AsyncConnection) -> None:
    """Give streamed rows without a position the next positions from the relay's counter, in id order."""
    for table in ("timeline_events", "messages"):
        start = (await conn.execute(text("SELECT value FROM stream_counters WHERE name = 'events' FOR UPDATE"))
                 ).scalar_one()
        done = (await conn.execute(text(f"""
            WITH numbered AS (SELECT id, :start + row_number() OVER (ORDER BY id) AS p
                              FROM {table} WHERE position IS NULL)
            UPDATE {table} t SET position = numbered.p FROM numbered WHERE numbered.id = t.id"""),
                                   {"start": start})).rowcount
        await conn.execute(text("UPDATE stream_counters SET value = :v WHERE name = 'events'"),
                           {"v": start + done})


async def grow(database_url: str, total: int) -> dict[str, float]:
    """Add history until the database holds `total` sessions; returns the row counts and the seconds it took."""
    engine = create_async_engine(database_url)
    started = time.perf_counter()
    try:
        async with engine.begin() as conn:
            have = (await conn.execute(text("SELECT count(*) FROM sessions"))).scalar_one()
            step = 200_000
            for first in range(have + 1, total + 1, step):
                await conn.execute(text(SESSIONS), {"first": first, "last": min(total, first + step - 1)})
            for statement in (TIMELINE, CONVERSATIONS, MESSAGES, LAST_MESSAGE_AT):
                await conn.execute(text(statement))
            await _position_unsequenced(conn)
        async with engine.connect() as plain:
            conn = await plain.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text("VACUUM ANALYZE"))
            counts = {table: (await conn.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one()
                      for table in ("sessions", "timeline_events", "conversations", "messages")}
    finally:
        await engine.dispose()
    return {**counts, "seconds": round(time.perf_counter() - started, 1)}
