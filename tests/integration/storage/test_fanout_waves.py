"""Adaptive fan-out on a real database: when the last calls of a wave end in two processes at once (or a
process died before it settled, or before it dialled), the next wave is stored once and each of its calls
placed once."""

from __future__ import annotations

import asyncio
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from domain.models import CallOutcome, CallStatus, CampaignStatus, Provider, TimeWindow
from domain.ports import UnitOfWorkFactory
from domain.services import campaigns
from domain.services.campaigns import StartCampaign, create_campaign, run_campaign, settle_campaign
from domain.services.context import Policy, Ports
from domain.services.fanout import FanOut
from domain.services.sweeps import sweep
from domain.services.tool_calls import end_call, open_call
from tests.factories import ALEXANDERPLATZ, make_provider
from tests.fakes import FakeCalendar, FakeCallSlots, FakeClock, FakeDirectory, FakeHoldStore, FakeVoiceGateway

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 30, 9, tzinfo=BERLIN)
WINDOW = TimeWindow(datetime(2026, 12, 1, 8, tzinfo=BERLIN), datetime(2026, 12, 1, 12, tzinfo=BERLIN))
PROVIDERS = [make_provider(f"p{n}", rating=5.0 - n / 2, lng=13.4132 + n / 100) for n in range(5)]


def process(uow_factory: UnitOfWorkFactory) -> tuple[Ports, FakeVoiceGateway]:
    """One NEXUS process: its own gateway and slots, the shared database."""
    voice = FakeVoiceGateway()
    ports = Ports(
        uow=uow_factory,
        holds=FakeHoldStore(),
        calendar=FakeCalendar(),
        directory=FakeDirectory(list(PROVIDERS)),
        voice=voice,
        clock=FakeClock(NOW),
        slots=FakeCallSlots(),
        policy=Policy(fan_out=FanOut.ADAPTIVE, fan_out_wave=2),
    )
    return ports, voice


async def _warm(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        await uow.campaigns.get("none")
        await asyncio.sleep(0.05)  # hold the connection while the others open theirs


async def _end_first_wave_unsettled(uow_factory: UnitOfWorkFactory, providers: list[Provider]) -> str:
    ports, voice = process(uow_factory)
    campaign = await create_campaign(ports, StartCampaign(7, "dentist", [WINDOW], ALEXANDERPLATZ))
    await run_campaign(ports, campaign.id)
    assert sorted(r.call.provider.id for r in voice.placed) == ["p0", "p1"]  # placed at once, in no fixed order
    async with uow_factory() as uow:  # both calls ended (no offer), nobody has settled the campaign yet
        for call in await uow.calls.list_for_campaign(campaign.id):
            call.end(CallStatus.COMPLETED, NOW, CallOutcome.NO_AVAILABILITY)
            await uow.calls.save(call)
        await uow.commit()
    return campaign.id


async def test_the_next_wave_is_stored_and_placed_once_when_two_processes_settle_at_once(
    uow_factory: UnitOfWorkFactory,
) -> None:
    campaign_id = await _end_first_wave_unsettled(uow_factory, PROVIDERS)
    (one, voice_one), (two, voice_two) = process(uow_factory), process(uow_factory)

    await asyncio.gather(*(_warm(uow_factory) for _ in range(4)))  # connections ready: the settles really overlap
    await asyncio.gather(settle_campaign(one, campaign_id), settle_campaign(two, campaign_id))

    async with uow_factory() as uow:
        calls = await uow.calls.list_for_campaign(campaign_id)
        campaign = await uow.campaigns.get(campaign_id)
    assert campaign is not None and campaign.status is CampaignStatus.NEGOTIATING
    assert [c.provider.id for c in calls] == ["p0", "p1", "p2", "p3"]
    assert [p.id for p in campaign.reserve] == ["p4"]
    placed = sorted(r.call.provider.id for r in voice_one.placed + voice_two.placed)
    assert placed == ["p2", "p3"]  # each wave call placed once, by whichever process claimed it
    assert all(c.status is CallStatus.DIALING for c in calls[2:])


async def test_a_wave_call_that_cannot_be_placed_fails_alone_and_the_search_widens_on(
    uow_factory: UnitOfWorkFactory,
) -> None:
    campaign_id = await _end_first_wave_unsettled(uow_factory, PROVIDERS)
    ports, voice = process(uow_factory)
    voice.unreachable.update({"p2", "p3"})

    await settle_campaign(ports, campaign_id)

    async with uow_factory() as uow:
        calls = await uow.calls.list_for_campaign(campaign_id)
    assert [(c.provider.id, c.status) for c in calls[2:]] == [
        ("p2", CallStatus.FAILED),
        ("p3", CallStatus.FAILED),
        ("p4", CallStatus.DIALING),
    ]
    assert [r.call.provider.id for r in voice.placed] == ["p4"]


async def test_a_wave_whose_process_died_before_dialling_is_placed_by_any_sweep(
    uow_factory: UnitOfWorkFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    campaign_id = await _end_first_wave_unsettled(uow_factory, PROVIDERS)
    dying, dying_voice = process(uow_factory)

    async def die(*_: object) -> None:
        return None

    monkeypatch.setattr(campaigns, "_dial_now", die)  # the wave is committed, then the process is gone
    await settle_campaign(dying, campaign_id)
    monkeypatch.undo()

    other, other_voice = process(uow_factory)
    reports = await asyncio.gather(sweep(other), sweep(other))

    assert sum(r.calls_dialled for r in reports) == 2
    assert dying_voice.placed == []
    assert sorted(r.call.provider.id for r in other_voice.placed) == ["p2", "p3"]


async def test_the_last_two_calls_ending_in_two_processes_at_once_start_one_wave(
    uow_factory: UnitOfWorkFactory,
) -> None:
    starter, voice = process(uow_factory)
    campaign = await create_campaign(starter, StartCampaign(7, "dentist", [WINDOW], ALEXANDERPLATZ))
    await run_campaign(starter, campaign.id)
    (one, voice_one), (two, voice_two) = process(uow_factory), process(uow_factory)
    first = await open_call(one, voice.token_for("p0"))
    second = await open_call(two, voice.token_for("p1"))

    await asyncio.gather(*(_warm(uow_factory) for _ in range(4)))
    await asyncio.gather(
        end_call(one, first, CallOutcome.NO_AVAILABILITY), end_call(two, second, CallOutcome.NO_AVAILABILITY)
    )

    async with uow_factory() as uow:
        calls = await uow.calls.list_for_campaign(campaign.id)
    assert [c.provider.id for c in calls] == ["p0", "p1", "p2", "p3"]
    assert sorted(r.call.provider.id for r in voice_one.placed + voice_two.placed) == ["p2", "p3"]
