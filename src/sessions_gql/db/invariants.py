"""The money and slot invariants, as queries that count violations (each must be 0): the benchmarks and the
random-transition tests check a database with them after any mix of transitions.

- `wallet_not_ledger`: a member's available credits are the sum of their ledger (a package purchase is a
  CAPTURE straight from the available credits: no session, a package);
- `held_not_open_sessions`: a member's held credits are what their sessions hold;
- `sponsorship_not_ledger`: a sponsorship's used minutes are its holds less its releases and refunds;
- `holds_not_state`: each open session holds its own time and, while one is pending, its proposed time;
  no other session holds anything;
- `overlapping_holds`: no two sessions hold overlapping times of one provider or one member;
- `negative_balances`.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from sessions_gql.db.models import OPEN_SQL

_HOLD = """EXISTS (SELECT 1 FROM slot_holds h WHERE h.session_id = s.id AND h.kind = '{kind}'
    AND h.starts_at = s.{starts} AND h.ends_at = s.{ends})"""
_OPEN = str(OPEN_SQL).replace("status", "s.status")

QUERIES = {
    "wallet_not_ledger": """SELECT count(*) FROM members m WHERE m.available_credits <> COALESCE((SELECT sum(
        CASE WHEN kind IN ('GRANT', 'RELEASE', 'REFUND') THEN credits WHEN kind = 'HOLD' THEN -credits
        WHEN kind = 'CAPTURE' AND session_id IS NULL AND package_id IS NOT NULL THEN -credits ELSE 0 END)
        FROM ledger_entries l WHERE l.member_id = m.id), 0)""",
    "held_not_open_sessions": """SELECT count(*) FROM members m WHERE m.held_credits <> COALESCE((SELECT
        sum(held_credits) FROM sessions s WHERE s.member_id = m.id), 0)""",
    "sponsorship_not_ledger": """SELECT count(*) FROM sponsorships p WHERE p.minutes_used <> COALESCE((SELECT sum(
        CASE kind WHEN 'HOLD' THEN sponsored_minutes WHEN 'RELEASE' THEN -sponsored_minutes
        WHEN 'REFUND' THEN -sponsored_minutes ELSE 0 END) FROM ledger_entries l
        WHERE l.sponsorship_id = p.id AND l.session_id IS NOT NULL), 0)""",
    "holds_not_state": f"""SELECT count(*) FROM sessions s WHERE
        ({_OPEN}) <> {_HOLD.format(kind="session", starts="starts_at", ends="ends_at")}
        OR (({_OPEN}) AND s.proposal_starts_at IS NOT NULL)
           <> {_HOLD.format(kind="proposal", starts="proposal_starts_at", ends="proposal_ends_at")}
        OR (SELECT count(*) FROM slot_holds h WHERE h.session_id = s.id) > 2""",
    "overlapping_holds": """SELECT count(*) FROM slot_holds a JOIN slot_holds b ON a.session_id <> b.session_id
        AND (a.provider_id = b.provider_id OR a.member_id = b.member_id)
        AND a.starts_at < b.ends_at AND b.starts_at < a.ends_at""",
    "negative_balances": "SELECT count(*) FROM members WHERE available_credits < 0 OR held_credits < 0",
}


async def violations(engine: AsyncEngine) -> dict[str, int]:
    """How many rows break each invariant."""
    async with engine.connect() as conn:
        return {name: int((await conn.execute(text(sql))).scalar_one()) for name, sql in QUERIES.items()}
