"""Rounds on a real database: the plan survives a restart (a fresh engine reads it), several processes sweeping
at once start a round once, and the follow-up refuses a stale write."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from domain.errors import ConcurrentUpdate
from domain.follow_ups import FollowUpKind, FollowUpStatus, PlanReason
from domain.models import CallOutcome, CallStatus, CampaignStatus, Provider, TimeWindow
from domain.ports import UnitOfWorkFactory
from domain.services.campaigns import StartCampaign, create_campaign, run_campaign, settle_campaign
from domain.services.context import Ports
from domain.services.rounds import KeepLooking, keep_looking
from domain.services.sweeps import sweep
from storage.engine import create_engine
from storage.uow import make_uow_factory
from tests.factories import ALEXANDERPLATZ, make_provider
from tests.fakes import FakeCalendar, FakeCallSlots, FakeClock, FakeDirectory, FakeHoldStore, FakeVoiceGateway
from tests.support.db import Database

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 30, 10, 0, tzinfo=BERLIN)
NEXT_WEEK = TimeWindow(datetime(2026, 12, 7, 8, tzinfo=BERLIN), datetime(2026, 12, 11, 18, tzinfo=BERLIN))
TOMORROW_AT_EIGHT = datetime(2026, 12, 1, 8, tzinfo=BERLIN)


def _ports(uow_factory: UnitOfWorkFactory, providers: list[Provider], clock: FakeClock) -> Ports:
    return Ports(
        uow=uow_factory,
        holds=FakeHoldStore(),
        calendar=FakeCalendar(),
        directory=FakeDirectory(providers),
        voice=FakeVoiceGateway(),
        clock=clock,
        slots=FakeCallSlots(),
    )


async def _nothing_fits(ports: Ports) -> str:
    campaign = await create_campaign(ports, StartCampaign(7, "dentist", [NEXT_WEEK], ALEXANDERPLATZ))
    await run_campaign(ports, campaign.id)
    async with ports.uow() as uow:
        calls = await uow.calls.list_for_campaign(campaign.id)
        for call in calls:
            call.advance(CallStatus.IN_PROGRESS, NOW)
            outcome = CallOutcome.WAITLISTED if call.provider.id == "p1" else CallOutcome.NO_AVAILABILITY
            call.end(CallStatus.COMPLETED, NOW, outcome)
            await uow.calls.save(call)
        await uow.commit()
    await settle_campaign(ports, campaign.id)
    return campaign.id


async def test_a_round_planned_before_a_restart_is_started_once_by_several_new_processes(database: Database) -> None:
    clock = FakeClock(NOW)
    providers = [make_provider(f"p{n}", lng=13.409 + n / 1000) for n in range(3)]
    planner = _ports(database.uow_factory, providers, clock)
    campaign_id = await _nothing_fits(planner)
    await keep_looking(planner, KeepLooking(7, campaign_id))

    # The planning process is gone; three fresh ones (own engines, own gateways) sweep at the due time.
    engines = [create_engine(database.url) for _ in range(3)]
    try:
        clock.current = TOMORROW_AT_EIGHT
        processes = [_ports(make_uow_factory(engine), providers, clock) for engine in engines]
        reports = await asyncio.gather(*(sweep(p) for p in processes))
    finally:
        for engine in engines:
            await engine.dispose()

    placed = [r.call.provider.id for p in processes for r in p.voice.placed]  # type: ignore[attr-defined]
    assert sorted(placed) == ["p0", "p1", "p2"]
    assert sum(r.calls_dialled for r in reports) == 3
    async with database.uow_factory() as uow:
        campaign = await uow.campaigns.get(campaign_id)
        follow_up = await uow.follow_ups.get(campaign_id)
        calls = await uow.calls.list_for_campaign(campaign_id)
    assert campaign is not None and campaign.status is CampaignStatus.NEGOTIATING
    assert follow_up is not None and follow_up.rounds_done == 1 and follow_up.plan == []
    assert sorted(c.round_no for c in calls) == [0, 0, 0, 1, 1, 1]
    assert next(c.provider.id for c in calls if c.round_no == 1) == "p1"  # the waitlisted provider first


async def test_the_follow_up_keeps_its_plan_and_refuses_a_stale_write(database: Database) -> None:
    clock = FakeClock(NOW)
    ports = _ports(database.uow_factory, [make_provider("p0"), make_provider("p1", lng=13.41)], clock)
    campaign_id = await _nothing_fits(ports)
    await keep_looking(ports, KeepLooking(7, campaign_id))

    async with database.uow_factory() as uow:
        stored = await uow.follow_ups.get(campaign_id)
        due = await uow.follow_ups.list_due(TOMORROW_AT_EIGHT)
        not_yet = await uow.follow_ups.list_due(TOMORROW_AT_EIGHT - timedelta(minutes=1))
    assert stored is not None
    assert stored.kind is FollowUpKind.KEEP_LOOKING and stored.status is FollowUpStatus.ACTIVE
    assert {(p.provider.id, p.due_at, p.reason, p.waitlisted) for p in stored.plan} == {
        ("p0", TOMORROW_AT_EIGHT, PlanReason.NEXT_OPENING, False),
        ("p1", TOMORROW_AT_EIGHT, PlanReason.WAITLIST, True),
    }
    assert [f.campaign_id for f in due] == [campaign_id]
    assert not_yet == []

    stale = stored
    async with database.uow_factory() as uow:
        fresh = await uow.follow_ups.get(campaign_id)
        assert fresh is not None
        fresh.plan = []
        await uow.follow_ups.save(fresh)
        await uow.commit()
    async with database.uow_factory() as uow:
        with pytest.raises(ConcurrentUpdate):
            await uow.follow_ups.save(stale)


async def test_a_search_with_a_shortlist_to_look_at_does_not_crowd_out_the_rounds_of_others(
    database: Database,
) -> None:
    clock = FakeClock(NOW)
    ports = _ports(database.uow_factory, [make_provider("p0"), make_provider("p1", lng=13.41)], clock)
    first, second = await _nothing_fits(ports), await _nothing_fits(ports)
    for campaign_id in (first, second):
        await keep_looking(ports, KeepLooking(7, campaign_id))
    async with database.uow_factory() as uow:  # the first has a shortlist the user has not looked at yet
        campaign = await uow.campaigns.get(first)
        assert campaign is not None
        campaign.transition(CampaignStatus.NEGOTIATING, NOW)
        campaign.transition(CampaignStatus.RANKING, NOW)
        await uow.campaigns.save(campaign)
        await uow.commit()

    async with database.uow_factory() as uow:
        due = await uow.follow_ups.list_due(TOMORROW_AT_EIGHT, limit=1)

    assert [f.campaign_id for f in due] == [second]
