"""Statements on the hot path: written once in SQLAlchemy Core against the model tables,
compiled for asyncpg when their module loads, run through one typed helper.

Every inbound message and every outbound send makes a dozen statements. Through the ORM each
costs about four times the client CPU of the same statement prepared on the driver
(``python -m bench.statements``: an insert 394 µs against 90 µs), so the consumers' statements
skip SQLAlchemy's execution layer, but not its SQL: a statement is a Core construct on the
model's ``Table`` (columns, joins and types checked where they are written), ``Compiled.of``
turns it into asyncpg's ``$n`` text once, and ``Sql`` runs it on the unit of work's own
connection, in its transaction::

    _SET_SENTIMENT = Compiled.of(
        update(messages)
        .where(messages.c.tenant_id == param("tenant_id"), messages.c.id == param("message_id"))
        .values(sentiment_label=param("label"), updated_at=func.now())
    )
    await self.sql.run(_SET_SENTIMENT, tenant_id=..., message_id=..., label="negative")

Parameters are named (``param``); a fixed value the statement always uses (a status, a
direction, ``limit(1)``) is written into the SQL text as a literal when the statement compiles,
so a partial index whose predicate names that value (``WHERE status = 'pending'``) is seen by
the planner. Rows come back as the driver's records, read by position into the repository's
frozen dataclasses; no ORM row crosses a repository's boundary on this path.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, NoReturn, Protocol, cast

from sqlalchemy import BindParameter, String, Table, bindparam
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects.postgresql import asyncpg as asyncpg_dialect
from sqlalchemy.dialects.postgresql.asyncpg import AsyncAdapt_asyncpg_dbapi
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.base import Executable
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ClauseElement
from sqlalchemy.types import TypeEngine


class _Compiler(asyncpg_dialect.PGCompiler_asyncpg):
    """asyncpg's compiler, writing a Python value given in the construct
    (``status == MessageStatus.PENDING``, ``limit(1)``, ``in_([...])``) as a literal of the SQL
    text: the planner sees it (a partial index's predicate), and the caller gives only the
    named parameters."""

    def visit_bindparam(self, bindparam: BindParameter[Any], **kw: Any) -> str:  # type: ignore[override]
        if bindparam.value is not None and bindparam.callable is None:
            if isinstance(bindparam.value, str) and bindparam.type._isnull:
                # Text where SQLAlchemy has no column to take a type from (a CASE's value).
                text = self.render_literal_value(bindparam.value, String())  # type: ignore[no-untyped-call]
                return cast(str, text)
            kw["literal_binds"] = True
        return cast(str, super().visit_bindparam(bindparam, **kw))  # type: ignore[no-untyped-call]


class _Dialect(asyncpg_dialect.PGDialect_asyncpg):
    statement_compiler = _Compiler


_DIALECT = _Dialect()  # type: ignore[no-untyped-call]


class Row(Protocol):
    """A record as asyncpg returns it: read by position."""

    def __getitem__(self, index: int, /) -> Any: ...

    def __len__(self) -> int: ...

    def __iter__(self) -> Iterator[Any]: ...


def table_of(model: type[Any]) -> Table:
    """A model's table, for Core statements (``messages = table_of(Message)``)."""
    return cast(Table, model.__table__)


def param(
    name: str, type_: TypeEngine[Any] | type[TypeEngine[Any]] | None = None
) -> BindParameter[Any]:
    """A named parameter the caller gives when running the statement."""
    return bindparam(name, type_=type_)


@dataclass(frozen=True, slots=True)
class Compiled:
    """A Core statement compiled once for asyncpg: its ``$n`` text and its parameters in order."""

    sql: str
    names: tuple[str, ...]
    # Parameters whose type converts the Python value first (JSON is sent as its text).
    processors: tuple[tuple[int, Callable[[Any], Any]], ...]

    @classmethod
    def of(cls, statement: Executable) -> Compiled:
        if not isinstance(statement, ClauseElement):
            raise TypeError(f"not a SQL statement: {statement!r}")
        compiled = cast(SQLCompiler, statement.compile(dialect=_DIALECT))
        names = tuple(compiled.positiontup or ())
        found = compiled._bind_processors  # the dialect's own conversions (JSON to text)
        processors: list[tuple[int, Callable[[Any], Any]]] = []
        for position, name in enumerate(names):
            processor = found.get(name)
            if processor is None:
                continue
            if not callable(processor):  # a tuple_() parameter: not used on this path
                raise ValueError(f"parameter {name!r}: tuple parameters are not supported")
            processors.append((position, processor))
        return cls(str(compiled), names, tuple(processors))

    def arguments(self, params: Mapping[str, object]) -> list[object]:
        """The values in the statement's order; a missing or unknown name is a TypeError."""
        try:
            if len(params) != len(self.names):
                raise KeyError
            values = [params[name] for name in self.names]
        except KeyError:
            missing = sorted(set(self.names) - set(params))
            unknown = sorted(set(params) - set(self.names))
            raise TypeError(f"statement parameters: missing {missing}, unknown {unknown}") from None
        for position, processor in self.processors:
            if values[position] is not None:
                values[position] = processor(values[position])
        return values


class Sql:
    """Runs compiled statements on the asyncpg connection of a unit of work's transaction.

    One per unit of work. ORM rows a management path staged in the same session are flushed
    first, so what was written reads in order. A statement the database refuses raises what the
    session would raise (``sqlalchemy.exc.IntegrityError``, ``DBAPIError``, …, the driver's error
    as its cause, the parameters left out), so callers and the API's error handlers see one kind
    of error whichever way a statement ran.
    """

    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self._driver: Any = None
        self._adapted: Any = None

    async def _connection(self) -> Any:
        session = self._session
        if session.new or session.dirty or session.deleted:
            await session.flush()
        if self._driver is None:
            connection = await session.connection()
            raw = await connection.get_raw_connection()
            self._adapted = raw.dbapi_connection
            self._driver = raw.driver_connection
        return self._driver

    async def _call(self, method: str, statement: Compiled, params: Mapping[str, object]) -> Any:
        arguments = statement.arguments(params)
        driver = await self._connection()
        try:
            return await getattr(driver, method)(statement.sql, *arguments)
        except Exception as error:
            self._raise_translated(error, statement)

    def _raise_translated(self, error: Exception, statement: Compiled) -> NoReturn:
        try:
            # Raises the DBAPI form of a database error, and any other error as it is.
            self._adapted._handle_exception(error)
        except AsyncAdapt_asyncpg_dbapi.Error as adapted:
            raise sa_exc.DBAPIError.instance(
                statement.sql,
                None,
                adapted,
                AsyncAdapt_asyncpg_dbapi.Error,
                hide_parameters=True,
                dialect=_DIALECT,
            ) from adapted
        raise error  # not reached: ``_handle_exception`` always raises

    async def rows(self, statement: Compiled, /, **params: object) -> list[Row]:
        rows: list[Row] = await self._call("fetch", statement, params)
        return rows

    async def row(self, statement: Compiled, /, **params: object) -> Row | None:
        row: Row | None = await self._call("fetchrow", statement, params)
        return row

    async def value(self, statement: Compiled, /, **params: object) -> Any:
        """The first column of the first row (None when there is no row)."""
        return await self._call("fetchval", statement, params)

    async def run(self, statement: Compiled, /, **params: object) -> None:
        await self._call("execute", statement, params)
