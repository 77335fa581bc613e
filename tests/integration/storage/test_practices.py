"""Practices' records on a real database: the call budget holds when many searches (and processes) start at
once, opt-outs are kept once, and a shared fact is stored with nothing about the user who learned it."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import inspect, select

from domain.models import CallStatus, GeoPoint, TimeWindow
from domain.ports import UnitOfWorkFactory
from domain.practices import CallBudget, FactKind, OptOut, OptOutSource, practice_day
from domain.services.campaigns import StartCampaign, create_campaign, run_campaign
from domain.services.citizenship import learn_fact
from domain.services.context import Policy, Ports
from storage.engine import create_engine
from storage.orm import PracticeFactRow
from storage.uow import make_uow_factory
from tests.factories import ALEXANDERPLATZ, make_provider
from tests.fakes import FakeCalendar, FakeCallSlots, FakeClock, FakeDirectory, FakeHoldStore, FakeVoiceGateway
from tests.support.db import Database

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 30, 10, 0, tzinfo=BERLIN)
DAY = practice_day(NOW, "Europe/Berlin")
WINDOW = TimeWindow(datetime(2026, 12, 1, 8, tzinfo=BERLIN), datetime(2026, 12, 1, 12, tzinfo=BERLIN))
PHONE = "+49301234567"


async def _reserve(uow_factory: UnitOfWorkFactory, budget: CallBudget, at: datetime) -> bool:
    async with uow_factory() as uow:
        counted = await uow.practices.reserve_call(PHONE, DAY, at, budget)
        await uow.commit()
        return counted


@pytest.mark.parametrize("contenders", [2, 20])
async def test_counting_at_once_never_passes_the_budget(uow_factory: UnitOfWorkFactory, contenders: int) -> None:
    budget = CallBudget(per_day=3, min_gap=timedelta(0))
    results = await asyncio.gather(*(_reserve(uow_factory, budget, NOW) for _ in range(contenders)))
    assert sum(results) == min(3, contenders)
    async with uow_factory() as uow:
        assert (await uow.practices.budget_states([PHONE], DAY))[PHONE].calls_today == min(3, contenders)


async def test_counting_at_once_keeps_the_gap(uow_factory: UnitOfWorkFactory) -> None:
    budget = CallBudget(per_day=3, min_gap=timedelta(minutes=20))
    assert sum(await asyncio.gather(*(_reserve(uow_factory, budget, NOW) for _ in range(10)))) == 1
    assert not await _reserve(uow_factory, budget, NOW + timedelta(minutes=19))
    assert await _reserve(uow_factory, budget, NOW + timedelta(minutes=20))


async def test_the_count_is_per_day_of_the_practice(uow_factory: UnitOfWorkFactory) -> None:
    budget = CallBudget(per_day=1, min_gap=timedelta(0))
    assert await _reserve(uow_factory, budget, NOW)
    assert not await _reserve(uow_factory, budget, NOW)
    tomorrow = DAY + timedelta(days=1)
    async with uow_factory() as uow:
        assert await uow.practices.reserve_call(PHONE, tomorrow, NOW + timedelta(days=1), budget)
        state = (await uow.practices.budget_states([PHONE], tomorrow))[PHONE]
        await uow.commit()
    assert (state.calls_today, state.last_call_at) == (1, NOW + timedelta(days=1))
    async with uow_factory() as uow:
        assert await uow.practices.purge(NOW + timedelta(days=5), date(2026, 12, 1)) == 1  # the 30th's count
        await uow.commit()


async def test_an_opt_out_is_kept_once(uow_factory: UnitOfWorkFactory) -> None:
    async def add() -> bool:
        async with uow_factory() as uow:
            new = await uow.practices.add_opt_out(OptOut(PHONE, NOW, OptOutSource.CALL))
            await uow.commit()
            return new

    assert sorted(await asyncio.gather(add(), add(), add())) == [False, False, True]
    async with uow_factory() as uow:
        assert await uow.practices.opted_out([PHONE, "+49309999999"]) == {PHONE}
        assert [o.phone for o in await uow.practices.list_opt_outs()] == [PHONE]
        assert await uow.practices.remove_opt_out(PHONE)
        assert not await uow.practices.remove_opt_out(PHONE)


async def test_a_fact_is_stored_with_the_practice_only(database: Database) -> None:
    ttl = Policy().fact_ttl
    async with database.uow_factory() as uow:
        await learn_fact(uow, PHONE, FactKind.FULLY_BOOKED, NOW, ttl, start=WINDOW.start, until=WINDOW.end)
        await learn_fact(uow, PHONE, FactKind.OPENING_HOURS, NOW, ttl, detail="Mo-Fr 8-18")
        await uow.commit()
    async with database.uow_factory() as uow:
        facts = (await uow.practices.facts([PHONE], NOW + timedelta(hours=3)))[PHONE]
        assert [f.kind for f in facts] == [FactKind.OPENING_HOURS]  # "no slots" lives two hours, hours a day
        both = (await uow.practices.facts([PHONE], NOW))[PHONE]
        assert (both[0].start, both[0].until) == (WINDOW.start, WINDOW.end)
    # The table has no place for anything about a user, a search or a call.
    columns = {c.name for c in inspect(PracticeFactRow).columns}
    assert columns == {"id", "phone", "kind", "learned_at", "expires_at", "start_at", "until", "detail"}
    async with database.engine.connect() as connection:
        rows = (await connection.execute(select(PracticeFactRow.phone, PracticeFactRow.detail))).all()
    assert sorted(rows) == [(PHONE, ""), (PHONE, "Mo-Fr 8-18")]


async def test_many_searches_at_once_in_two_processes_never_pass_the_budget(database: Database) -> None:
    """Twelve users search the same six practices at the same moment, through two "processes" (engines with
    pools of their own), from two ends of town; each search calls three. No practice gets more than its three
    calls of the day, and every practice gets all three."""
    providers = [make_provider(f"p{n}", lat=52.5220 + n / 1000) for n in range(6)]
    budget = CallBudget(per_day=3, min_gap=timedelta(0))
    second_engine = create_engine(database.url)
    voice = FakeVoiceGateway()
    try:
        factories = [database.uow_factory, make_uow_factory(second_engine)]

        def ports(n: int) -> Ports:
            return Ports(
                uow=factories[n % 2],
                holds=FakeHoldStore(),
                calendar=FakeCalendar(),
                directory=FakeDirectory(providers),
                voice=voice,
                clock=FakeClock(NOW),
                slots=FakeCallSlots(),
                policy=Policy(call_budget=budget, campaigns_per_hour=99),
            )

        async def search(n: int) -> str:
            # half of them search from the other end, so they rank (and count) the practices the other way round
            where = ALEXANDERPLATZ if n % 2 else GeoPoint(52.5300, 13.4090)
            command = StartCampaign(1000 + n, "dentist", [WINDOW], where, max_calls=3)
            campaign = await create_campaign(ports(n), command)
            await run_campaign(ports(n), campaign.id)
            return campaign.id

        campaign_ids = await asyncio.gather(*(search(n) for n in range(12)))
    finally:
        await second_engine.dispose()

    per_practice = Counter(r.call.provider.id for r in voice.placed)
    assert max(per_practice.values()) <= 3
    assert sum(per_practice.values()) == 6 * 3  # the budget of every practice used, not more
    per_search = Counter(r.call.campaign_id for r in voice.placed)
    assert all(count <= 3 for count in per_search.values())
    async with database.uow_factory() as uow:
        states = await uow.practices.budget_states([p.phone for p in providers], DAY)
        skipped = [
            c
            for campaign_id in campaign_ids
            for c in await uow.calls.list_for_campaign(campaign_id)
            if c.status is CallStatus.CANCELLED
        ]
    assert all(state.calls_today == 3 for state in states.values())
    assert skipped  # the searches that came late say whom they passed over
