"""Property: a subscription's `after` accepts exactly the cursors this API gave out (issue 11).

Run in-process through the schema (with the live server's relay and hub) so that hypothesis can try many
cursors quickly: every cursor no row of the stream carries is refused with VALIDATION as the first result
(never INTERNAL_SERVER_ERROR, never a replay); every issued cursor resumes right after its event.
"""

from __future__ import annotations

import asyncio
import base64
import json
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import or_, select

from sessions_gql.api.cursors import encode_cursor
from sessions_gql.api.schema import build_schema
from sessions_gql.context import Context
from sessions_gql.db import models as m
from tests.api.lifecycle_helpers import action
from tests.harness.app import Person
from tests.harness.live import LiveServer
from tests.live.test_chat_and_notifications import SEND, booked

DOCUMENTS = {
    "sessionEvents": "subscription($after: String) { sessionEvents(after: $after) { cursor } }",
    "conversationEvents": """subscription($after: String) { conversationEvents(after: $after) {
        ... on MessageAdded { message { cursor } } } }""",
    "notificationAdded": "subscription($after: String) { notificationAdded(after: $after) { cursor } }",
}
MODELS = {"sessionEvents": m.TimelineEvent, "conversationEvents": m.Message, "notificationAdded": m.Notification}
FIELDS = sorted(DOCUMENTS)


@dataclass
class History:
    """A member's booked and confirmed session and some chat; for each stream, every cursor a row of it carries,
    and the member's own events in stream order (each as its position cursor and its `i<id>` cursor)."""

    viewer: Person
    schema: Any
    accepted: dict[str, set[str]]
    mine: dict[str, list[tuple[str, str]]]


@pytest.fixture
async def history(live: LiveServer) -> History:
    w, session_id, conversation = await booked(live)
    await w.run(action("confirmSession"), {"sessionId": session_id}, w.provider)
    for number in range(3):
        await live.api.gql(SEND, {"input": {"conversationId": conversation, "body": f"note {number}",
                                            "clientMessageId": f"h-{number}"}}, as_=w.provider)
    await live.settle()
    viewer = w.member
    accepted: dict[str, set[str]] = {}
    mine: dict[str, list[tuple[str, str]]] = {}
    async with live.deps.sessions() as db:
        for field, model in MODELS.items():
            rows = (await db.execute(select(model.id, model.position))).all()
            assert rows and all(position is not None for _id, position in rows)
            accepted[field] = {encode_cursor(p) for _i, p in rows} | {encode_cursor(f"i{i}") for i, _p in rows}
            if model is m.Notification:
                query = select(model.id, model.position).where(model.user_id == viewer.viewer.user_id)
            else:
                parent = m.Session if model is m.TimelineEvent else m.Conversation
                key = model.session_id if model is m.TimelineEvent else model.conversation_id
                query = select(model.id, model.position).join(parent, parent.id == key).where(
                    or_(parent.member_id == viewer.member_id, parent.provider_id == viewer.provider_id))
            mine[field] = [(encode_cursor(p), encode_cursor(f"i{i}"))
                           for i, p in (await db.execute(query.order_by(model.position))).all()]
            assert len(mine[field]) >= 2, (field, mine[field])
    return History(viewer, build_schema(live.deps.settings), accepted, mine)


async def first_result(live: LiveServer, history: History, field: str, after: str) -> Any:
    """The first result of a subscription after `after` (an event, or the error that refused it)."""
    context = Context(deps=live.deps, request=None, viewer_or_none=history.viewer.viewer)
    results = await history.schema.subscribe(DOCUMENTS[field], variable_values={"after": after}, context_value=context)
    try:
        return await asyncio.wait_for(anext(results), timeout=20)
    finally:
        await results.aclose()


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=12),
                           lambda inner: st.lists(inner, max_size=3), max_leaves=6)
numbers = st.integers(min_value=-(10**21), max_value=10**21)
CURSORS = st.one_of(
    st.text(max_size=80),
    st.binary(max_size=60).map(b64),
    json_values.map(lambda v: b64(json.dumps(v).encode())),
    st.lists(st.text(max_size=24), min_size=1, max_size=2).map(lambda v: b64(json.dumps(v).encode())),
    numbers.map(lambda n: encode_cursor(n)),
    numbers.map(lambda n: encode_cursor(f"i{n}")),
    st.tuples(st.sampled_from(["", "i", "I", " ", "+", "0", "00", "i0", "x"]), numbers).map(
        lambda t: encode_cursor(f"{t[0]}{t[1]}")),
    # other encodings of well-formed values: padding, spaces in the JSON, the standard alphabet, a number
    numbers.map(lambda n: encode_cursor(n) + "="),
    numbers.map(lambda n: b64(json.dumps([str(n)], separators=(", ", ": ")).encode())),
    numbers.map(lambda n: base64.b64encode(json.dumps([f"i{abs(n)}"]).encode()).decode()),
    numbers.map(lambda n: b64(json.dumps([abs(n)]).encode())),
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
async def test_any_cursor_the_api_did_not_issue_is_refused_with_validation(live: LiveServer, history: History,
                                                                          data: Any) -> None:
    field = data.draw(st.sampled_from(FIELDS))
    cursor = data.draw(CURSORS.filter(lambda c: c not in history.accepted[field]))
    result = await first_result(live, history, field, cursor)
    assert result.data is None
    assert [(e.message, e.extensions) for e in result.errors] == [
        ("that cursor is not one this API gave out", {"code": "VALIDATION", "field": "after"})]


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
async def test_every_issued_cursor_resumes_right_after_its_event(live: LiveServer, history: History, data: Any
                                                                ) -> None:
    field = data.draw(st.sampled_from(FIELDS))
    mine = history.mine[field]
    index = data.draw(st.integers(min_value=0, max_value=len(mine) - 2))
    cursor = data.draw(st.sampled_from(mine[index]))  # the position, or the i<id> it had before sequencing
    result = await first_result(live, history, field, cursor)
    assert result.errors is None
    payload = result.data[field]
    assert payload.get("cursor", payload.get("message", {}).get("cursor")) == mine[index + 1][0]
