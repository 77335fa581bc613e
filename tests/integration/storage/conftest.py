"""Every storage test runs against SQLite and PostgreSQL.

Migrating costs more than most tests, so each backend is migrated once per session: SQLite tests get a
copy of a migrated file, PostgreSQL tests share one throw-away database, emptied before each test.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from domain.ports import UnitOfWorkFactory
from storage.engine import create_engine
from storage.schema import upgrade
from storage.uow import make_uow_factory
from tests.support.db import Database, clear_tables, create_postgres_database, drop_postgres_database, sqlite_url

# Session fixtures run their async set-up in event loops of their own: what they make outlives every test's loop.


@pytest.fixture(scope="session")
def migrated_sqlite_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("sqlite-template")
    asyncio.run(upgrade(sqlite_url(directory)))
    return directory / "nexus.db"


@pytest.fixture(scope="session")
def shared_postgres_url(postgres_url: str) -> Iterator[str]:
    url = asyncio.run(create_postgres_database(postgres_url))
    try:
        asyncio.run(upgrade(url))
        yield url
    finally:
        asyncio.run(drop_postgres_database(url, postgres_url))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated database of each kind."""
    if request.param == "sqlite":
        shutil.copyfile(request.getfixturevalue("migrated_sqlite_file"), tmp_path / "nexus.db")
        return sqlite_url(tmp_path)
    url: str = request.getfixturevalue("shared_postgres_url")
    return url


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    async with _emptied(database_url) as database:
        yield database


@pytest.fixture
async def postgres_database(shared_postgres_url: str) -> AsyncIterator[Database]:
    """For the tests of what only PostgreSQL does."""
    async with _emptied(shared_postgres_url) as database:
        yield database


@pytest.fixture
def uow_factory(database: Database) -> UnitOfWorkFactory:
    return database.uow_factory


@asynccontextmanager
async def _emptied(url: str) -> AsyncIterator[Database]:
    engine = create_engine(url)
    await clear_tables(engine)
    try:
        yield Database(url=url, engine=engine, uow_factory=make_uow_factory(engine))
    finally:
        await engine.dispose()
