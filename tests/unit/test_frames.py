"""Shared subscription frames (realtime/frames.py) without a server: which selections may be shared, how a frame
is spliced, and how one execution serves, or does not serve, the subscribers of an event."""

from __future__ import annotations

import asyncio
import gc
import json
from typing import Any

import pytest
from graphql import ExecutionResult, GraphQLError, OperationDefinitionNode, parse, validate

from sessions_gql.api.schema import build_schema
from sessions_gql.realtime import frames, moment_fields
from sessions_gql.realtime.frames import FrameKey, Frames, SharedData, encoded_frame
from sessions_gql.realtime.moment_fields import reads_the_moment
from tests.harness.app import settings_for

SCHEMA = build_schema(settings_for("sqlite+aiosqlite:///:memory:"))._schema
SHAREABLE = """subscription { sessionEvents { type session { id status providerEarnings { amount }
  member { displayName } lastEvent { type } } } }"""
MOMENT_SELECTIONS = {
    "a field": "subscription { sessionEvents { session { videoRoom { joinUrl } } } }",
    "an alias": "subscription { sessionEvents { session { room: waitingRoom { member } } } }",
    "nested": "subscription { sessionEvents { session { lastEvent { session { allowedActions } } } } }",
    "a fragment": """subscription { sessionEvents { ...E } }
                     fragment E on TimelineEvent { session { ...S } }
                     fragment S on Session { conflicts { startsAt } }""",
    "an inline fragment on an interface": """subscription { sessionEvents { session {
                     ... on Node { ... on Session { member { sponsorships { sponsor } } } } } } }""",
    "a skipped field": """subscription($no: Boolean!) { sessionEvents { session {
                     provider { sessions @skip(if: $no) { totalCount } } } } }""",
    "a union member": """subscription { conversationEvents { ... on MessageAdded { message {
                     session { videoRoom { joinUrl } } } } } }""",
}


def operation_of(document: str) -> tuple[OperationDefinitionNode, dict[str, Any]]:
    parsed = parse(document)
    assert validate(SCHEMA, parsed) == []
    operations = [d for d in parsed.definitions if isinstance(d, OperationDefinitionNode)]
    fragments = {d.name.value: d for d in parsed.definitions if d not in operations}  # type: ignore[attr-defined]
    return operations[0], fragments


def test_a_selection_without_time_dependent_fields_may_be_shared() -> None:
    assert not reads_the_moment(SCHEMA, *operation_of(SHAREABLE))


@pytest.mark.parametrize("where", sorted(MOMENT_SELECTIONS))
def test_a_time_dependent_field_anywhere_in_the_selection_is_found(where: str) -> None:
    assert reads_the_moment(SCHEMA, *operation_of(MOMENT_SELECTIONS[where]))


def test_every_moment_field_is_in_the_schema() -> None:
    """A renamed field would otherwise silently leave the list (and be shared)."""
    for type_name, field in moment_fields.MOMENT_FIELDS:
        assert field in SCHEMA.get_type(type_name).fields, (type_name, field)  # type: ignore[union-attr]


def test_a_shared_frame_differs_only_by_its_operation_id_escaped_as_json() -> None:
    data = SharedData({"sessionEvents": {"type": "NOTE_ADDED", "note": "é \"quoted\""}})
    payload = '{"data":{"sessionEvents":{"type":"NOTE_ADDED","note":"é \\"quoted\\""}}}'
    odd_id = 'a"b\\c\n'
    transport = encoded_frame({"id": odd_id, "type": "next", "payload": {"data": data}})
    legacy = encoded_frame({"type": "data", "id": "7", "payload": {"data": data}})
    assert transport == '{"id":"a\\"b\\\\c\\n","type":"next","payload":' + payload + "}"
    assert legacy == '{"type":"data","id":"7","payload":' + payload + "}"
    assert json.loads(transport)["id"] == odd_id
    assert json.loads(transport)["payload"] == {"data": dict(data)}


def test_frames_with_errors_extensions_or_plain_data_are_not_spliced() -> None:
    data = SharedData({"x": 1})
    assert encoded_frame({"id": "1", "type": "next", "payload": {"data": {"x": 1}}}) is None
    assert encoded_frame({"id": "1", "type": "next", "payload": {"data": data, "errors": []}}) is None
    assert encoded_frame({"id": "1", "type": "next", "payload": {"data": data, "extensions": {}}}) is None
    assert encoded_frame({"type": "ping"}) is None


class Event:
    """Stands for a row that the subscribers of one read share."""


OPERATION = operation_of(SHAREABLE)[0]


def counts(shared: Frames) -> tuple[int, int, int]:
    return shared.executed_shared, shared.executed_own, shared.reused


def key(name: str) -> FrameKey:
    return FrameKey(name)


class Execution:
    """An execution that counts its runs and finishes when released."""

    def __init__(self, result: ExecutionResult) -> None:
        self.result = result
        self.runs = 0
        self.release = asyncio.Event()

    async def __call__(self) -> ExecutionResult:
        self.runs += 1
        await self.release.wait()
        return self.result


async def test_subscribers_of_one_shape_share_one_execution_and_one_data_object() -> None:
    shared, event = Frames(), Event()
    execution = Execution(ExecutionResult({"sessionEvents": {"type": "NOTE_ADDED"}}, None))
    runs = [asyncio.create_task(shared.run(event, key("shape"), OPERATION, execution)) for _ in range(3)]
    await asyncio.sleep(0)
    execution.release.set()
    results = await asyncio.gather(*runs)
    late = await shared.run(event, key("shape"), OPERATION, execution)
    assert execution.runs == 1
    assert all(result.data is results[0].data for result in [*results, late])
    assert isinstance(results[0].data, SharedData) and results[0].errors is None
    assert counts(shared) == (1, 0, 3)


async def test_other_shapes_and_other_events_execute_their_own() -> None:
    shared, first, second = Frames(), Event(), Event()
    execution = Execution(ExecutionResult({"x": 1}, None))
    execution.release.set()
    await shared.run(first, key("member"), OPERATION, execution)
    await shared.run(first, key("provider"), OPERATION, execution)
    await shared.run(second, key("member"), OPERATION, execution)
    assert execution.runs == 3
    assert counts(shared) == (3, 0, 0)


async def test_a_result_with_errors_is_not_shared_each_subscriber_executes_its_own() -> None:
    shared, event = Frames(), Event()
    failing = Execution(ExecutionResult({"x": None}, [GraphQLError("boom")]))
    runs = [asyncio.create_task(shared.run(event, key("shape"), OPERATION, failing)) for _ in range(3)]
    await asyncio.sleep(0)
    failing.release.set()
    results = await asyncio.gather(*runs)
    assert failing.runs == 3
    assert all(result.errors and not isinstance(result.data, SharedData) for result in results)
    assert counts(shared) == (0, 3, 0)


async def test_an_execution_that_reads_the_clock_is_not_shared(caplog: pytest.LogCaptureFixture) -> None:
    shared, event = Frames(), Event()

    async def reads_clock() -> ExecutionResult:
        frames.moments.read("clock")
        return ExecutionResult({"x": 1}, None)

    first = await shared.run(event, key("shape"), OPERATION, reads_clock)
    second = await shared.run(event, key("shape"), OPERATION, reads_clock)
    assert not isinstance(first.data, SharedData) and not isinstance(second.data, SharedData)
    assert counts(shared) == (0, 2, 0)
    assert "add the field there" in caplog.text


async def test_when_the_first_subscriber_is_cancelled_the_waiting_ones_execute_their_own() -> None:
    shared, event = Frames(), Event()
    stuck = Execution(ExecutionResult({"x": 1}, None))
    leader = asyncio.create_task(shared.run(event, key("shape"), OPERATION, stuck))
    await asyncio.sleep(0)
    waiter = asyncio.create_task(shared.run(event, key("shape"), OPERATION, lambda: ExecutionResult({"x": 2}, None)))
    await asyncio.sleep(0)
    leader.cancel()
    assert (await waiter).data == {"x": 2}
    with pytest.raises(asyncio.CancelledError):
        await leader
    assert counts(shared) == (0, 2, 0)


async def test_an_events_frames_die_with_it_and_are_bounded_per_event() -> None:
    shared, event = Frames(), Event()
    execution = Execution(ExecutionResult({"x": 1}, None))
    execution.release.set()
    for shape in range(frames.SHAPES_PER_EVENT + 5):
        await shared.run(event, FrameKey(shape), OPERATION, execution)
    assert len(shared) == 1
    assert counts(shared) == (frames.SHAPES_PER_EVENT, 5, 0)
    del event
    gc.collect()
    assert len(shared) == 0


async def test_a_built_frame_is_ready_for_its_key_and_operation_only() -> None:
    shared, event = Frames(), Event()
    execution = Execution(ExecutionResult({"x": 1}, None))
    pending = asyncio.create_task(shared.run(event, key("shape"), OPERATION, execution))
    await asyncio.sleep(0)
    assert shared.ready(event, key("shape"), OPERATION) is None  # still executing: run() waits for it
    execution.release.set()
    built = (await pending).data
    assert shared.ready(event, key("shape"), OPERATION) is built
    assert shared.ready(event, key("other"), OPERATION) is None
    assert shared.ready(event, key("shape"), operation_of(SHAREABLE)[0]) is None
    assert shared.ready(Event(), key("shape"), OPERATION) is None


def test_subscribers_of_one_shape_and_viewer_get_one_key_object() -> None:
    shared = Frames()
    assert shared.key(("op", b"v"), "viewer") is shared.key(("op", b"v"), "viewer")
    assert shared.key(("op", b"v"), "viewer") != shared.key(("op", b"v"), "another")
    assert FrameKey(("op", "viewer")) == FrameKey(("op", "viewer"))


def test_the_rows_of_a_shared_read_give_one_marked_payload_per_row() -> None:
    class Payload:
        def __init__(self, row: Event) -> None:
            self.row = row

    class Other(Payload):
        pass

    first, second = Event(), Event()
    rows = frames.SharedRows([first, second])
    payload = rows.payload(1, Payload)
    assert rows.payload(1, Payload) is payload and payload.row is second
    assert frames.event_of(payload) is second
    assert rows.payload(0, Payload).row is first
    assert type(rows.payload(1, Other)) is Other  # another builder, another payload
