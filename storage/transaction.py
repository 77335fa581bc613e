"""The transaction of one unit of work, begun only when it is needed.

A tool request mostly reads: the call (joined to its campaign and the user's appointments) and, when it
reports an offer, that offer. Wrapping those reads in BEGIN ... COMMIT costs two round trips more than the
reads themselves, and on SQLite it also makes a reader wait for the writer's turn. So a unit of work sends
its **leading reads** (reads a repository marks as such, before anything else in the unit of work) without
a transaction, and begins the transaction at its first other statement:

- PostgreSQL (read committed): every statement sees the latest committed data whether or not it runs in a
  transaction, so a leading read sees what it would have seen inside one. The driver's BEGIN is simply sent
  before the first other statement instead of before the first statement.
- SQLite: the leading reads run in autocommit mode (WAL lets them read beside a writer); the writer's turn
  and ``BEGIN IMMEDIATE`` are taken at the first other statement.

Whatever the unit of work later writes on the strength of a leading read is checked by the database as
before (versioned updates, ``ON CONFLICT``, constraints), so a record changed in between is detected, and
``domain.services.transactions.in_transaction`` starts again from a fresh read. Reads whose answer a write
relies on without such a check (the overlap check before booking, locking reads) are not leading reads.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any, ClassVar

from sqlalchemy import Executable
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.pool import QueuePool
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.dml import UpdateBase

from domain.errors import DependencyUnavailable
from storage.engine import DEFERRED_BEGIN, SQLITE_BUSY_TIMEOUT_MS
from storage.sqlite_reads import SqliteReader

# A unit of work waits at most this long for its turn on SQLite (as long as SQLite's own busy timeout).
WRITER_TURN_TIMEOUT_SECONDS = SQLITE_BUSY_TIMEOUT_MS / 1000


class DriverStatement:
    """A Core statement compiled once for asyncpg, run on the driver's connection with its statement cache.

    Only for reads whose parameters need no conversion on the way in (text, numbers, aware datetimes) and
    whose columns need none on the way out (asyncpg reads ``timestamptz`` as aware UTC datetimes, and
    SQLAlchemy's connection set-up makes it decode JSON): the rows equal what SQLAlchemy would return.
    """

    _compiled: ClassVar[dict[tuple[int, str], DriverStatement]] = {}

    def __init__(self, statement: Executable, dialect: Dialect) -> None:
        assert isinstance(statement, ClauseElement)
        compiled = statement.compile(dialect=dialect)
        assert isinstance(compiled, SQLCompiler)
        self.sql = str(compiled)
        self.names = list(compiled.positiontup or ())
        # Values bound in the statement itself (the status looked for); the others come with each call.
        self.defaults = {name: bind.value for name, bind in compiled.binds.items() if not bind.required}

    @classmethod
    def of(cls, statement: Executable, dialect: Dialect) -> DriverStatement:
        key = (id(statement), dialect.name)  # statements are module constants: their id is theirs for good
        known = cls._compiled.get(key)
        if known is None:
            known = cls._compiled[key] = cls(statement, dialect)
        return known

    async def fetch(self, driver: Any, params: Mapping[str, Any]) -> list[Sequence[Any]]:
        values = {**self.defaults, **params}
        rows: list[Sequence[Any]] = await driver.fetch(self.sql, *(values[name] for name in self.names))
        return rows


class ConnectionGate:
    """Connections of one engine handed out in the order they were asked for.

    SQLAlchemy's async pool lets a newcomer take a connection that was just given back while earlier
    requests still wait for one (its queue is tried without waiting first), and a waiter that loses that
    race queues again at the back. Under load a few requests then wait many times as long as the rest: with
    100 requests on 10 connections, the slowest percent waited 0.7 s for a connection while half waited
    none. A unit of work therefore takes a place here, first come first served (asyncio's semaphore hands a
    released place to its longest waiter), before it takes a connection: with as many places as the pool has
    connections, the pool always has one ready for whoever holds a place.
    """

    def __init__(self, places: int, timeout: float) -> None:
        self.places = places
        self._timeout = timeout
        self._semaphore = asyncio.Semaphore(places)

    @classmethod
    def of(cls, engine: AsyncEngine) -> ConnectionGate | None:
        """A gate as wide as ``engine``'s pool, or none when the pool has no fixed size (no queue to be fair in)."""
        pool = engine.sync_engine.pool
        if not isinstance(pool, QueuePool):
            return None
        return cls(pool.size() + max(pool._max_overflow, 0), pool.timeout())

    @property
    def waiting(self) -> int:
        """Units of work waiting for a place now."""
        return len(self._semaphore._waiters or ())

    async def enter(self) -> None:
        """Wait for a place in arrival order; as long as the pool would wait for a connection at most."""
        try:
            async with asyncio.timeout(self._timeout):
                await self._semaphore.acquire()
        except TimeoutError:
            raise DependencyUnavailable("The database is busy; please try again in a moment.") from None

    def leave(self) -> None:
        self._semaphore.release()


class Transaction:
    """What the repositories of one unit of work execute their statements on: one connection, with the
    transaction begun at the first statement that is not a leading read (``read_ahead_of_transaction``).

    Leading reads go straight to the connection (SQLAlchemy Core); an ORM session is made, bound to the same
    connection, only when a repository needs one, so a unit of work that only reads never builds one.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        session_factory: async_sessionmaker[AsyncSession],
        writer_turn: asyncio.Lock | None,
        gate: ConnectionGate | None = None,
        reader: SqliteReader | None = None,
    ) -> None:
        self._engine = engine
        self._gate = gate
        self._reader = reader
        self._in_gate = False
        self._session_factory = session_factory
        self._dialect = engine.dialect.name
        self._writer_turn = writer_turn
        self._connection: AsyncConnection | None = None
        self._session: AsyncSession | None = None
        self.began = False
        self.holds_turn = False

    @property
    def dialect(self) -> str:
        return self._dialect

    async def _connect(self) -> AsyncConnection:
        if self._connection is None:
            if self._gate is not None and not self._in_gate:
                await self._gate.enter()
                self._in_gate = True
            try:
                connection = await self._engine.connect()
            except BaseException:
                self._leave_gate()
                raise
            if self._dialect == "sqlite":
                # SQLite's BEGIN IMMEDIATE is left to ``begin`` below (storage.engine skips it for this option).
                await connection.execution_options(**{DEFERRED_BEGIN: True})
            self._connection = connection
        return self._connection

    async def _in_transaction(self) -> AsyncConnection:
        """The connection, its transaction begun (no round trip: the driver sends BEGIN with the next statement)."""
        await self.begin()
        connection = await self._connect()
        if not connection.in_transaction():
            await connection.begin()
        return connection

    async def _orm(self) -> AsyncSession:
        """The ORM session of this unit of work, on its connection and inside its transaction."""
        if self._session is None:
            connection = await self._in_transaction()
            # The session joins the connection's transaction; committing it is the unit of work's business.
            self._session = self._session_factory(bind=connection, join_transaction_mode="rollback_only")
        return self._session

    async def begin(self) -> None:
        """Begin the transaction, unless it has begun (on SQLite: wait for the writer's turn first)."""
        if self.began:
            return
        connection = await self._connect()
        if self._dialect == "sqlite":
            # Connection first, turn second: whoever holds the turn must never wait for a connection that a
            # unit of work waiting for the turn holds (that would be a deadlock once the pool is used up).
            if self._writer_turn is not None:
                try:
                    async with asyncio.timeout(WRITER_TURN_TIMEOUT_SECONDS):
                        await self._writer_turn.acquire()
                except TimeoutError:
                    raise DependencyUnavailable("The database is busy; please try again.") from None
                self.holds_turn = True
            await connection.exec_driver_sql("BEGIN IMMEDIATE")
        # PostgreSQL: the driver sends BEGIN itself before the next statement.
        self.began = True

    async def read_ahead_of_transaction(self, statement: Executable, params: Mapping[str, Any]) -> list[Sequence[Any]]:
        """The rows of a read that needs no transaction: without one if none has begun, else inside it.

        On PostgreSQL, outside a transaction, it is a prepared statement of the driver's own (compiled once,
        prepared once per connection; see ``DriverStatement``): the rows are the same, a third of the CPU. On
        SQLite it is read in the event loop's thread (``storage.sqlite_reads``), without taking a connection.
        """
        if not self.began and self._reader is not None:
            rows = self._reader.rows(statement, params)
            if rows is not None:
                return rows
        connection = await self._connect()
        if self.began or self._dialect != "postgresql":
            return list((await connection.execute(statement, params)).all())
        driver = (await connection.get_raw_connection()).driver_connection
        try:
            return await DriverStatement.of(statement, connection.dialect).fetch(driver, params)
        except Exception as error:
            if driver is None or not driver.is_closed():
                raise
            # The database dropped the connection: out of the pool with it, as SQLAlchemy would do.
            await connection.invalidate(error)
            raise DependencyUnavailable("The database connection was lost; please try again.") from error
        except BaseException:
            # Cancelled while the statement was under way: the connection's state is unknown, so it is not reused.
            await connection.invalidate()
            raise

    async def execute(self, statement: Executable, params: Any = None, **options: Any) -> Any:
        if isinstance(statement, UpdateBase):
            # INSERT, UPDATE and DELETE go to the connection as Core statements: nothing is ever added to the
            # session (repositories write with statements only, and their ORM reads populate existing rows
            # afresh), so its flush and bulk machinery would add only CPU (a fifth of a new offer's).
            return await (await self._in_transaction()).execute(statement, params)
        return await (await self._orm()).execute(statement, params, **options)

    async def scalars(self, statement: Executable, **options: Any) -> Any:
        return await (await self._orm()).scalars(statement, **options)

    @asynccontextmanager
    async def begin_nested(self) -> AsyncIterator[None]:
        # A savepoint of the connection's own: statements run on the connection, not through the session.
        async with (await self._in_transaction()).begin_nested():
            yield

    async def commit(self) -> None:
        """Commit what was written (nothing to do when only leading reads ran); the next statement begins anew."""
        await self._close_session()
        if self.began and self._connection is not None:
            await self._connection.commit()
        self._ended()

    async def rollback(self) -> None:
        await self._close_session()
        if self._connection is not None:
            await self._connection.rollback()
        self._ended()

    async def _close_session(self) -> None:
        # A session joined in "rollback_only" mode leaves the connection's transaction alone when it closes;
        # the next statement gets a new session in the connection's next transaction.
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    def _ended(self) -> None:
        self.began = False
        self.release_turn()

    async def close(self) -> None:
        """Roll back whatever was not committed and give the connection back to the pool."""
        session, self._session = self._session, None
        connection, self._connection = self._connection, None
        try:
            if session is not None:
                await session.close()
        finally:
            try:
                if connection is not None:
                    await connection.close()
            finally:
                self._leave_gate()
                self._ended()

    def _leave_gate(self) -> None:
        if self._in_gate and self._gate is not None:
            self._in_gate = False
            self._gate.leave()

    def release_turn(self) -> None:
        if self.holds_turn and self._writer_turn is not None:
            self.holds_turn = False
            self._writer_turn.release()
