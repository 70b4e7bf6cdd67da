"""Writes of the hot path, run on the database driver: inserts and updates described as tables and columns,
compiled by SQLAlchemy once per shape, and sent on the unit of work's own connection and transaction.

Why: on this service's W1 profile each SQLAlchemy Core execution costs about 1 ms of CPU (statement
construction, cache key, execution context, greenlet hops), while asyncpg itself takes about 0.08 ms for a
prepared statement. A transition writes 8 to 12 rows, so the difference is most of its cost. SQLAlchemy still
writes the SQL and converts each value (its bind processors), so enums, JSON and time columns are stored
exactly as everywhere else; on SQLite (the embedded default) the same calls run through SQLAlchemy.

Writes whose answer is not needed at once can be deferred (`defer_insert`, `defer_update`, `defer_run`): they
wait in the writer and go to PostgreSQL as one statement, each a data-modifying WITH of it, when `flush` is
called, when a read or an immediate write is sent, or when another write to the same table is deferred. One
round trip then carries what took six to ten (bench/RESULTS.md, W1). The statements of one such batch run on one
snapshot and in no set order, which is safe because a batch never holds two statements on one table, and every
read through the writer sends the batch first, so what it reads is what was written.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Numeric, Select, Table, bindparam, insert, update
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm.instrumentation import manager_of_class
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ClauseElement, Executable

Processor = Callable[[Any], Any] | None
_inserts: dict[tuple[Any, ...], tuple[str, list[tuple[int, str]], list[Processor]]] = {}
_updates: dict[tuple[Any, ...], tuple[str, list[Processor], list[str]]] = {}
_prepared: dict[int, tuple[Executable, tuple[str, list[str], list[Processor], dict[str, Any]]]] = {}
_results: dict[int, tuple[Select[Any], list[Processor]]] = {}
_keys: dict[Any, tuple[list[str], Any]] = {}
_batches: dict[tuple[tuple[str, bool], ...], str] = {}
_together: dict[tuple[str, ...], str] = {}
BATCH_SHAPES = 1_000  # distinct batches remembered (each is a few hundred bytes of SQL); then it starts again
_PLACEHOLDER = re.compile(r"\$(\d+)")


class Ids:
    """The ids a deferred insert drew, known once its batch was sent."""

    __slots__ = ("_ids",)

    def __init__(self, ids: list[int] | None = None) -> None:
        self._ids = ids

    @property
    def ids(self) -> list[int]:
        if self._ids is None:
            raise RuntimeError("the ids of a deferred insert were read before its batch was sent (Writer.flush)")
        return self._ids


@dataclass(slots=True)
class _Deferred:
    table: str
    sql: str
    args: list[Any]
    ids: Ids | None  # an insert whose ids are wanted


def _renumbered(sql: str, offset: int) -> str:
    """`sql` with its placeholders $n moved up by `offset`, outside quoted literals only."""
    parts = sql.split("'")
    for i in range(0, len(parts), 2):
        parts[i] = _PLACEHOLDER.sub(lambda found: f"${int(found.group(1)) + offset}", parts[i])
    return "'".join(parts)


def _batch_sql(batch: list[_Deferred]) -> str:
    """One statement running every statement of `batch` as a data-modifying WITH; it answers (k, id) for the
    ids drawn by the k-th statement where they are wanted."""
    key = tuple((each.sql, each.ids is not None) for each in batch)
    found = _batches.get(key)
    if found is None:
        parts, answers, offset = [], [], 0
        for k, each in enumerate(batch):
            parts.append(f"w{k} AS ({_renumbered(each.sql, offset) if offset else each.sql})")
            offset += len(each.args)
            if each.ids is not None:
                answers.append(f"SELECT {k} AS k, id FROM w{k}")
        found = f"WITH {', '.join(parts)} {' UNION ALL '.join(answers) or 'SELECT 1'}"
        if len(_batches) >= BATCH_SHAPES:
            _batches.clear()
        _batches[key] = found
    return found


def _together_sql(sqls: tuple[str, ...], widths: list[int]) -> str:
    """One SELECT whose k-th column is the array of the k-th statement's rows, as anonymous records in the order
    it gives them (an array built from a subquery keeps its order)."""
    found = _together.get(sqls)
    if found is None:
        parts, offset = [], 0
        for sql, width in zip(sqls, widths, strict=True):
            parts.append(f"ARRAY(SELECT ROW(q.*) FROM ({_renumbered(sql, offset) if offset else sql}) AS q)")
            offset += width
        found = "SELECT " + ", ".join(parts)
        if len(_together) >= BATCH_SHAPES:
            _together.clear()
        _together[sqls] = found
    return found


def _processors(dialect: Dialect, table: Table, columns: Sequence[str]) -> list[Processor]:
    return [table.c[name].type._cached_bind_processor(dialect) for name in columns]


def _insert_sql(dialect: Dialect, table: Table, columns: tuple[str, ...], rows: int, returning: bool,
                skip_conflicts: bool) -> tuple[str, list[tuple[int, str]], list[Processor]]:
    """The SQL, and for each placeholder in order the (row, column) it takes and its processor."""
    key = (table.name, columns, rows, returning, skip_conflicts)
    found = _inserts.get(key)
    if found is None:
        names = {f"{name}_{i}": (i, name) for i in range(rows) for name in columns}
        values = [{name: bindparam(f"{name}_{i}", type_=table.c[name].type) for name in columns}
                  for i in range(rows)]
        statement = insert(table).values(values)
        compiled = (statement.returning(table.c.id) if returning else statement).compile(dialect=dialect)
        order = [names[name] for name in compiled.positiontup or []]  # a KeyError: a default SQLAlchemy added
        if len(order) != len(names):
            raise RuntimeError(f"the insert into {table.name} binds {compiled.positiontup}")
        sql = str(compiled)
        if not returning and " RETURNING " in sql:  # the dialect's implicit RETURNING of a single row's key
            sql = sql[:sql.index(" RETURNING ")]
        if skip_conflicts:
            sql += " ON CONFLICT DO NOTHING"
        found = _inserts[key] = (sql, order, _processors(dialect, table, [name for _i, name in order]))
    return found


def _update_sql(dialect: Dialect, table: Table, columns: tuple[str, ...], key_column: str
                ) -> tuple[str, list[Processor], list[str]]:
    """The SQL, each placeholder's processor and each placeholder's column, in placeholder order."""
    key = ("update", table.name, columns, key_column)
    found = _updates.get(key)
    if found is None:
        statement = update(table).where(table.c[key_column] == bindparam("key_", type_=table.c[key_column].type))
        statement = statement.values({name: bindparam(name, type_=table.c[name].type) for name in columns})
        compiled = statement.compile(dialect=dialect)
        names = [key_column if name == "key_" else name for name in compiled.positiontup or []]
        found = _updates[key] = (str(compiled), _processors(dialect, table, names), names)
    return found


def _prepared_sql(dialect: Dialect, statement: Executable) -> tuple[str, list[str], list[Processor], dict[str, Any]]:
    """A statement built once (a module constant, its values all named bind parameters) as SQL, its parameters'
    names in placeholder order, their processors, and the values of the constants it binds itself (a LIMIT)."""
    key = id(statement)
    found = _prepared.get(key)
    if found is None or found[0] is not statement:
        compiled = cast(SQLCompiler, cast(ClauseElement, statement).compile(dialect=dialect))
        names = list(compiled.positiontup or [])
        processors: list[Processor] = [compiled.binds[name].type._cached_bind_processor(dialect) for name in names]
        constants = {name: compiled.binds[name].value for name in names if not compiled.binds[name].required}
        found = _prepared[key] = (statement, (str(compiled), names, processors, constants))
    return found[1]


def _bound(names: list[str], params: dict[str, Any], constants: dict[str, Any]) -> list[Any]:
    return [params[name] if name in params else constants[name] for name in names]


class Writer:
    """Inserts, updates and prepared statements on one connection (a unit of work's)."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn
        self._driver: Any = None
        self._adapter: Any = None
        self._deferred: list[_Deferred] = []

    async def flush(self) -> None:
        """Send the deferred writes, as one statement when there are several (see the module's docstring)."""
        if not self._deferred:
            return
        batch, self._deferred = self._deferred, []
        driver = await self._pg()
        assert driver is not None, "only the driver defers"
        if len(batch) == 1:
            only = batch[0]
            if only.ids is None:
                await self._sent(only.sql, only.args, driver.execute(only.sql, *only.args))
            else:
                only.ids._ids = sorted(r[0] for r in await self._sent(only.sql, only.args,
                                                                       driver.fetch(only.sql, *only.args)))
            return
        sql, args = _batch_sql(batch), [arg for each in batch for arg in each.args]
        if all(each.ids is None for each in batch):
            await self._sent(sql, args, driver.execute(sql, *args))
            return
        drawn: dict[int, list[int]] = {k: [] for k, each in enumerate(batch) if each.ids is not None}
        for k, ident in await self._sent(sql, args, driver.fetch(sql, *args)):
            drawn[k].append(ident)
        for k, ids in drawn.items():
            batch[k].ids._ids = sorted(ids)  # type: ignore[union-attr]  # ids are drawn in VALUES order

    async def _defer(self, table: str, sql: str, args: list[Any], ids: Ids | None = None) -> None:
        if any(each.table == table for each in self._deferred):
            await self.flush()  # two statements on one table: the second must see the first's rows
        self._deferred.append(_Deferred(table, sql, args, ids))

    async def _sent(self, sql: str, args: list[Any], call: Awaitable[Any]) -> Any:
        """Await a driver call between SQLAlchemy's cursor events (statement counters and tracers see every
        statement; `cursor` and `context` are None). Its errors are raised as SQLAlchemy raises them, by the
        adapter's own translation: an exclusion violation is a `sqlalchemy.exc.IntegrityError` whose
        `orig.sqlstate` is 23P01."""
        dispatch = self.conn.sync_engine.dispatch
        if dispatch.before_cursor_execute:
            dispatch.before_cursor_execute(self.conn.sync_connection, None, sql, args, None, False)
        try:
            answer = await call
        except Exception as error:
            try:
                self._adapter._handle_exception(error)
            except Exception as translated:
                dbapi_error = self.conn.dialect.loaded_dbapi.Error
                if not isinstance(translated, dbapi_error):
                    raise
                raise DBAPIError.instance(sql, args, translated, dbapi_error) from error
            raise
        if dispatch.after_cursor_execute:
            dispatch.after_cursor_execute(self.conn.sync_connection, None, sql, args, None, False)
        return answer

    async def _pg(self, *, deferring: bool = False) -> Any:
        """The asyncpg connection, inside the unit of work's transaction; None to go through SQLAlchemy (SQLite).
        SQLAlchemy's asyncpg adapter begins a transaction at its first statement: when none was sent through it
        yet, the adapter is asked to begin it (its `_start_transaction`; SQLAlchemy 2.1 is pinned), and should
        that ever be missing the statement goes through SQLAlchemy, which begins it."""
        if self.conn.dialect.name != "postgresql":
            return None
        if self._deferred and not deferring:
            await self.flush()
        if self._driver is None:
            raw = await self.conn.get_raw_connection()
            self._adapter, self._driver = raw.dbapi_connection, raw.driver_connection
        if self._driver.is_in_transaction():
            return self._driver
        start = getattr(self._adapter, "_start_transaction", None)
        if start is None or getattr(self._adapter, "_transaction", True) is not None:
            return None
        await start()
        return self._driver if self._driver.is_in_transaction() else None

    async def insert(self, table: Table, rows: list[dict[str, Any]], *, returning: bool = False,
                     skip_conflicts: bool = False) -> list[int]:
        """Insert `rows` (all with the same keys) in one statement, with the deferred writes; with `returning`,
        their ids in order; `skip_conflicts`: rows that would break a unique constraint are left out (not with
        `returning`)."""
        drawn = await self.defer_insert(table, rows, returning=returning, skip_conflicts=skip_conflicts)
        await self.flush()
        return drawn.ids

    async def defer_insert(self, table: Table, rows: list[dict[str, Any]], *, returning: bool = False,
                           skip_conflicts: bool = False) -> Ids:
        """`insert`, sent with the next batch (at once through SQLAlchemy): the ids once it was sent."""
        if not rows:
            return Ids([])
        assert not (returning and skip_conflicts)
        rows = _with_defaults(table, rows)
        columns = tuple(rows[0])
        driver = await self._pg(deferring=True)
        if driver is None:
            dialect = postgresql if self.conn.dialect.name == "postgresql" else sqlite
            statement = dialect.insert(table).on_conflict_do_nothing() if skip_conflicts else insert(table)
            if returning:
                result = await self.conn.execute(statement.returning(table.c.id, sort_by_parameter_order=True), rows)
                return Ids([ident for (ident,) in result.all()])
            await self.conn.execute(statement, rows)
            return Ids([])
        sql, order, processors = _insert_sql(self.conn.dialect, table, columns, len(rows), returning, skip_conflicts)
        drawn = Ids() if returning else Ids([])
        await self._defer(table.name, sql, _args([rows[i][name] for i, name in order], processors),
                          drawn if returning else None)
        return drawn

    async def update(self, table: Table, *, key: tuple[str, Any], values: dict[str, Any]) -> None:
        """UPDATE table SET values WHERE key column = key value, with the deferred writes."""
        await self.defer_update(table, key=key, values=values)
        await self.flush()

    async def defer_update(self, table: Table, *, key: tuple[str, Any], values: dict[str, Any]) -> None:
        """`update`, sent with the next batch (at once through SQLAlchemy)."""
        if not values:
            return
        column, value = key
        driver = await self._pg(deferring=True)
        if driver is None:
            await self.conn.execute(update(table).where(table.c[column] == value).values(values))
            return
        sql, processors, names = _update_sql(self.conn.dialect, table, tuple(values), column)
        given = {**values, column: value}
        await self._defer(table.name, sql, _args([given[name] for name in names], processors))

    async def run(self, statement: Executable, params: dict[str, Any]) -> None:
        """Execute a prepared statement (see `_prepared_sql`) that returns nothing, with the deferred writes."""
        await self.defer_run(statement, params)
        await self.flush()

    async def defer_run(self, statement: Executable, params: dict[str, Any]) -> None:
        """`run` for an INSERT, UPDATE or DELETE, sent with the next batch (at once through SQLAlchemy)."""
        driver = await self._pg(deferring=True)
        if driver is None:
            await self.conn.execute(statement, params)
            return
        sql, names, processors, constants = _prepared_sql(self.conn.dialect, statement)
        table = cast(Any, statement).table
        await self._defer(table.name, sql, _args(_bound(names, params, constants), processors))

    async def run_many(self, statement: Executable, params: list[dict[str, Any]]) -> None:
        """Execute a prepared statement once per parameter set, pipelined (asyncpg's executemany)."""
        if not params:
            return
        driver = await self._pg()
        if driver is None:
            await self.conn.execute(statement, params)
            return
        sql, names, processors, constants = _prepared_sql(self.conn.dialect, statement)
        rows = [_args(_bound(names, each, constants), processors) for each in params]
        await self._sent(sql, rows[0], driver.executemany(sql, rows))

    async def fetch(self, statement: Executable, params: dict[str, Any], *, sees_deferred: bool = True
                    ) -> list[Any]:
        """The rows of a prepared statement whose columns need no conversion (ids, numbers, text, UUIDs, and
        times compared or copied as the driver gives them). The deferred writes are sent first, unless
        `sees_deferred=False` says the statement reads no row they could touch."""
        driver = await self._pg(deferring=not sees_deferred)
        if driver is None:
            return list((await self.conn.execute(statement, params)).all())
        sql, names, processors, constants = _prepared_sql(self.conn.dialect, statement)
        args = _args(_bound(names, params, constants), processors)
        return list(await self._sent(sql, args, driver.fetch(sql, *args)))


    async def fetch_typed(self, statement: Select[Any], params: dict[str, Any], *, sees_deferred: bool = True
                          ) -> list[tuple[Any, ...]]:
        """The rows of a prepared SELECT, each value converted as SQLAlchemy converts it (enums, JSON, times);
        `sees_deferred` as for `fetch`."""
        driver = await self._pg(deferring=not sees_deferred)
        if driver is None:
            return [tuple(row) for row in (await self.conn.execute(statement, params)).all()]
        sql, names, processors, constants = _prepared_sql(self.conn.dialect, statement)
        convert = _result_processors(self.conn.dialect, statement)
        args = _args(_bound(names, params, constants), processors)
        return _converted(await self._sent(sql, args, driver.fetch(sql, *args)), convert)

    async def fetch_each(self, reads: Sequence[tuple[Executable, dict[str, Any]]], *, sees_deferred: bool = True
                         ) -> list[list[tuple[Any, ...]]]:
        """The rows of each of several prepared SELECTs, as `fetch_typed` gives them, in one round trip on
        PostgreSQL: one statement whose columns are arrays of each one's rows (`_together_sql`); elsewhere one
        after the other. Not for statements that lock, and their columns need a codec of the driver's inside a
        record (no native enum or composite types: this schema keeps enums as text). `sees_deferred` as for
        `fetch`."""
        driver = await self._pg(deferring=not sees_deferred)
        if driver is None or len(reads) == 1:
            return [await self.fetch_typed(cast(Select[Any], statement), params, sees_deferred=sees_deferred)
                    for statement, params in reads]
        sqls, widths, args = [], [], []
        for statement, params in reads:
            sql, names, processors, constants = _prepared_sql(self.conn.dialect, statement)
            sqls.append(sql)
            widths.append(len(names))
            args += _args(_bound(names, params, constants), processors)
        sql = _together_sql(tuple(sqls), widths)
        (arrays,) = await self._sent(sql, args, driver.fetch(sql, *args))
        return [_converted(rows, _result_processors(self.conn.dialect, cast(Select[Any], statement)))
                for rows, (statement, _params) in zip(arrays, reads, strict=True)]


def _converted(records: Sequence[Sequence[Any]], convert: list[Processor]) -> list[tuple[Any, ...]]:
    return [tuple(value if process is None or value is None else process(value)
                  for value, process in zip(record, convert, strict=True)) for record in records]


def _result_processors(dialect: Dialect, statement: Select[Any]) -> list[Processor]:
    key = id(statement)
    found = _results.get(key)
    if found is None or found[0] is not statement:
        processors: list[Processor] = [  # asyncpg gives numbers as Decimal or float already
            None if isinstance(column.type, Numeric) else column.type._cached_result_processor(dialect, None)
            for column in statement.selected_columns]
        found = _results[key] = (statement, processors)
    return found[1]


def records(model: Any, values: Sequence[Any]) -> Any:
    """A mapped object (not in any session) holding its table's column values, given in the table's order, as
    if loaded: set without the attribute events a constructor fires (a tenth of the time)."""
    found = _keys.get(model)
    if found is None:
        mapper = sa_inspect(model)
        by_column = {attr.columns[0].name: attr.key for attr in mapper.column_attrs}
        found = _keys[model] = ([by_column[column.name] for column in model.__table__.c], manager_of_class(model))
    keys, manager = found
    record = manager.new_instance()
    record.__dict__.update(zip(keys, values, strict=True))
    return record


def _with_defaults(table: Table, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows with every column that has a constant default and is not given set to it, so that the statement
    binds exactly the given keys; a column with a computed default must be given."""
    missing = [column for column in table.c if column.name not in rows[0] and column.default is not None]
    if not missing:
        return rows
    defaults = {}
    for column in missing:
        default = column.default
        if not getattr(default, "is_scalar", False):
            raise ValueError(f"{table.name}.{column.name} has a computed default: give it")
        defaults[column.name] = default.arg  # type: ignore[union-attr]
    return [{**defaults, **row} for row in rows]


def _args(values: list[Any], processors: list[Processor]) -> list[Any]:
    return [value if process is None else process(value) for value, process in zip(values, processors, strict=True)]


def table_of(model: Any) -> Table:
    """The Core table of a mapped class."""
    table: Table = model.__table__
    return table
