"""Fixtures for the tool endpoints over real HTTP: a migrated database, a hold store, a running server."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from storage.schema import upgrade
from tests.e2e.tools.server import ToolServer, running_tool_server
from tests.support.db import sqlite_url


@pytest.fixture(scope="session")
def migrated_sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated once per session; each test gets a copy (migrating costs more than copying)."""
    directory = tmp_path_factory.mktemp("tools-sqlite-template")
    asyncio.run(upgrade(sqlite_url(directory)))
    return directory / "nexus.db"


@pytest.fixture
def sqlite_database(migrated_sqlite_template: Path, tmp_path: Path) -> str:
    """A migrated SQLite database of this test alone."""
    shutil.copyfile(migrated_sqlite_template, tmp_path / "nexus.db")
    return sqlite_url(tmp_path)


@pytest.fixture
async def server(sqlite_database: str) -> AsyncIterator[ToolServer]:
    """The tool server on SQLite with the in-process hold store."""
    async with running_tool_server(sqlite_database) as running:
        yield running
