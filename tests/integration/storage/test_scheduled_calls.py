"""Scheduled calls on a real database: a voicemail retry is stored once however many processes settle the
campaign at once, and a due call is placed once however many processes sweep at once."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from domain.models import CallOutcome, CallStatus, CampaignStatus, Provider, TimeWindow
from domain.opening_hours import opening_hours_from_spec
from domain.ports import UnitOfWorkFactory
from domain.services.campaigns import StartCampaign, create_campaign, run_campaign, settle_campaign
from domain.services.context import Ports
from domain.services.sweeps import sweep
from tests.factories import ALEXANDERPLATZ, make_provider
from tests.fakes import (
    FakeCalendar,
    FakeCallSlots,
    FakeClock,
    FakeDirectory,
    FakeHoldStore,
    FakeVoiceGateway,
)

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 30, 7, 50, tzinfo=BERLIN)
WINDOW = TimeWindow(datetime(2026, 12, 1, 8, tzinfo=BERLIN), datetime(2026, 12, 1, 12, tzinfo=BERLIN))
AT_EIGHT = opening_hours_from_spec({day: ["08:00-18:00"] for day in ("mon", "tue", "wed", "thu", "fri")})


def _ports(
    uow_factory: UnitOfWorkFactory, providers: list[Provider], clock: FakeClock
) -> tuple[Ports, FakeVoiceGateway]:
    voice = FakeVoiceGateway()
    ports = Ports(
        uow=uow_factory,
        holds=FakeHoldStore(),
        calendar=FakeCalendar(),
        directory=FakeDirectory(providers),
        voice=voice,
        clock=clock,
        slots=FakeCallSlots(),
    )
    return ports, voice


async def _warm(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        await uow.campaigns.get("none")
        await asyncio.sleep(0.05)  # hold the connection while the others open theirs


async def _start(ports: Ports) -> str:
    campaign = await create_campaign(ports, StartCampaign(7, "dentist", [WINDOW], ALEXANDERPLATZ))
    await run_campaign(ports, campaign.id)
    return campaign.id


async def test_a_voicemail_retry_is_stored_once_when_several_processes_settle_at_once(
    uow_factory: UnitOfWorkFactory,
) -> None:
    ports, _ = _ports(uow_factory, [make_provider("box")], FakeClock(NOW))
    campaign_id = await _start(ports)
    async with uow_factory() as uow:  # the call ended in a process that died before it settled the campaign
        (call,) = await uow.calls.list_for_campaign(campaign_id)
        call.end(CallStatus.COMPLETED, NOW, CallOutcome.VOICEMAIL)
        await uow.calls.save(call)
        await uow.commit()

    await asyncio.gather(*(_warm(uow_factory) for _ in range(5)))  # connections ready: the settles really overlap
    await asyncio.gather(*(settle_campaign(ports, campaign_id) for _ in range(5)))

    async with uow_factory() as uow:
        calls = await uow.calls.list_for_campaign(campaign_id)
        campaign = await uow.campaigns.get(campaign_id)
    assert [(c.status, c.not_before) for c in calls] == [
        (CallStatus.COMPLETED, None),
        (CallStatus.QUEUED, NOW + timedelta(minutes=10)),
    ]
    assert campaign is not None and campaign.status is CampaignStatus.NEGOTIATING


async def test_a_due_call_is_placed_once_when_several_processes_sweep_at_once(uow_factory: UnitOfWorkFactory) -> None:
    clock = FakeClock(NOW)
    providers = [
        Provider(p.id, p.name, p.service, p.phone, p.location, opening_hours=AT_EIGHT)
        for p in (make_provider(f"p{n}", lng=13.409 + n / 1000) for n in range(3))
    ]
    ports, voice = _ports(uow_factory, providers, clock)
    await _start(ports)
    assert voice.placed == []
    clock.advance(timedelta(minutes=10))

    await asyncio.gather(*(_warm(uow_factory) for _ in range(5)))
    reports = await asyncio.gather(sweep(ports), sweep(ports), sweep(ports))

    assert sum(r.calls_dialled for r in reports) == 3
    assert sorted(r.call.provider.id for r in voice.placed) == ["p0", "p1", "p2"]
    assert await ports.slots.in_use() == 3  # each placed call holds one place under the provider's limit
