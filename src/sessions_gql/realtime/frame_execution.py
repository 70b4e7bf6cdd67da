"""Subscription events executed through the process's shared frames (realtime/frames.py), from inside
graphql-core's executor."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from graphql import ExecutionResult, OperationType
from graphql.execution.executor import CollectedErrors
from strawberry.utils.await_maybe import await_maybe

from sessions_gql.context import Context
from sessions_gql.realtime.frames import Execute, FrameKey, Frames, SharedData, event_of
from sessions_gql.realtime.hub import DATABASE_UNAVAILABLE, RETRY_SECONDS, still_wanted

log = logging.getLogger("sessions_gql.realtime")


class _Built:
    """Stands in for the per-event executor when the event's frame is already built: graphql-core's
    `execute_subscription_event` (the root selection set executor strawberry's subscriptions use) only calls
    `execute_operation` on it."""

    __slots__ = ("data", "frames")

    def __init__(self, frames: Frames, data: SharedData) -> None:
        self.frames, self.data = frames, data

    def execute_operation(self, serially: bool | None = None) -> ExecutionResult:
        self.frames.reused += 1
        return ExecutionResult(self.data, None)


_UNKNOWN: Any = object()


def _frames(executor: Any) -> Frames | None:
    return getattr(getattr(executor.context_value, "deps", None), "frames", None)


class SharedFrameExecution:
    """Mixed into the schema's executor class (api/limits.costed_executor): each subscription event is
    executed through the process's Frames. graphql-core copies the subscription's executor for every event
    (`build_per_event_executor`); the key is worked out on the subscription's own executor, once per viewer,
    and an event whose frame is built already is answered without a copy."""

    _frame_shape: Any = _UNKNOWN
    _frame_viewer: Any = None
    _frame_viewer_key: FrameKey | None = None
    _frame_key: FrameKey | None = None
    """On a per-event executor: the key its event's frame is shared under, or None to execute its own."""

    def __copy__(self) -> Any:
        """A shallow copy without copy.copy's generic protocol (8 µs an event, for every subscriber)."""
        copied = object.__new__(type(self))
        copied.__dict__.update(self.__dict__)
        return copied

    def build_per_event_executor(self, payload: Any) -> Any:
        frames = _frames(self)
        key = self._key(frames) if frames is not None else None
        event = event_of(payload) if key is not None else None
        if frames is not None and key is not None and event is not None:
            built = frames.ready(event, key, self.operation)  # type: ignore[attr-defined]
            if built is not None:
                return _Built(frames, built)
        executor = super().build_per_event_executor(payload)  # type: ignore[misc]
        executor._frame_key = key if event is not None else None
        return executor

    def _key(self, frames: Frames) -> FrameKey | None:
        executor: Any = self
        if self._frame_shape is _UNKNOWN:
            self._frame_shape = frames.shape_of(executor)
        context = executor.context_value
        viewer = context.owner.viewer_or_none if isinstance(context, Context) else None
        if self._frame_shape is None or viewer is None or not frames.enabled:
            return None
        if viewer is not self._frame_viewer:
            self._frame_viewer, self._frame_viewer_key = viewer, frames.key(self._frame_shape, viewer)
        return self._frame_viewer_key

    def execute_operation(self, serially: bool | None = None) -> Any:
        executor: Any = self
        execute = super().execute_operation  # type: ignore[misc]
        if executor.operation.operation is not OperationType.SUBSCRIPTION:
            return execute(serially)
        frames = _frames(executor)
        once = until_read(executor, lambda: execute(serially))
        if frames is None:
            return once()
        if self._frame_key is None:
            return frames.own(once)
        return frames.run(event_of(executor.root_value), self._frame_key, executor.operation, once)


def until_read(executor: Any, execute: Execute) -> Execute:
    """`execute` for one subscription event, run again while a field of it could not be read because the
    database was busy or unreachable (e.g. a pool timeout in `sessionEvents { session { ... } }`).

    The stream has yielded the event and waits for its frame before it reads on, so an error frame here would
    move the subscriber past that event for good; executing again until the database answers keeps it. Other
    errors (refusals, bugs) are the event's answer as before."""

    async def attempts() -> ExecutionResult:
        while True:
            result = await await_maybe(execute())
            failure = next((error.original_error for error in result.errors or ()
                            if isinstance(error.original_error, DATABASE_UNAVAILABLE)), None)
            if failure is None:
                return result
            log.warning("a subscription event could not be read (%s); executing it again in %.0f s",
                        type(failure).__name__, RETRY_SECONDS)
            context = executor.context_value
            if isinstance(context, Context):
                await context.close()  # a broken session, and loaders holding the failure, are not reused
                context.reset_loaders()
            await asyncio.sleep(RETRY_SECONDS)
            still_wanted()
            executor.collected_errors = CollectedErrors()

    return attempts
