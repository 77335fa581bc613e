"""An exhausted connection pool, or a database that refuses connections, is answered as 'unavailable' (503),
never a crash (500)."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from domain.errors import DependencyUnavailable
from storage.engine import create_engine
from storage.schema import upgrade
from storage.uow import make_uow_factory
from tests.support.db import fresh_postgres_database


@pytest.mark.postgres
async def test_a_unit_of_work_that_gets_no_connection_in_time_says_the_database_is_busy(postgres_url: str) -> None:
    async with fresh_postgres_database(postgres_url) as url:
        await upgrade(url)
        engine = create_engine(url, pool_size=1, max_overflow=0, pool_timeout=0.2)
        try:
            uow_factory = make_uow_factory(engine)
            async with uow_factory() as holder:
                await holder.campaigns.get("x")  # holds the only connection
                with pytest.raises(DependencyUnavailable, match="The database is busy"):
                    async with uow_factory() as waiter:
                        await waiter.campaigns.get("y")
            async with uow_factory() as after:
                assert await after.campaigns.get("y") is None  # the pool serves again
        finally:
            await engine.dispose()


@pytest.mark.postgres
async def test_a_database_that_refuses_the_connection_is_unavailable_not_a_crash(postgres_url: str) -> None:
    role = f"nexus_refused_{uuid.uuid4().hex[:12]}"
    admin = create_async_engine(postgres_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        async with admin.connect() as connection:
            # A role that may hold no connection at all: PostgreSQL answers "too many connections".
            await connection.execute(text(f'CREATE ROLE "{role}" LOGIN CONNECTION LIMIT 0'))
        engine = create_engine(make_url(postgres_url).set(username=role, password=None).render_as_string(False))
        try:
            with pytest.raises(DependencyUnavailable, match="not taking connections"):
                async with make_uow_factory(engine)() as uow:
                    await uow.campaigns.get("x")
        finally:
            await engine.dispose()
    finally:
        async with admin.connect() as connection:
            await connection.execute(text(f'DROP ROLE IF EXISTS "{role}"'))
        await admin.dispose()
