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
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import Executable
from sqlalchemy.engine import Result
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from domain.errors import DependencyUnavailable
from storage.engine import DEFERRED_BEGIN, SQLITE_BUSY_TIMEOUT_MS

# A unit of work waits at most this long for its turn on SQLite (as long as SQLite's own busy timeout).
WRITER_TURN_TIMEOUT_SECONDS = SQLITE_BUSY_TIMEOUT_MS / 1000


class Transaction:
    """What the repositories of one unit of work execute their statements on: the session, with the
    transaction begun at the first statement that is not a leading read (``read_ahead_of_transaction``)."""

    def __init__(self, session: AsyncSession, dialect: str, writer_turn: asyncio.Lock | None) -> None:
        self._session = session
        self._dialect = dialect
        self._writer_turn = writer_turn
        self._connection: AsyncConnection | None = None
        self.began = False
        self.holds_turn = False

    @property
    def dialect(self) -> str:
        return self._dialect

    async def _connect(self) -> AsyncConnection:
        if self._connection is None:
            # SQLite's BEGIN IMMEDIATE is left to ``begin`` below (storage.engine skips it for this option).
            self._connection = await self._session.connection(execution_options={DEFERRED_BEGIN: True})
        return self._connection

    async def begin(self) -> None:
        """Begin the transaction, unless it has begun (on SQLite: wait for the writer's turn first)."""
        if self.began:
            return
        if self._dialect == "sqlite":
            # Connection first, turn second: whoever holds the turn must never wait for a connection that a
            # unit of work waiting for the turn holds (that would be a deadlock once the pool is used up).
            connection = await self._connect()
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

    async def read_ahead_of_transaction(self, statement: Executable, params: Mapping[str, Any]) -> Result[Any]:
        """Run a read that needs no transaction: without one if none has begun, else inside it."""
        if self.began:
            return await self._session.execute(statement, params)
        connection = await self._connect()
        if self._dialect != "postgresql":
            return await connection.execute(statement, params)
        driver = (await connection.get_raw_connection()).dbapi_connection
        driver.autocommit = True  # type: ignore[union-attr]  # for this statement: no BEGIN before it
        try:
            return await connection.execute(statement, params)
        finally:
            driver.autocommit = False  # type: ignore[union-attr]

    async def execute(self, statement: Executable, params: Any = None, **options: Any) -> Any:
        await self.begin()
        return await self._session.execute(statement, params, **options)

    async def scalars(self, statement: Executable, **options: Any) -> Any:
        await self.begin()
        return await self._session.scalars(statement, **options)

    @asynccontextmanager
    async def begin_nested(self) -> AsyncIterator[None]:
        await self.begin()
        async with self._session.begin_nested():
            yield

    def ended(self) -> None:
        """The session committed or rolled back: the next statement begins anew, on a connection of its own."""
        self._connection = None
        self.began = False
        self.release_turn()

    def release_turn(self) -> None:
        if self.holds_turn and self._writer_turn is not None:
            self.holds_turn = False
            self._writer_turn.release()
