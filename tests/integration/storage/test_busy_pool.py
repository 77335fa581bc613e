"""An exhausted connection pool is an overload, answered as 'unavailable' (503), never a crash (500)."""

from __future__ import annotations

import pytest

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
