"""Calls for later: a closed provider is called when it opens (or never, when that is after the deadline), a
voicemail box gets one more try, and the sweep places due calls once, whoever sweeps."""

import asyncio
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from domain.models import CallOutcome, CallStatus, CallTask, CampaignStatus, Provider, TimeWindow
from domain.notifications import CampaignFailed, ShortlistReady
from domain.opening_hours import opening_hours_from_spec
from domain.services.campaigns import StartCampaign, create_campaign, run_campaign
from domain.services.context import Policy
from domain.services.recovery import recover_open_calls
from domain.services.scheduling import retry_call_id
from domain.services.sweeps import sweep
from domain.services.tool_calls import end_call, open_call, report_offer
from tests.factories import ALEXANDERPLATZ, make_provider
from tests.fakes import FakeCallSlots, FakeClock, FakeWorld

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 30, 7, 50, tzinfo=BERLIN)  # a Monday, ten minutes before most practices open
WINDOW = TimeWindow(datetime(2026, 12, 1, 8, tzinfo=BERLIN), datetime(2026, 12, 1, 12, tzinfo=BERLIN))
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")


def provider(provider_id: str, opens: str | None, lng: float = 13.4090) -> Provider:
    hours = None if opens is None else opening_hours_from_spec({day: [f"{opens}-18:00"] for day in WEEKDAYS})
    base = make_provider(provider_id, lng=lng, name=f"Praxis {provider_id}")
    return Provider(
        id=base.id,
        name=base.name,
        service=base.service,
        phone=base.phone,
        location=base.location,
        rating=base.rating,
        opening_hours=hours,
    )


def make_world(*providers: Provider, policy: Policy | None = None) -> FakeWorld:
    return FakeWorld(clock=FakeClock(NOW), providers=list(providers), policy=policy or Policy())


async def start(world: FakeWorld) -> str:
    command = StartCampaign(user_id=7, service="dentist", windows=[WINDOW], location=ALEXANDERPLATZ)
    campaign = await create_campaign(world.ports, command)
    await run_campaign(world.ports, campaign.id)
    return campaign.id


async def calls(world: FakeWorld, campaign_id: str) -> list[CallTask]:
    async with world.ports.uow() as uow:
        return await uow.calls.list_for_campaign(campaign_id)


async def status(world: FakeWorld, campaign_id: str) -> CampaignStatus:
    async with world.ports.uow() as uow:
        campaign = await uow.campaigns.get(campaign_id)
    assert campaign is not None
    return campaign.status


async def finish(world: FakeWorld, provider_id: str, outcome: CallOutcome) -> None:
    """Act as the agent of the provider's latest call: end it with ``outcome``."""
    ctx = await open_call(world.ports, world.voice.token_for(provider_id))
    if outcome is CallOutcome.OFFER_MADE:
        await report_offer(world.ports, ctx, WINDOW.start + timedelta(hours=1))
    await end_call(world.ports, ctx, outcome)


def placed(world: FakeWorld) -> list[str]:
    return [r.call.provider.id for r in world.voice.placed]


async def test_a_closed_provider_is_called_when_it_opens_and_one_closed_past_the_deadline_never() -> None:
    world = make_world(provider("open", "07:00"), provider("unknown", None), provider("eight", "08:00"))
    world.providers.append(provider("eleven", "11:00"))

    campaign_id = await start(world)

    assert sorted(placed(world)) == ["open", "unknown"]
    by_provider = {c.provider.id: c for c in await calls(world, campaign_id)}
    eight, eleven = by_provider["eight"], by_provider["eleven"]
    assert (eight.status, eight.not_before) == (CallStatus.QUEUED, datetime(2026, 11, 30, 8, tzinfo=BERLIN))
    assert eight.not_before is not None
    assert eight.timeout_at == eight.not_before + world.policy.call_timeout  # the timeout starts when it is due
    assert (eleven.status, eleven.outcome) == (CallStatus.CANCELLED, CallOutcome.CLOSED)
    assert eleven.failure_reason == "The provider is closed until after the search's deadline, so it was not called."

    await finish(world, "open", CallOutcome.OFFER_MADE)
    await finish(world, "unknown", CallOutcome.NO_AVAILABILITY)
    assert await status(world, campaign_id) is CampaignStatus.NEGOTIATING  # waits for the 08:00 call

    assert (await sweep(world.ports)).calls_dialled == 0  # not yet due
    world.clock.advance(timedelta(minutes=10))
    assert (await sweep(world.ports)).calls_dialled == 1
    assert placed(world)[-1] == "eight"
    assert (await sweep(world.ports)).calls_dialled == 0  # placed once

    await finish(world, "eight", CallOutcome.OFFER_MADE)
    assert await status(world, campaign_id) is CampaignStatus.RANKING
    assert len(world.outbox.of_type(ShortlistReady)[0].shortlist) == 2


async def test_a_scheduled_call_gets_its_own_token_when_it_is_placed() -> None:
    world = make_world(provider("eight", "08:00"))
    campaign_id = await start(world)
    (queued,) = await calls(world, campaign_id)

    world.clock.advance(timedelta(minutes=10))
    await sweep(world.ports)

    (dialled,) = await calls(world, campaign_id)
    assert dialled.status is CallStatus.DIALING and dialled.token_hash != queued.token_hash
    ctx = await open_call(world.ports, world.voice.token_for("eight"))
    assert ctx.call.id == queued.id


async def test_two_processes_sweeping_at_once_place_a_due_call_once() -> None:
    world = make_world(*(provider(f"p{n}", "08:00") for n in range(4)))
    await start(world)
    world.clock.advance(timedelta(minutes=10))

    reports = await asyncio.gather(sweep(world.ports), sweep(world.ports), sweep(world.ports))

    assert sum(r.calls_dialled for r in reports) == 4
    assert sorted(placed(world)) == ["p0", "p1", "p2", "p3"]


async def test_a_search_where_everyone_is_closed_fails_with_a_reason_and_calls_nobody() -> None:
    world = make_world(provider("a", "11:00"), provider("b", "12:00"))

    campaign_id = await start(world)

    assert placed(world) == []
    assert await status(world, campaign_id) is CampaignStatus.FAILED
    failed = world.outbox.of_type(CampaignFailed)[0].campaign
    assert failed.failure_reason == (
        "All 2 providers are closed until after the search would end. Try again when they are open."
    )


async def test_a_scheduled_call_of_a_cancelled_search_is_never_placed() -> None:
    from domain.services.campaigns import cancel_campaign

    world = make_world(provider("eight", "08:00"))
    campaign_id = await start(world)
    await cancel_campaign(world.ports, 7, campaign_id)
    world.clock.advance(timedelta(minutes=10))

    assert (await sweep(world.ports)).calls_dialled == 0
    assert placed(world) == []


async def test_a_voicemail_box_gets_one_more_call_later_and_then_the_search_moves_on() -> None:
    world = make_world(provider("box", "07:00"), provider("desk", "07:00", lng=13.41))
    campaign_id = await start(world)
    first = next(c for c in await calls(world, campaign_id) if c.provider.id == "box")

    await finish(world, "box", CallOutcome.VOICEMAIL)
    await finish(world, "desk", CallOutcome.OFFER_MADE)

    retry = next(c for c in await calls(world, campaign_id) if c.id == retry_call_id(first.id))
    assert (retry.status, retry.not_before) == (CallStatus.QUEUED, NOW + timedelta(minutes=10))
    assert await status(world, campaign_id) is CampaignStatus.NEGOTIATING

    world.clock.advance(timedelta(minutes=10))
    await sweep(world.ports)
    await finish(world, "box", CallOutcome.VOICEMAIL)  # the box again: no third call

    assert sorted(placed(world)) == ["box", "box", "desk"]
    assert len(await calls(world, campaign_id)) == 3
    assert await status(world, campaign_id) is CampaignStatus.RANKING


async def test_no_retry_after_the_deadline_and_at_the_next_opening_when_closed_by_then() -> None:
    late = make_world(provider("box", "07:00"), policy=Policy(voicemail_retry_after=timedelta(minutes=30)))
    campaign_id = await start(late)
    await finish(late, "box", CallOutcome.VOICEMAIL)
    assert len(await calls(late, campaign_id)) == 1  # 08:20 is past the 08:10 deadline
    assert await status(late, campaign_id) is CampaignStatus.FAILED
    failed = late.outbox.of_type(CampaignFailed)[0].campaign
    assert failed.failure_reason == "None of the 1 providers I called answered."

    lunch = opening_hours_from_spec({day: ["07:00-07:55", "08:05-18:00"] for day in WEEKDAYS})
    box = provider("box", None)
    closing = make_world(
        Provider(box.id, box.name, box.service, box.phone, box.location, opening_hours=lunch),
        policy=Policy(voicemail_retry_after=timedelta(minutes=8)),
    )
    campaign_id = await start(closing)
    await finish(closing, "box", CallOutcome.VOICEMAIL)
    retry = (await calls(closing, campaign_id))[-1]
    assert retry.not_before == datetime(2026, 11, 30, 8, 5, tzinfo=BERLIN)  # 07:58 is closed: at 08:05


@pytest.mark.parametrize("retries", [0, 2])
async def test_the_number_of_voicemail_retries_is_the_policys(retries: int) -> None:
    world = make_world(
        provider("box", "07:00"), policy=Policy(voicemail_retries=retries, voicemail_retry_after=timedelta(minutes=3))
    )
    campaign_id = await start(world)
    for _ in range(retries + 1):
        await finish(world, "box", CallOutcome.VOICEMAIL)
        world.clock.advance(timedelta(minutes=3))
        await sweep(world.ports)

    assert placed(world) == ["box"] * (retries + 1)
    assert await status(world, campaign_id) is CampaignStatus.FAILED


async def test_a_scheduled_call_found_only_after_the_deadline_is_not_placed_and_the_search_settles() -> None:
    world = make_world(provider("open", "07:00"), provider("eight", "08:00"))
    campaign_id = await start(world)
    await finish(world, "open", CallOutcome.OFFER_MADE)
    world.clock.advance(timedelta(hours=1))  # no process swept between 08:00 and the 08:10 deadline

    await sweep(world.ports)

    assert placed(world) == ["open"]
    eight = next(c for c in await calls(world, campaign_id) if c.provider.id == "eight")
    assert (eight.status, eight.failure_reason) == (CallStatus.FAILED, "The search reached its deadline.")
    assert await status(world, campaign_id) is CampaignStatus.RANKING


async def test_recovery_after_a_restart_leaves_a_scheduled_call_to_the_sweep() -> None:
    world = make_world(provider("eight", "08:00"))
    campaign_id = await start(world)
    world.slots = FakeCallSlots()  # a restart: no process holds or waits for a place for any call
    world.clock.advance(timedelta(minutes=5))  # long after the call was created, still before 08:00

    report = await recover_open_calls(world.ports, None, timedelta(seconds=30))

    assert report.orphaned == 0
    (call,) = await calls(world, campaign_id)
    assert call.status is CallStatus.QUEUED
    world.clock.advance(timedelta(minutes=5))
    assert (await sweep(world.ports)).calls_dialled == 1  # placed when due, by whoever sweeps
    assert await world.slots.in_use() == 1
