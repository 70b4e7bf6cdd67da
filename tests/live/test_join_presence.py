"""joinSession puts the viewer in the waiting room at once, for the presence TTL, without a subscription."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from typing import Any

from sessions_gql.realtime.presence import TTL_SECONDS
from tests.harness.live import LiveServer, own_pg_redis_server
from tests.harness.servers import PostgresServer, RedisServer
from tests.live.test_waiting_room import STARTS, confirmed

ROOM = "waitingRoom { member provider }"
JOIN = f"""mutation($input: SessionActionInput!) {{ joinSession(input: $input) {{
  __typename ... on SessionSuccess {{ session {{ status {ROOM} }} }} }} }}"""
LEAVE = f"""mutation($input: SessionActionInput!) {{ leaveSession(input: $input) {{
  __typename ... on SessionSuccess {{ session {{ {ROOM} }} }} }} }}"""
SESSION = f"query($id: ID!) {{ session(id: $id) {{ memberJoinedAt {ROOM} }} }}"


async def room_seen_by(live: LiveServer, person: Any, session_id: str) -> dict[str, Any]:
    return (await live.api.gql(SESSION, {"id": session_id}, as_=person))["session"]  # type: ignore[no-any-return]


async def test_join_shows_the_member_waiting_at_once_and_absent_after_the_ttl(live: LiveServer, clock: Any) -> None:
    w, session_id = await confirmed(live, clock)
    before = time.monotonic()
    joined = (await live.api.gql(JOIN, {"input": {"sessionId": session_id}}, as_=w.member))["joinSession"]
    assert joined == {"__typename": "SessionSuccess",
                      "session": {"status": "CONFIRMED", "waitingRoom": {"member": "WAITING", "provider": "ABSENT"}}}
    seen = await room_seen_by(live, w.provider, session_id)
    assert seen["waitingRoom"] == {"member": "WAITING", "provider": "ABSENT"}
    assert seen["memberJoinedAt"] is not None
    while (await room_seen_by(live, w.provider, session_id))["waitingRoom"]["member"] == "WAITING":
        assert time.monotonic() - before < TTL_SECONDS + 10, "the member never left the waiting room"
        await asyncio.sleep(0.2)
    assert time.monotonic() - before >= TTL_SECONDS - 0.1  # gone by expiry, not earlier
    assert (await room_seen_by(live, w.provider, session_id))["waitingRoom"] == {"member": "ABSENT",
                                                                                "provider": "ABSENT"}


async def test_leave_takes_the_member_out_of_the_waiting_room_at_once(live: LiveServer, clock: Any) -> None:
    w, session_id = await confirmed(live, clock)
    await live.api.gql(JOIN, {"input": {"sessionId": session_id}}, as_=w.member)
    left = (await live.api.gql(LEAVE, {"input": {"sessionId": session_id}}, as_=w.member))["leaveSession"]
    assert left == {"__typename": "SessionSuccess",
                    "session": {"waitingRoom": {"member": "ABSENT", "provider": "ABSENT"}}}
    assert (await room_seen_by(live, w.provider, session_id))["waitingRoom"] == {"member": "ABSENT",
                                                                                "provider": "ABSENT"}


async def test_join_while_the_redis_server_is_down_still_answers_with_the_committed_session(
    pg_server: PostgresServer, redis_server: RedisServer, migrated_pg_template: str, clock: Any
) -> None:
    async with own_pg_redis_server(pg_server, redis_server, migrated_pg_template, clock) as live:
        w, session_id = await confirmed(live, clock)
        redis_server.kill()
        joined = (await live.api.gql(JOIN, {"input": {"sessionId": session_id}}, as_=w.member))["joinSession"]
        assert joined == {"__typename": "SessionSuccess", "session": {
            "status": "CONFIRMED", "waitingRoom": {"member": "ABSENT", "provider": "ABSENT"}}}
        seen = await room_seen_by(live, w.provider, session_id)
        assert seen["memberJoinedAt"] == (STARTS - timedelta(minutes=5)).isoformat()
