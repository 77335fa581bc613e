"""An adaptive search calls the most promising providers first and the next wave only while a provider not
called yet could beat the best offer; the deadline ends it like any search; parallel stays as it was."""

from __future__ import annotations

from collections.abc import Coroutine
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from domain.models import CallOutcome, CallStatus, CallTask, Campaign, CampaignStatus, Provider, TimeWindow
from domain.notifications import ShortlistReady
from domain.services.campaigns import StartCampaign, create_campaign, run_campaign
from domain.services.context import Policy
from domain.services.fanout import FanOut, upper_bound
from domain.services.sweeps import sweep
from domain.services.tool_calls import end_call, open_call, report_offer
from tests.factories import ALEXANDERPLATZ, make_provider
from tests.fakes import FakeClock, FakeWorld

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 30, 9, tzinfo=BERLIN)
WINDOW = TimeWindow(datetime(2026, 12, 1, 8, tzinfo=BERLIN), datetime(2026, 12, 1, 12, tzinfo=BERLIN))
ADAPTIVE = Policy(fan_out=FanOut.ADAPTIVE, fan_out_wave=2)


def provider(provider_id: str, rating: float, km_east: float) -> Provider:
    return make_provider(provider_id, rating=rating, lat=ALEXANDERPLATZ.lat, lng=ALEXANDERPLATZ.lng + km_east / 67.8)


# best first by bound: a (5.0, near), b, c, d, e (2.0, far)
PROVIDERS = [
    provider("e", 2.0, 9.0),
    provider("c", 4.0, 3.0),
    provider("a", 5.0, 0.5),
    provider("d", 3.0, 6.0),
    provider("b", 4.5, 1.0),
]


def make_world(policy: Policy = ADAPTIVE) -> FakeWorld:
    return FakeWorld(clock=FakeClock(NOW), providers=list(PROVIDERS), policy=policy)


async def start(world: FakeWorld) -> str:
    command = StartCampaign(user_id=7, service="dentist", windows=[WINDOW], location=ALEXANDERPLATZ)
    campaign = await create_campaign(world.ports, command)
    await run_campaign(world.ports, campaign.id)
    return campaign.id


async def finish(world: FakeWorld, provider_id: str, offer_at: datetime | None) -> None:
    ctx = await open_call(world.ports, world.voice.token_for(provider_id))
    if offer_at is not None:
        await report_offer(world.ports, ctx, offer_at)
    await end_call(world.ports, ctx, CallOutcome.NO_AVAILABILITY if offer_at is None else CallOutcome.OFFER_MADE)


async def campaign_and_calls(world: FakeWorld, campaign_id: str) -> tuple[Campaign, list[CallTask]]:
    async with world.ports.uow() as uow:
        campaign = await uow.campaigns.get(campaign_id)
        calls = await uow.calls.list_for_campaign(campaign_id)
    assert campaign is not None
    return campaign, calls


def placed(world: FakeWorld) -> list[str]:
    return [r.call.provider.id for r in world.voice.placed]


async def test_parallel_calls_every_provider_at_once() -> None:
    world = make_world(Policy())
    campaign_id = await start(world)

    assert sorted(placed(world)) == ["a", "b", "c", "d", "e"]
    campaign, _ = await campaign_and_calls(world, campaign_id)
    assert campaign.reserve == []


async def test_adaptive_stops_after_the_first_wave_when_nobody_left_could_beat_its_best_offer() -> None:
    world = make_world()
    campaign_id = await start(world)
    assert placed(world) == ["a", "b"]
    campaign, _ = await campaign_and_calls(world, campaign_id)
    assert [p.id for p in campaign.reserve] == ["c", "d", "e"]

    await finish(world, "b", None)
    await finish(world, "a", WINDOW.start)  # the best slot there is, at the best provider

    campaign, calls = await campaign_and_calls(world, campaign_id)
    assert campaign.status is CampaignStatus.RANKING
    assert len(calls) == 2 and placed(world) == ["a", "b"]
    assert [o.provider_id for o in world.outbox.of_type(ShortlistReady)[0].shortlist] == ["a"]


async def test_adaptive_calls_the_next_wave_while_the_best_offer_could_be_beaten() -> None:
    world = make_world()
    campaign_id = await start(world)

    await finish(world, "a", None)
    campaign, _ = await campaign_and_calls(world, campaign_id)
    assert campaign.status is CampaignStatus.NEGOTIATING and placed(world) == ["a", "b"]  # b still talks

    fair = WINDOW.start + timedelta(hours=1)  # a fair offer: c could still beat it, d and e could not
    await finish(world, "b", fair)
    campaign, calls = await campaign_and_calls(world, campaign_id)
    assert campaign.status is CampaignStatus.NEGOTIATING
    assert placed(world) == ["a", "b", "c"]
    assert [p.id for p in campaign.reserve] == ["d", "e"]
    assert {c.provider.id: c.status for c in calls}["c"] is CallStatus.DIALING

    await finish(world, "c", None)

    campaign, calls = await campaign_and_calls(world, campaign_id)
    assert campaign.status is CampaignStatus.RANKING and len(calls) == 3
    b_offer = world.outbox.of_type(ShortlistReady)[0].shortlist[0]
    assert all(upper_bound(p, campaign, NOW) <= b_offer.score for p in campaign.reserve)


async def test_a_search_without_any_offer_calls_every_provider_wave_by_wave() -> None:
    world = make_world()
    campaign_id = await start(world)
    for wave in (["a", "b"], ["c", "d"], ["e"]):
        assert placed(world)[-len(wave) :] == wave
        for provider_id in wave:
            await finish(world, provider_id, None)

    campaign, calls = await campaign_and_calls(world, campaign_id)
    assert campaign.status is CampaignStatus.FAILED and len(calls) == 5
    assert campaign.failure_reason is not None and "5" in campaign.failure_reason


async def test_no_new_wave_after_the_deadline() -> None:
    world = make_world()
    campaign_id = await start(world)
    await finish(world, "a", None)

    world.clock.advance(world.policy.campaign_deadline + timedelta(seconds=1))
    await sweep(world.ports)  # ends b's call at the deadline and settles without widening

    campaign, calls = await campaign_and_calls(world, campaign_id)
    assert campaign.status is CampaignStatus.FAILED
    assert placed(world) == ["a", "b"] and len(calls) == 2


async def test_a_wave_call_that_cannot_be_placed_fails_alone() -> None:
    world = make_world()
    world.voice.unreachable.add("c")  # the next wave's first call fails alone; the search goes on
    campaign_id = await start(world)
    await finish(world, "a", None)
    await finish(world, "b", None)

    campaign, calls = await campaign_and_calls(world, campaign_id)
    by_provider = {c.provider.id: c for c in calls}
    assert by_provider["c"].status is CallStatus.FAILED
    assert by_provider["d"].status is CallStatus.DIALING
    assert campaign.status is CampaignStatus.NEGOTIATING


async def test_with_a_background_runner_the_call_that_ended_is_answered_before_the_next_wave_is_placed() -> None:
    world = make_world()
    started: list[tuple[Coroutine[Any, Any, None], str]] = []
    ports = replace(world.ports, background=lambda work, name: started.append((work, name)))
    command = StartCampaign(user_id=7, service="dentist", windows=[WINDOW], location=ALEXANDERPLATZ)
    campaign = await create_campaign(ports, command)
    await run_campaign(ports, campaign.id)
    for provider_id in ("a", "b"):
        ctx = await open_call(ports, world.voice.token_for(provider_id))
        await end_call(ports, ctx, CallOutcome.NO_AVAILABILITY)

    assert placed(world) == ["a", "b"] and [name for _, name in started] == [f"wave-{campaign.id}"]
    _, calls = await campaign_and_calls(world, campaign.id)
    assert [(c.provider.id, c.status) for c in calls[2:]] == [("c", CallStatus.QUEUED), ("d", CallStatus.QUEUED)]

    await started[0][0]  # the process's runner gets to it

    assert placed(world) == ["a", "b", "c", "d"]
