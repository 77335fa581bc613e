"""The database engine: one per process, shared by every unit of work."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

# How long a SQLite writer waits for another to finish before giving up with "database is locked".
SQLITE_BUSY_TIMEOUT_MS = 10_000
# Execution option of a connection whose transaction its user begins itself (``storage.transaction``).
DEFERRED_BEGIN = "nexus_deferred_begin"


def create_engine(url: str, **options: Any) -> AsyncEngine:
    """An async engine for ``sqlite+aiosqlite://`` or ``postgresql+asyncpg://`` URLs.

    On SQLite every transaction starts with ``BEGIN IMMEDIATE``: writers queue up one at a time (WAL lets
    readers of other processes carry on), which makes the overlap check for appointments exact. Foreign
    keys are enforced. ``options`` go to ``create_async_engine``.
    """
    engine = create_async_engine(url, **options)
    if make_url(url).get_backend_name() == "sqlite":
        _serialise_sqlite(engine)
    return engine


def _serialise_sqlite(engine: AsyncEngine) -> None:
    # The recipe from SQLAlchemy's SQLite documentation: stop the driver from issuing its own (deferred)
    # BEGIN, and issue BEGIN IMMEDIATE ourselves whenever SQLAlchemy starts a transaction.
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA foreign_keys=ON")
        finally:
            cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        if not connection.get_execution_options().get(DEFERRED_BEGIN):
            connection.exec_driver_sql("BEGIN IMMEDIATE")
