"""A world's ``history``: opt-outs, calls already counted in practices' budgets and known facts, stored before
its search starts, as earlier searches would have left them."""

from __future__ import annotations

from datetime import timedelta

from domain.ports import UnitOfWork
from domain.practices import CallBudget, FactKind, OptOut, OptOutSource, practice_day
from domain.services.citizenship import learn_fact
from domain.services.context import Ports
from domain.services.transactions import in_transaction
from integrations.simulation.world import World

# counts every call it is given (a budget of none would count none)
_COUNT_ALL = CallBudget(per_day=1000, min_gap=timedelta(0))


async def seed_history(ports: Ports, world: World) -> None:
    """Store ``world.history`` (nothing when it is empty)."""
    history = world.history
    if not (history.opted_out or history.calls or history.known_full):
        return

    async def work(uow: UnitOfWork) -> None:
        for phone in history.opted_out:
            await uow.practices.add_opt_out(OptOut(phone, world.now, OptOutSource.CALL))
        for calls in history.calls:
            day = practice_day(calls.last, world.timezone)
            for n in range(calls.count):
                # the earlier calls a minute apart before the latest, all on the latest one's day
                await uow.practices.reserve_call(
                    calls.phone, day, calls.last - timedelta(minutes=calls.count - 1 - n), _COUNT_ALL
                )
        for fact in history.known_full:
            learned = fact.learned_at or world.now
            await learn_fact(
                uow,
                fact.phone,
                FactKind.FULLY_BOOKED,
                learned,
                ports.policy.fact_ttl,
                start=fact.start or learned,
                until=fact.until,
            )

    await in_transaction(ports.uow, work)
