"""Leading reads on SQLite, answered in the event loop's own thread.

aiosqlite runs every operation of a connection in a thread of its own and hands the answer back through the
event loop: a read of one call costs about six such hand-overs (check out, cursor, execute, fetch, close,
reset), each a thread switch, a wake-up of the loop and a turn of the GIL. That, not SQLite, was most of a
tool request's CPU (3.4 ms for check-availability, against 1.1 ms for the raw floor). A leading read
(``storage.transaction``) runs outside any transaction and, in WAL mode, never waits for a writer, so it can
run synchronously on a plain ``sqlite3`` connection instead: a primary-key read takes tens of microseconds,
less than one hand-over.

The reader never waits: its connection has no busy timeout, and a read SQLite refuses as busy (only possible
while another connection recovers the WAL) is answered ``None``, for the caller to read the usual way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Executable, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import ConnectionPoolEntry, QueuePool


class SqliteReader:
    """Runs leading reads of one SQLite file synchronously, on connections that can only read."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @classmethod
    def of(cls, engine: AsyncEngine) -> SqliteReader | None:
        """A reader of ``engine``'s file, or none when ``engine`` is not SQLite on a file (an in-memory database
        is private to its connection)."""
        url = engine.url
        if url.get_backend_name() != "sqlite" or not isinstance(engine.sync_engine.pool, QueuePool):
            return None
        # The same file through the standard library's driver; one connection is enough, as it is only ever
        # used by the event loop's thread, and each read returns it before anything else runs.
        # (Another thread's event loop may use it in turn: the pool hands the connection over, never shares it.)
        reader = create_engine(
            url.set(drivername="sqlite"),
            poolclass=QueuePool,
            pool_size=1,
            max_overflow=0,
            # Nothing to reset when a read gives its connection back: a SELECT opens no transaction here.
            pool_reset_on_return=None,
            connect_args={"check_same_thread": False},
        )

        @event.listens_for(reader, "connect")
        def _read_only(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
            cursor = dbapi_connection.cursor()
            try:
                cursor.execute("PRAGMA busy_timeout=0")  # never block the event loop; say busy instead
                cursor.execute("PRAGMA query_only=ON")
            finally:
                cursor.close()

        return cls(reader)

    def rows(self, statement: Executable, params: Mapping[str, Any]) -> list[Sequence[Any]] | None:
        """The rows of ``statement`` as committed now, or ``None`` if SQLite answered busy."""
        try:
            with self._engine.connect() as connection:
                # The standard driver begins no transaction for a SELECT, so nothing holds an old snapshot.
                return list(connection.execute(statement, dict(params)).all())
        except OperationalError as error:
            if "locked" in str(error.orig) or "busy" in str(error.orig):
                return None
            raise

    def dispose(self) -> None:
        self._engine.dispose()
