"""A unit of work sends its leading reads (the call, an offer) before any transaction and begins one at its
first other statement (``storage.transaction``). What that must not break, on SQLite and PostgreSQL: a
change made after a leading read is still caught, a reader does not wait for a writer, and writers waiting
for their turn never hold up the one whose turn it is, however small the pool."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta

import pytest
from sqlalchemy.pool import AsyncAdaptedQueuePool

from domain.errors import ConcurrentUpdate
from domain.models import CallStatus
from domain.ports import UnitOfWork, UnitOfWorkFactory
from domain.services.transactions import in_transaction
from storage.engine import create_engine
from storage.uow import make_uow_factory
from tests.integration.storage import builders
from tests.integration.storage.builders import NOW
from tests.support.db import Database


async def test_a_change_after_a_leading_read_is_caught_by_the_version(uow_factory: UnitOfWorkFactory) -> None:
    _, call = await builders.store_campaign_with_call(uow_factory)
    async with uow_factory() as slow:
        stale = await slow.calls.get(call.id)  # a leading read, outside any transaction
        assert stale is not None
        async with uow_factory() as quick:
            fresh = await quick.calls.get(call.id)
            assert fresh is not None
            fresh.advance(CallStatus.DIALING, NOW)
            await quick.calls.save(fresh)
            await quick.commit()
        stale.advance(CallStatus.DIALING, NOW)
        with pytest.raises(ConcurrentUpdate):
            await slow.calls.save(stale)


async def test_a_reader_does_not_wait_for_an_open_writer(uow_factory: UnitOfWorkFactory) -> None:
    campaign, call = await builders.store_campaign_with_call(uow_factory)
    async with uow_factory() as writer:
        changed = await writer.campaigns.get(campaign.id)
        assert changed is not None
        changed.radius_km = 4.5
        await writer.campaigns.save(changed)  # holds SQLite's write lock (and this process's writer turn)

        async def read() -> float | None:
            async with uow_factory() as reader:
                await reader.calls.get(call.id)
                seen = await reader.campaigns.get(campaign.id)
                await reader.commit()
            return None if seen is None else seen.radius_km

        # The reader sees the last committed campaign, at once, while the writer is still open.
        assert await asyncio.wait_for(read(), timeout=5) == campaign.radius_km
        await writer.commit()
    assert await asyncio.wait_for(read(), timeout=5) == 4.5


async def test_writers_waiting_for_their_turn_never_hold_up_the_pool(database: Database) -> None:
    campaign, call = await builders.store_campaign_with_call(database.uow_factory)
    # Two connections for twelve units of work at once: half start with a leading read (and then hold their
    # connection while they wait to write), half start by writing.
    # The pool named: older SQLAlchemy gives a SQLite file no pool at all (NullPool) unless asked.
    engine = create_engine(database.url, poolclass=AsyncAdaptedQueuePool, pool_size=2, max_overflow=0, pool_timeout=20)
    uow_factory = make_uow_factory(engine)

    def work(index: int, leading_read: bool) -> Callable[[UnitOfWork], Awaitable[None]]:
        async def act(uow: UnitOfWork) -> None:
            if leading_read:
                assert await uow.calls.get(call.id) is not None
            offer = builders.offer(campaign.id, call.id, start=NOW + timedelta(days=1, minutes=30 * index))
            await uow.offers.add(offer)

        return act

    try:
        async with asyncio.timeout(60):
            await asyncio.gather(*(in_transaction(uow_factory, work(i, i % 2 == 0)) for i in range(12)))
    finally:
        await engine.dispose()
    async with database.uow_factory() as uow:
        assert len(await uow.offers.list_for_campaign(campaign.id)) == 12
