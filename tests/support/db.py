"""Fresh databases for tests: a SQLite file per test, or a throw-away PostgreSQL database on the server.

    async with fresh_postgres_database(postgres_url) as url:
        await upgrade(url)
        engine = create_engine(url)
        ...

or, for both backends at once, ``fresh_database(kind, tmp_path, postgres_url)`` and ``migrated(url)``.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from domain.ports import UnitOfWorkFactory
from storage.engine import create_engine
from storage.orm import Base
from storage.schema import upgrade
from storage.uow import make_uow_factory

KINDS = ("sqlite", "postgres")


def sqlite_url(tmp_path: Path, name: str = "nexus.db") -> str:
    """URL of a SQLite file in ``tmp_path`` (created on first connect)."""
    return f"sqlite+aiosqlite:///{tmp_path / name}"


async def create_postgres_database(postgres_url: str) -> str:
    """CREATE a uniquely named, empty database on the server of ``postgres_url``; returns its URL.

    ``postgres_url`` names an existing database to connect to for that (the ``test`` database in tests).
    """
    server = make_url(postgres_url)
    name = f"nexus_test_{uuid.uuid4().hex[:16]}"
    await _run_on_server(server, f'CREATE DATABASE "{name}"')
    return server.set(database=name).render_as_string(hide_password=False)


async def drop_postgres_database(database_url: str, postgres_url: str) -> None:
    """DROP a database ``create_postgres_database(postgres_url)`` made, ending any session still on it."""
    name = make_url(database_url).database
    await _run_on_server(make_url(postgres_url), f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@asynccontextmanager
async def fresh_postgres_database(postgres_url: str) -> AsyncIterator[str]:
    """A uniquely named, empty database on the server of ``postgres_url``: yields its URL, drops it afterwards."""
    url = await create_postgres_database(postgres_url)
    try:
        yield url
    finally:
        await drop_postgres_database(url, postgres_url)


async def _run_on_server(url: URL, statement: str) -> None:
    # CREATE/DROP DATABASE cannot run inside a transaction.
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


@asynccontextmanager
async def fresh_database(kind: str, tmp_path: Path, postgres_url: str | None = None) -> AsyncIterator[str]:
    """An empty database of ``kind`` (``"sqlite"`` or ``"postgres"``); yields its URL."""
    if kind == "sqlite":
        yield sqlite_url(tmp_path)
    elif kind == "postgres":
        if postgres_url is None:
            raise ValueError("A PostgreSQL database needs the server's URL (the postgres_url fixture).")
        async with fresh_postgres_database(postgres_url) as url:
            yield url
    else:
        raise ValueError(f"Unknown database kind {kind!r}; use one of {KINDS}.")


@dataclass(frozen=True, slots=True)
class Database:
    """An upgraded database, ready for units of work."""

    url: str
    engine: AsyncEngine
    uow_factory: UnitOfWorkFactory


@asynccontextmanager
async def migrated(url: str) -> AsyncIterator[Database]:
    """Upgrade the database at ``url`` to the code's schema and yield an engine and a unit-of-work factory."""
    await upgrade(url)
    engine = create_engine(url)
    try:
        yield Database(url=url, engine=engine, uow_factory=make_uow_factory(engine))
    finally:
        await engine.dispose()


async def clear_tables(engine: AsyncEngine) -> None:
    """Delete every row of every NEXUS table, so a shared database starts each test empty."""
    # DELETE rather than TRUNCATE: on a few rows it is many times faster on PostgreSQL.
    async with engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            await connection.execute(table.delete())
