"""Subscription frames built once per event and sent to every socket that shares them.

Subscribers of one channel woken together share one database read (`Hub.read_once`), so the same row objects
reach each of them. A subscription resolver marks the payload it yields for such a row (`shareable`); then, for
the subscribers whose execution of that event must give the same result, the selection runs once, its
`{"data": ...}` payload is encoded once, and each socket only splices its operation id into the frame.

Two executions of an event give the same result when they have:
- the same event: the same row object, that is the same read, made for everyone woken together (a subscriber
  catching up from a cursor reads rows of its own, unless it joins the very same read);
- the same operation: the same parsed document (the parser cache gives one object per text);
- the same coerced variables;
- the same viewer, whole: role, user, member, provider and time zone (resolvers decide what is visible from
  them, and some answers, such as unread counts, are per user);
- no dependence on the moment: a selection with a field of MOMENT_FIELDS (they read the clock or presence)
  executes per subscriber, and so does an execution that read the clock or presence all the same (moments.py).
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
from collections.abc import Awaitable, Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from graphql import (
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLNamedType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    get_named_type,
    is_abstract_type,
)
from prometheus_client import CollectorRegistry, Counter
from strawberry.utils.await_maybe import await_maybe

from sessions_gql import moments
from sessions_gql.context import Context
from sessions_gql.http import encode_json

log = logging.getLogger("sessions_gql.frames")
P = TypeVar("P")
SHAPES_PER_EVENT = 64
"""Shared frames kept per event (documents x variables x viewers); further shapes execute per subscriber."""
OPERATIONS_CACHED = 1024
"""Operations whose shareability is remembered (LRU); the parser cache keeps as many documents."""
MOMENT_FIELDS = frozenset({
    ("Session", "videoRoom"),  # the clock: from 15 minutes before the start until the end
    ("Session", "waitingRoom"),  # presence
    ("Session", "allowedActions"),  # the clock: deadlines and windows
    ("Session", "conflicts"),  # busy time imported from calendars, which changes without an event here
    ("Member", "sponsorships"),  # the clock: sponsorships still valid
    ("Member", "sponsoredHoursRemaining"),
    ("Member", "sessions"),  # the clock: the UPCOMING and PAST views
    ("Provider", "sessions"),
    ("Package", "sessions"),
})
"""Fields whose answer depends on the moment of execution, by (type, field)."""
_EVENT = "_shared_frames_event"


def shareable(payload: P, event: object) -> P:
    """Mark `payload`, yielded by a subscription, as standing for `event`: a row that other subscribers may have
    got from the same read, whose frames they can then share."""
    setattr(payload, _EVENT, event)
    return payload


def event_of(payload: object) -> object | None:
    return getattr(payload, _EVENT, None)


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
    fields = [f"{encode_json(name)}:{data.payload() if name == 'payload' else encode_json(value)}"
              for name, value in message.items()]
    return "{" + ",".join(fields) + "}"


def reads_the_moment(schema: GraphQLSchema, operation: OperationDefinitionNode,
                     fragments: Mapping[str, FragmentDefinitionNode]) -> bool:
    """Whether the operation selects a field of MOMENT_FIELDS anywhere (directives ignored: a field that
    @skip may leave out counts). Each fragment is walked once; a field of an interface or union counts if
    it is in MOMENT_FIELDS for any of its types."""
    root = schema.get_root_type(operation.operation)
    if root is None:
        return False
    pending: list[tuple[SelectionSetNode, GraphQLNamedType]] = [(operation.selection_set, root)]
    walked: set[str] = set()
    while pending:
        selection_set, parent = pending.pop()
        kinds = schema.get_possible_types(parent) if is_abstract_type(parent) else [parent]
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                name = selection.name.value
                if any((kind.name, name) in MOMENT_FIELDS for kind in kinds):
                    return True
                field = (getattr(parent, "fields", None) or {}).get(name)
                if field is not None and selection.selection_set is not None:
                    pending.append((selection.selection_set, get_named_type(field.type)))
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                inner = schema.get_type(condition.name.value) if condition else parent
                if inner is not None:
                    pending.append((selection.selection_set, inner))
            elif isinstance(selection, FragmentSpreadNode) and selection.name.value not in walked:
                walked.add(selection.name.value)
                fragment = fragments.get(selection.name.value)
                inner = schema.get_type(fragment.type_condition.name.value) if fragment else None
                if fragment is not None and inner is not None:
                    pending.append((fragment.selection_set, inner))
    return False


@dataclass
class _Frame:
    operation: OperationDefinitionNode
    done: asyncio.Future[SharedData | None]
    """The shared data once executed; None when the execution could not be shared (errors, the moment read,
    cancelled): then each subscriber executes its own."""


Execute = Callable[[], "Awaitable[ExecutionResult] | ExecutionResult"]


class Frames:
    """The process's shared frames and their counters (subscription_event_executions by mode,
    subscription_frames_reused)."""

    def __init__(self, registry: CollectorRegistry | None = None, *, enabled: bool = True) -> None:
        self.enabled = enabled
        executions = Counter("subscription_event_executions", "Executions of a subscription's selection on an "
                             "event: 'shared' when its frame went to every subscriber of the same shape, 'own' "
                             "when it was for one subscriber only.", ["mode"], registry=registry)
        self.shared_executions = executions.labels("shared")
        self.own_executions = executions.labels("own")
        self.reused = Counter("subscription_frames_reused", "Subscription frames sent without executing: another "
                              "subscriber's shared execution of the same event.", registry=registry)
        self._events: dict[int, tuple[weakref.ref[Any], dict[Hashable, _Frame]]] = {}
        self._operations: OrderedDict[int, tuple[OperationDefinitionNode, bool]] = OrderedDict()
        self._warned = False

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

    async def own(self, execute: Execute) -> ExecutionResult:
        self.own_executions.inc()
        return await await_maybe(execute())

    async def run(self, event: object, key: Hashable, operation: OperationDefinitionNode,
                  execute: Execute) -> ExecutionResult:
        """The event's result for `key`: another subscriber's shared execution, or this one's, offered to the
        subscribers who come next (and to those already waiting for it)."""
        table = self._table(event)
        frame = table.get(key)
        if frame is not None:
            shared = await asyncio.shield(frame.done) if frame.operation is operation else None
            if shared is None:
                return await self.own(execute)
            self.reused.inc()
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
            (self.own_executions if shared is None else self.shared_executions).inc()

    def _table(self, event: object) -> dict[Hashable, _Frame]:
        found = self._events.get(id(event))
        if found is not None and found[0]() is event:
            return found[1]
        table: dict[Hashable, _Frame] = {}
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
                        "(realtime/frames.py): it was not shared; add the field there", sorted(set(reads)))


_UNKNOWN: Any = object()


def _frames(executor: Any) -> Frames | None:
    return getattr(getattr(executor.context_value, "deps", None), "frames", None)


class SharedFrameExecution:
    """Mixed into the schema's executor class (schema/limits.costed_executor): each subscription event is
    executed through the process's Frames. The subscription's shape is worked out once, on the executor that
    graphql-core copies for every event."""

    _frame_shape: Any = _UNKNOWN

    def build_per_event_executor(self, payload: Any) -> Any:
        if self._frame_shape is _UNKNOWN:
            frames = _frames(self)
            self._frame_shape = frames.shape_of(self) if frames is not None else None
        return super().build_per_event_executor(payload)  # type: ignore[misc]

    def execute_operation(self, serially: bool | None = None) -> Any:
        executor: Any = self
        execute = super().execute_operation  # type: ignore[misc]
        frames = _frames(executor)
        if frames is None or executor.operation.operation is not OperationType.SUBSCRIPTION:
            return execute(serially)
        context = executor.context_value
        viewer = context.owner.viewer_or_none if isinstance(context, Context) else None
        event = event_of(executor.root_value)
        shape = self._frame_shape
        if not frames.enabled or event is None or viewer is None or shape is None or shape is _UNKNOWN:
            return frames.own(lambda: execute(serially))
        return frames.run(event, (shape, viewer), executor.operation, lambda: execute(serially))

