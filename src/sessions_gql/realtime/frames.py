"""Subscription frames built once per event and sent to every socket that shares them.

Subscribers of one channel woken together share one database read (`Hub.read_once`), so the same row objects
reach each of them. `streams.follow` builds the payload of each such row once (`SharedRows`) and marks it
(`shareable`); then, for the subscribers whose execution of that event must give the same result, the selection
runs once (frame_execution.py, inside graphql-core's executor), its `{"data": ...}` payload is encoded once, and
each socket only splices its operation id into the frame (`encoded_frame`, from the websocket adapter).

Two executions of an event give the same result when they have:
- the same event: the same row object, that is the same read, made for everyone woken together (a subscriber
  catching up from a cursor reads rows of its own, unless it joins the very same read);
- the same operation: the same parsed document (the parser cache gives one object per text);
- the same coerced variables;
- the same viewer, whole: role, user, member, provider and time zone (resolvers decide what is visible from
  them, and some answers, such as unread counts, are per user);
- no dependence on the moment: a selection with a field of MOMENT_FIELDS (moment_fields.py: they read the clock
  or presence) executes per subscriber, and so does an execution that read the clock or presence all the same
  (moments.py).
Errors are never shared: a result with errors goes to its own subscriber only, and the others execute their own.

Memory: an event's frames live in a table that dies with its row (a weak reference), i.e. once every subscriber
of that read has moved on; at most SHAPES_PER_EVENT shapes per event, past which subscribers execute their own.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
import weakref
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from graphql import ExecutionResult, OperationDefinitionNode
from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from strawberry.utils.await_maybe import await_maybe

from sessions_gql import moments
from sessions_gql.http import encode_json
from sessions_gql.realtime.moment_fields import reads_the_moment

log = logging.getLogger("sessions_gql.frames")
P = TypeVar("P")
SHAPES_PER_EVENT = 64
"""Shared frames kept per event (documents x variables x viewers); further shapes execute per subscriber."""
OPERATIONS_CACHED = 1024
"""Operations whose shareability is remembered (LRU); the parser cache keeps as many documents."""
_EVENT = "_shared_frames_event"


def shareable(payload: P, event: object) -> P:
    """Mark `payload`, yielded by a subscription, as standing for `event`: a row that other subscribers may have
    got from the same read, whose frames they can then share."""
    setattr(payload, _EVENT, event)
    return payload


def event_of(payload: object) -> object | None:
    return getattr(payload, _EVENT, None)


class SharedRows(list[Any]):
    """The rows of one read, shared by the subscribers who made it together (`Hub.read_once`), and the payloads
    built from them: each row's payload is built once for all of them and marked `shareable`."""

    __slots__ = ("_payloads",)
    _payloads: dict[tuple[Callable[[Any], Any], int], Any]

    def payload(self, index: int, build: Callable[[Any], P]) -> P:
        try:
            payloads = self._payloads
        except AttributeError:
            payloads = self._payloads = {}
        found = payloads.get((build, index))
        if found is None:
            row = self[index]
            found = payloads[build, index] = shareable(build(row), row)
        return found


class SharedData(dict[str, Any]):
    """The data of a shared frame: one object for every subscriber who shares it, encoded once."""

    __slots__ = ("_payload",)
    _payload: str

    def payload(self) -> str:
        """`{"data": ...}` as JSON text, as the websocket's encoder writes it."""
        try:
            return self._payload
        except AttributeError:
            self._payload = encode_json({"data": self})
            return self._payload


def encoded_frame(message: Mapping[str, object]) -> str | None:
    """The text of a `next` (or legacy `data`) message whose payload is only shared data, the operation id and
    the other fields encoded here and the payload spliced in; None for any other message."""
    payload = message.get("payload")
    if type(payload) is not dict or len(payload) != 1:
        return None
    data = payload.get("data")
    if not isinstance(data, SharedData):
        return None
    fields = []
    for name, value in message.items():
        if name == "payload":
            fields.append('"payload":' + data.payload())
        else:
            known = _MEMBERS.get((name, value)) if type(value) is str else None
            fields.append(known or f"{encode_json(name)}:{encode_json(value)}")
    return "{" + ",".join(fields) + "}"


_MEMBERS = {("type", kind): f'"type":"{kind}"' for kind in ("next", "data")}


@dataclass
class _Frame:
    operation: OperationDefinitionNode
    done: asyncio.Future[SharedData | None]
    """The shared data once executed; None when the execution could not be shared (errors, the moment read,
    cancelled): then each subscriber executes its own."""


class FrameKey:
    """A subscription's operation, variables and viewer, its hash computed once: every event of the
    subscription looks its frame up with it, and subscribers of one shape share one key object."""

    __slots__ = ("_hash", "value")

    def __init__(self, value: Hashable) -> None:
        self.value = value
        self._hash = hash(value)

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        if self is other:
            return True
        return isinstance(other, FrameKey) and self._hash == other._hash and self.value == other.value


Execute = Callable[[], "Awaitable[ExecutionResult] | ExecutionResult"]


class Frames:
    """The process's shared frames and what they saved, counted on /metrics as subscription_event_executions
    (by mode) and subscription_frames_reused."""

    def __init__(self, registry: CollectorRegistry | None = None, *, enabled: bool = True) -> None:
        self.enabled = enabled
        self.executed_shared = self.executed_own = self.reused = 0
        self._events: dict[int, tuple[weakref.ref[Any], dict[FrameKey, _Frame]]] = {}
        self._operations: OrderedDict[int, tuple[OperationDefinitionNode, bool]] = OrderedDict()
        self._keys: OrderedDict[Hashable, FrameKey] = OrderedDict()
        self._warned = False
        if registry is not None:
            registry.register(_Counts(self))

    def __len__(self) -> int:
        """Events whose frames are held."""
        return len(self._events)

    def shape_of(self, executor: Any) -> Hashable | None:
        """What the frames of a subscription depend on besides the event and the viewer (its operation and
        variables), or None if its selection reads the moment."""
        operation: OperationDefinitionNode = executor.operation
        found = self._operations.get(id(operation))
        if found is None or found[0] is not operation:
            found = (operation, not reads_the_moment(executor.schema, operation, executor.fragment_definitions))
            self._operations[id(operation)] = found  # kept with the operation, so its id is not reused meanwhile
            if len(self._operations) > OPERATIONS_CACHED:
                self._operations.popitem(last=False)
        else:
            self._operations.move_to_end(id(operation))
        if not found[1]:
            return None
        variables = hashlib.blake2b(repr(executor.variable_values.coerced).encode(), digest_size=16).digest()
        return id(operation), variables

    def key(self, shape: Hashable, viewer: Hashable) -> FrameKey:
        """One key object for every subscription of this shape and viewer while cached (equal keys match all
        the same; one object matches by identity)."""
        value = (shape, viewer)
        found = self._keys.get(value)
        if found is None:
            found = self._keys[value] = FrameKey(value)
            if len(self._keys) > OPERATIONS_CACHED:
                self._keys.popitem(last=False)
        return found

    def ready(self, event: object, key: FrameKey, operation: OperationDefinitionNode) -> SharedData | None:
        """The event's shared data for `key` if it is already built."""
        found = self._events.get(id(event))
        if found is None or found[0]() is not event:
            return None
        frame = found[1].get(key)
        if frame is None or frame.operation is not operation or not frame.done.done():
            return None
        return frame.done.result()

    async def own(self, execute: Execute) -> ExecutionResult:
        self.executed_own += 1
        return await await_maybe(execute())

    async def run(self, event: object, key: FrameKey, operation: OperationDefinitionNode,
                  execute: Execute) -> ExecutionResult:
        """The event's result for `key`: another subscriber's shared execution, or this one's, offered to the
        subscribers who come next (and to those already waiting for it)."""
        table = self._table(event)
        frame = table.get(key)
        if frame is not None:
            shared = await asyncio.shield(frame.done) if frame.operation is operation else None
            if shared is None:
                return await self.own(execute)
            self.reused += 1
            return ExecutionResult(shared, None)
        if len(table) >= SHAPES_PER_EVENT:
            return await self.own(execute)
        frame = table[key] = _Frame(operation, asyncio.get_running_loop().create_future())
        shared = None
        try:
            with moments.watching() as reads:
                result = await await_maybe(execute())
            if reads:
                self._warn(reads)
            elif not result.errors and isinstance(result.data, dict):
                shared = SharedData(result.data)
                return ExecutionResult(shared, None)
            return result
        finally:
            frame.done.set_result(shared)
            if shared is None:
                self.executed_own += 1
            else:
                self.executed_shared += 1

    def _table(self, event: object) -> dict[FrameKey, _Frame]:
        found = self._events.get(id(event))
        if found is not None and found[0]() is event:
            return found[1]
        table: dict[FrameKey, _Frame] = {}
        self._events[id(event)] = (weakref.ref(event, functools.partial(self._forget, id(event))), table)
        return table

    def _forget(self, key: int, ref: weakref.ref[Any]) -> None:
        found = self._events.get(key)
        if found is not None and found[0] is ref:
            del self._events[key]

    def _warn(self, reads: list[str]) -> None:
        if not self._warned:
            self._warned = True
            log.warning("a subscription frame read the %s though its selection has no field of MOMENT_FIELDS "
                        "(realtime/moment_fields.py): it was not shared; add the field there", sorted(set(reads)))


class _Counts(Collector):
    def __init__(self, frames: Frames) -> None:
        self.frames = frames

    def collect(self) -> Iterator[Metric]:
        executions = CounterMetricFamily(
            "subscription_event_executions", "Executions of a subscription's selection on an event: 'shared' when "
            "its frame went to every subscriber of the same shape, 'own' when it was for one subscriber only.",
            labels=["mode"])
        executions.add_metric(["shared"], self.frames.executed_shared)
        executions.add_metric(["own"], self.frames.executed_own)
        yield executions
        yield CounterMetricFamily("subscription_frames_reused", "Subscription frames sent without executing: "
                                  "another subscriber's shared execution of the same event.",
                                  value=self.frames.reused)
