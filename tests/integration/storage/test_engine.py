"""What ``create_engine`` promises beyond a connection: enforced foreign keys, SQLite's WAL and lock wait."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from domain.ports import UnitOfWorkFactory
from storage.engine import SQLITE_BUSY_TIMEOUT_MS, create_engine
from storage.schema import check_current, upgrade
from storage.uow import make_uow_factory
from tests.integration.storage import builders
from tests.support.db import sqlite_url


async def test_foreign_keys_are_enforced(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        with pytest.raises(IntegrityError):
            await uow.calls.add(builders.call("no-such-campaign"))


async def test_sqlite_connections_use_wal_and_wait_for_the_lock(tmp_path: Path) -> None:
    engine = create_engine(sqlite_url(tmp_path))
    try:
        async with engine.connect() as connection:
            assert (await connection.execute(text("PRAGMA journal_mode"))).scalar_one() == "wal"
            assert (await connection.execute(text("PRAGMA busy_timeout"))).scalar_one() == SQLITE_BUSY_TIMEOUT_MS
            assert (await connection.execute(text("PRAGMA foreign_keys"))).scalar_one() == 1
    finally:
        await engine.dispose()


async def test_an_in_memory_sqlite_database_is_migrated_through_its_engine() -> None:
    engine = create_engine("sqlite+aiosqlite://")
    try:
        await upgrade(engine)
        await check_current(engine)
        campaign = builders.campaign()
        uow_factory = make_uow_factory(engine)
        async with uow_factory() as uow:
            await uow.campaigns.add(campaign)
            await uow.commit()
        async with uow_factory() as uow:
            assert await uow.campaigns.get(campaign.id) == campaign
    finally:
        await engine.dispose()
