"""Connections go to units of work in the order they asked for one (``storage.transaction.ConnectionGate``):
a unit of work that arrives just as a connection is given back queues behind those already waiting, and one
that gives up waiting leaves its turn to the next."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlalchemy.pool import AsyncAdaptedQueuePool

from domain.ports import UnitOfWorkFactory
from storage.engine import create_engine
from storage.transaction import ConnectionGate
from storage.uow import SqlAlchemyUnitOfWork
from tests.support.db import Database


@pytest.fixture
async def one_connection(database: Database) -> AsyncIterator[tuple[UnitOfWorkFactory, ConnectionGate]]:
    # The pool named: older SQLAlchemy gives a SQLite file no pool at all (NullPool) unless asked.
    engine = create_engine(database.url, poolclass=AsyncAdaptedQueuePool, pool_size=1, max_overflow=0, pool_timeout=20)
    gate = ConnectionGate.of(engine)
    assert gate is not None and gate.places == 1
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    yield (lambda: SqlAlchemyUnitOfWork(engine, sessions, None, None, gate)), gate
    await engine.dispose()


async def _until_waiting(gate: ConnectionGate, count: int) -> None:
    # Each task needs a few turns of the loop to reach the gate; nothing to await but the gate's own queue.
    for _ in range(1000):
        if gate.waiting == count:
            return
        await asyncio.sleep(0)
    raise AssertionError(f"{gate.waiting} units of work wait, not {count}")


async def _read(uow_factory: UnitOfWorkFactory, name: str, served: list[str]) -> None:
    async with uow_factory() as uow:
        await uow.campaigns.get(name)  # one connection: reads finish in the order connections were given
        served.append(name)


async def test_a_newcomer_does_not_take_the_connection_from_those_already_waiting(
    one_connection: tuple[UnitOfWorkFactory, ConnectionGate],
) -> None:
    uow_factory, gate = one_connection
    served: list[str] = []

    holder = uow_factory()
    async with holder:
        await holder.campaigns.get("holder")
        waiters = []
        for name in ("first", "second", "third"):
            waiters.append(asyncio.create_task(_read(uow_factory, name, served)))
            await _until_waiting(gate, len(waiters))
    # The holder has just given its connection back; a newcomer arrives before any waiter has run again.
    newcomer = asyncio.create_task(_read(uow_factory, "newcomer", served))
    await asyncio.gather(*waiters, newcomer)
    assert served == ["first", "second", "third", "newcomer"]
    assert gate.waiting == 0


async def test_a_unit_of_work_that_stops_waiting_leaves_its_turn_to_the_next(
    one_connection: tuple[UnitOfWorkFactory, ConnectionGate],
) -> None:
    uow_factory, gate = one_connection
    served: list[str] = []

    async with uow_factory() as holder:
        await holder.campaigns.get("holder")
        impatient = asyncio.create_task(_read(uow_factory, "impatient", served))
        await _until_waiting(gate, 1)
        patient = asyncio.create_task(_read(uow_factory, "patient", served))
        await _until_waiting(gate, 2)
        impatient.cancel()
        with pytest.raises(asyncio.CancelledError):
            await impatient
    await asyncio.wait_for(patient, timeout=10)
    assert served == ["patient"]
    # Every place is free again: as many units of work as places get a connection at once.
    async with uow_factory() as again:
        assert await again.campaigns.get("x") is None
    assert gate.waiting == 0
