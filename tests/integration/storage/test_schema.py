"""Migrations: an empty database is behind, an upgraded one is current, and the ORM matches the migrations."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.engine import Connection

from nexus import cli
from storage.engine import create_engine
from storage.orm import Base
from storage.schema import DatabaseAhead, DatabaseBehind, check_current, current_revision, head_revision, upgrade
from storage.uow import make_uow_factory
from tests.support.db import fresh_database, sqlite_url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def server_url(request: pytest.FixtureRequest) -> tuple[str, str | None]:
    if request.param == "sqlite":
        return "sqlite", None
    url: str = request.getfixturevalue("postgres_url")
    return "postgres", url


@pytest.fixture
async def empty_url(server_url: tuple[str, str | None], tmp_path: Path) -> AsyncIterator[str]:
    kind, postgres_url = server_url
    async with fresh_database(kind, tmp_path, postgres_url) as url:
        yield url


async def test_an_empty_database_is_behind_until_upgraded(empty_url: str) -> None:
    engine = create_engine(empty_url)
    try:
        assert await current_revision(engine) is None
        with pytest.raises(DatabaseBehind) as behind:
            await check_current(engine)
        assert "the database is behind the code" in str(behind.value).lower()
        assert "run `nexus db upgrade`" in str(behind.value)

        await upgrade(empty_url)
        await upgrade(empty_url)  # nothing left to do the second time

        assert await current_revision(engine) == head_revision() == "0010"
        await check_current(engine)
    finally:
        await engine.dispose()


async def test_a_database_at_an_unknown_revision_is_ahead(empty_url: str) -> None:
    await upgrade(empty_url)
    engine = create_engine(empty_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
        with pytest.raises(DatabaseAhead, match="revision 9999, which this version of NEXUS does not know"):
            await check_current(engine)
    finally:
        await engine.dispose()


async def test_the_models_match_the_migrated_schema(empty_url: str) -> None:
    await upgrade(empty_url)

    def differences(connection: Connection) -> list[Any]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))

    engine = create_engine(empty_url)
    try:
        async with engine.connect() as connection:
            assert await connection.run_sync(differences) == []
    finally:
        await engine.dispose()


def test_nexus_db_upgrade_says_where_the_database_stands(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("DATABASE_URL", sqlite_url(tmp_path))

    assert cli.main(["db", "upgrade"]) == 0
    assert capsys.readouterr().out == "Database created and up to date (revision 0010).\n"
    assert cli.main(["db", "upgrade"]) == 0
    assert capsys.readouterr().out == "Database is already up to date (revision 0010).\n"


async def test_upgrading_from_0001_keeps_chat_sessions_and_gives_them_a_version(empty_url: str) -> None:
    await upgrade(empty_url, "0001")
    engine = create_engine(empty_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                text("INSERT INTO chat_sessions (user_id, state, updated_at) VALUES (42, :state, :at)"),
                {"state": '{"step": "idle"}', "at": datetime(2026, 11, 26, 9, tzinfo=UTC)},
            )
        await upgrade(empty_url)
        uow_factory = make_uow_factory(engine)
        async with uow_factory() as uow:
            session = await uow.chat_sessions.get(42)
        assert session is not None
        assert (session.state, session.version) == ({"step": "idle"}, 0)
    finally:
        await engine.dispose()
