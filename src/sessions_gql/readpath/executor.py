"""The read path inside graphql-core's executor: after parsing, validation and the cost limit, a query that
compiles (readpath/compiler.py) is answered by one statement; anything else executes as usual.

In "verify" mode both run and must agree byte for byte once encoded (numbers keep their int or float spelling,
keys their order); a difference answers READ_PATH_MISMATCH and logs both answers, so any test that reads
through the API also tests the read path against the resolvers.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from graphql import ExecutionResult, GraphQLError
from strawberry.utils.await_maybe import await_maybe

from sessions_gql.readpath.compiler import ViewerShape, request_values
from sessions_gql.readpath.plans import Plan, ReadPath

log = logging.getLogger("sessions_gql.readpath")
MISMATCH = "READ_PATH_MISMATCH"


def read_path_of(executor: Any) -> ReadPath | None:
    """The process's read path, made on first use from the request's dependencies; None on SQLite or when off."""
    deps = getattr(executor.context_value, "deps", None)
    if deps is None or deps.settings.is_sqlite or deps.settings.read_path == "off":
        return None
    found: ReadPath | None = getattr(deps, "read_path", None)
    if found is None:
        found = ReadPath(deps.engine, executor.schema._strawberry_schema,
                         max_page_size=deps.settings.max_page_size, pool_size=deps.settings.db_pool_size,
                         strict=deps.settings.read_path == "verify")
        deps.read_path = found
    return found


class ReadPathExecution:
    """Mixed into the schema's execution context class (api/limits.costed_executor)."""

    def execute_operation(self, serially: bool | None = None) -> Any:
        executor: Any = self
        read_path = read_path_of(executor)
        viewer = getattr(executor.context_value, "viewer_or_none", None)
        if read_path is None or viewer is None:
            return super().execute_operation(serially)  # type: ignore[misc]
        plan = read_path.plan_for(executor, ViewerShape.of(viewer))
        if plan is None:
            return super().execute_operation(serially)  # type: ignore[misc]
        return self._answer(read_path, plan, viewer, serially)

    async def _answer(self, read_path: ReadPath, plan: Plan, viewer: Any, serially: bool | None) -> ExecutionResult:
        context = self.context_value  # type: ignore[attr-defined]
        values = request_values(viewer, context.deps.clock.now())
        if context.deps.settings.read_path != "verify":
            try:
                answer = await read_path.run(plan, values)
            except Exception:  # the database's error, or the read path's: the resolvers answer, coded as usual
                read_path.failed += 1
                log.exception("read path: a plan failed to run; the resolvers answer")
                answer = None
            if answer is not None:
                return ExecutionResult(answer, None)
            return await await_maybe(super().execute_operation(serially))  # type: ignore[misc]
        data = await read_path.run(plan, values)
        for _attempt in range(2):  # a write between the two reads may differ them once
            plain = await await_maybe(super().execute_operation(serially))  # type: ignore[misc]
            if data is None or (plain.errors is None and orjson.dumps(plain.data) == orjson.dumps(data)):
                agreed: ExecutionResult = plain
                return agreed
            context.reset_loaders()
            data = await read_path.run(plan, values)
        log.error("read path differs from the resolvers:\nSQL: %s\nresolvers: %s\nread path: %s", plan.sql,
                  plain.errors or orjson.dumps(plain.data).decode(), orjson.dumps(data).decode())
        return ExecutionResult(None, [GraphQLError("the read path's answer differs from the resolvers'",
                                                   extensions={"code": MISMATCH})])
