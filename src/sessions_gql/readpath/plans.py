"""Compiled read plans, cached per operation, viewer shape and variables, and run on PostgreSQL.

A plan is the SQL text and, for each positional parameter, either a constant fixed at compile time (an argument's
value) or the name of a per-request value (the viewer's ids, the clock's now). Running it is one `fetchval`
on the pool's asyncpg connection: no ORM, no per-field resolvers, and PostgreSQL builds the JSON.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import orjson
from graphql import OperationDefinitionNode, OperationType
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine

from sessions_gql.readpath import objects, roots  # noqa: F401  (they register the handlers)
from sessions_gql.readpath.compiler import REQUEST_PARAMETERS, Compiler, NotCompilable, ViewerShape

log = logging.getLogger("sessions_gql.readpath")
PLANS_CACHED = 1024
MAX_PARAMETERS = 1000
"""A plan with more bound values (a variable listing thousands of statuses, say) is left to the resolvers: its
statement would be as large as its input, and cached for nothing."""


@dataclass(frozen=True)
class Plan:
    sql: str
    parameters: tuple[tuple[str | None, Any], ...]
    """Per position: (a request value's name, None) or (None, the constant)."""

    def arguments(self, values: dict[str, Any]) -> list[Any]:
        return [values[name] if name is not None else constant for name, constant in self.parameters]


def compile_plan(statement: Any, dialect: Dialect) -> Plan:
    compiled = statement.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
    processors: dict[str, Callable[[Any], Any]] = compiled._bind_processors
    given = compiled.construct_params(_check=False)
    parameters: list[tuple[str | None, Any]] = []
    for name in compiled.positiontup:
        if name in REQUEST_PARAMETERS:
            parameters.append((name, None))
            continue
        value = given[name]
        processor = processors.get(name)
        parameters.append((None, processor(value) if processor is not None else value))
    return Plan(sql=compiled.string, parameters=tuple(parameters))


async def _keep(connection: asyncpg.Connection) -> None:
    """On release: a statement that failed inside no transaction leaves nothing behind; just in case."""
    if connection.is_in_transaction():
        await connection.execute("ROLLBACK")


class ReadPath:
    """The plans of one process. `plan_for` compiles on first use; an operation that cannot be compiled is
    remembered as such, so it costs one attempt per shape."""

    def __init__(self, engine: AsyncEngine, strawberry_schema: Any, *, max_page_size: int, pool_size: int = 10,
                 strict: bool = False) -> None:
        self.engine = engine
        self.strict = strict
        """Raise a compile failure instead of falling back (verify mode: the tests must see it)."""
        self.strawberry_schema = strawberry_schema
        self.max_page_size = max_page_size
        self._plans: OrderedDict[tuple[Any, ...], tuple[OperationDefinitionNode, Plan | None]] = OrderedDict()
        self.pool_size = pool_size
        self._pool: asyncpg.Pool | None = None
        self._opening = asyncio.Lock()
        self.compiled = 0
        self.refused = 0
        self.failed = 0
        self.answered = 0
        self.guarded = 0

    async def _open(self) -> asyncpg.Pool:
        """asyncpg's own pool, beside SQLAlchemy's: a read is one statement outside any transaction, so a
        connection needs neither SQLAlchemy's pre-ping on checkout nor asyncpg's reset on release (each a round
        trip, and together about as long as the statement itself)."""
        async with self._opening:
            if self._pool is None:
                dsn = self.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
                self._pool = await asyncpg.create_pool(dsn, min_size=1, max_size=self.pool_size, reset=_keep)
        return self._pool

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    def plan_for(self, executor: Any, shape: ViewerShape) -> Plan | None:
        operation: OperationDefinitionNode = executor.operation
        if operation.operation is not OperationType.QUERY:
            return None
        variables = hashlib.blake2b(repr(executor.variable_values.coerced).encode(), digest_size=16).digest()
        key = (id(operation), shape, variables)
        found = self._plans.get(key)
        if found is not None and found[0] is operation:
            self._plans.move_to_end(key)
            return found[1]
        plan = self._compile(executor, shape)
        self._plans[key] = (operation, plan)  # the operation is kept, so its id is not reused while cached
        if len(self._plans) > PLANS_CACHED:
            self._plans.popitem(last=False)
        return plan

    def _compile(self, executor: Any, shape: ViewerShape) -> Plan | None:
        compiler = Compiler(executor.schema, self.strawberry_schema, executor, shape, self.max_page_size)
        try:
            plan = compile_plan(compiler.root(compiler.subfields_of_operation(executor.schema.query_type)),
                                self.engine.dialect)
            if len(plan.parameters) > MAX_PARAMETERS:
                raise NotCompilable(f"{len(plan.parameters)} parameters")
        except NotCompilable as reason:
            self.refused += 1
            log.debug("read path: %s", reason)
            return None
        except Exception:
            if self.strict:
                raise
            self.failed += 1  # a defect of the read path: the resolvers answer, and the log says why
            log.exception("read path: could not compile an operation; the resolvers answer it")
            return None
        self.compiled += 1
        return plan

    async def run(self, plan: Plan, values: dict[str, Any]) -> dict[str, Any] | None:
        """The `data` object; None when a guard of the plan failed (`Compiler.require`): the resolvers answer."""
        pool = self._pool or await self._open()
        try:
            text = await pool.fetchval(plan.sql, *plan.arguments(values))
        except Exception:
            log.error("read path: the statement failed:\n%s", plan.sql)
            raise
        if text is None:
            self.guarded += 1
            return None
        self.answered += 1
        data: dict[str, Any] = orjson.loads(text)
        return data
