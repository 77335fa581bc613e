"""Running a piece of work in one unit of work, retried when another process changed the same record."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from domain.errors import ConcurrentUpdate
from domain.ports import UnitOfWork, UnitOfWorkFactory

T = TypeVar("T")

ATTEMPTS = 8


async def in_transaction(uow_factory: UnitOfWorkFactory, work: Callable[[UnitOfWork], Awaitable[T]]) -> T:
    """Run ``work`` in a fresh unit of work and commit; start again from a fresh read on ``ConcurrentUpdate``.

    ``work`` must only read and write through the unit of work (no outside effects), so that running it
    again is safe.
    """
    for attempt in range(ATTEMPTS):
        async with uow_factory() as uow:
            try:
                result = await work(uow)
                await uow.commit()
            except ConcurrentUpdate:
                if attempt == ATTEMPTS - 1:
                    raise
                continue
            return result
    raise AssertionError("unreachable")  # pragma: no cover
