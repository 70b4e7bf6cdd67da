"""Presence that cannot be read degrades to ABSENT: a committed joinSession is never turned into an error."""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest

from sessions_gql.clock import FrozenClock
from tests.api.lifecycle_helpers import at, book, when, world
from tests.harness.app import Api, running_api, settings_for
from tests.harness.servers import free_port

JOIN = """mutation($input: SessionActionInput!) { joinSession(input: $input) {
  __typename ... on SessionSuccess { session { status memberJoinedAt waitingRoom { member provider } } } } }"""
SESSION = "query($id: ID!) { session(id: $id) { memberJoinedAt waitingRoom { member provider } } }"
SAMPLE = re.compile(r'^presence_unavailable_total\{operation="(\w+)"\} ([0-9.]+)$', re.MULTILINE)


async def unavailable(api: Api) -> dict[str, float]:
    response = await api.client.get("/metrics")
    assert response.status_code == 200
    return {operation: float(value) for operation, value in SAMPLE.findall(response.text)}


def grew(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {key: after.get(key, 0.0) - before.get(key, 0.0) for key in after if after.get(key) != before.get(key)}


async def test_join_with_redis_unreachable_returns_the_committed_session_with_presence_absent(
    database_url: str, clock: FrozenClock, caplog: pytest.LogCaptureFixture
) -> None:
    settings = settings_for(database_url, redis_url=f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
    async with running_api(settings, clock) as api:
        w = await world(api)
        session = await book(w, at(1, 10))
        clock.set(when(1, 9, 50))
        before = await unavailable(api)
        with caplog.at_level(logging.WARNING, logger="sessions_gql.realtime"):
            body = await api.post(JOIN, {"input": {"sessionId": session["id"]}}, token=w.member.token)
        assert "errors" not in body, body["errors"]
        joined: dict[str, Any] = body["data"]["joinSession"]
        assert joined["__typename"] == "SessionSuccess"
        assert (joined["session"]["status"], joined["session"]["waitingRoom"]) == (
            "CONFIRMED", {"member": "ABSENT", "provider": "ABSENT"})
        assert joined["session"]["memberJoinedAt"] == at(1, 9, 50)
        assert grew(before, await unavailable(api)) == {"mark": 1.0, "present": 1.0}
        warnings = [r.getMessage() for r in caplog.records if r.name == "sessions_gql.realtime"]
        assert warnings == ["presence unavailable (mark: ConnectionError): the waiting room shows ABSENT",
                            "presence unavailable (present: ConnectionError): the waiting room shows ABSENT"]
        seen = (await api.gql(SESSION, {"id": session["id"]}, as_=w.provider))["session"]
        assert seen == {"memberJoinedAt": at(1, 9, 50), "waitingRoom": {"member": "ABSENT", "provider": "ABSENT"}}
