"""Every storage test runs against SQLite and PostgreSQL.

SQLite gets a fresh file per test. PostgreSQL shares one throw-away database per test session (creating a
database costs a third of a second), emptied before each test.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from domain.ports import UnitOfWorkFactory
from storage.engine import create_engine
from storage.schema import upgrade
from storage.uow import make_uow_factory
from tests.support.db import Database, clear_tables, create_postgres_database, drop_postgres_database, sqlite_url


@pytest.fixture(scope="session")
def shared_postgres_url(postgres_url: str) -> Iterator[str]:
    # A synchronous fixture with its own event loops: the database outlives every test's loop.
    url = asyncio.run(create_postgres_database(postgres_url))
    try:
        yield url
    finally:
        asyncio.run(drop_postgres_database(url))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return sqlite_url(tmp_path)
    url: str = request.getfixturevalue("shared_postgres_url")
    return url


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    await upgrade(database_url)
    engine = create_engine(database_url)
    await clear_tables(engine)
    try:
        yield Database(url=database_url, engine=engine, uow_factory=make_uow_factory(engine))
    finally:
        await engine.dispose()


@pytest.fixture
def uow_factory(database: Database) -> UnitOfWorkFactory:
    return database.uow_factory


@pytest.fixture
def is_postgres(database: Database) -> bool:
    return database.engine.dialect.name == "postgresql"
