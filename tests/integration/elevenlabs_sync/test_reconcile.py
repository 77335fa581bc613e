"""Calls whose webhook never came: ``reconcile_silent_calls`` asks the (fake) ElevenLabs API how they went."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from elevenlabs import AsyncElevenLabs

from domain.models import CallOutcome, CallStatus, CallTask, CampaignStatus, TimeWindow
from domain.services.campaigns import StartCampaign, create_campaign, run_campaign
from domain.services.reconcile import reconcile_silent_calls
from integrations.elevenlabs import make_elevenlabs_client
from integrations.elevenlabs.agents import conversation_fetcher
from tests.factories import ALEXANDERPLATZ, make_provider
from tests.fakes import FakeClock, FakeWorld
from tests.integration.elevenlabs.conftest import API_KEY, FakeElevenLabs

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
DAY = datetime(2026, 12, 1, tzinfo=UTC)
QUIET = timedelta(minutes=5)

ServerMaker = Callable[[web.Application], Awaitable[TestServer]]


@pytest.fixture
def world() -> FakeWorld:
    providers = [make_provider(p, name=f"{p.title()} Dental") for p in ("done", "talking", "unknown")]
    return FakeWorld(clock=FakeClock(NOW), providers=providers)


@pytest.fixture
def api() -> FakeElevenLabs:
    return FakeElevenLabs()


@pytest.fixture
async def client(api: FakeElevenLabs, aiohttp_server: ServerMaker) -> AsyncIterator[AsyncElevenLabs]:
    server = await aiohttp_server(api.app())
    async with httpx.AsyncClient() as http:
        yield make_elevenlabs_client(API_KEY, str(server.make_url("/")), http_client=http)


async def start(world: FakeWorld) -> dict[str, CallTask]:
    window = TimeWindow(DAY.replace(hour=11), DAY.replace(hour=16))
    command = StartCampaign(user_id=7, service="dentist", windows=[window], location=ALEXANDERPLATZ)
    campaign = await create_campaign(world.ports, command)
    await run_campaign(world.ports, campaign.id)
    return await calls(world, campaign.id)


async def calls(world: FakeWorld, campaign_id: str) -> dict[str, CallTask]:
    async with world.ports.uow() as uow:
        return {c.provider.id: c for c in await uow.calls.list_for_campaign(campaign_id)}


def conversation(conversation_id: str, status: str, **extra: Any) -> dict[str, Any]:
    return {
        "agent_id": "agent_discover",
        "conversation_id": conversation_id,
        "status": status,
        "metadata": {"start_time_unix_secs": int(NOW.timestamp()), "call_duration_secs": 40},
        "has_audio": False,
        "has_user_audio": False,
        "has_response_audio": False,
        "transcript": [],
        **extra,
    }


async def test_calls_elevenlabs_says_are_over_end_and_the_others_stay_open(
    world: FakeWorld, api: FakeElevenLabs, client: AsyncElevenLabs
) -> None:
    placed = await start(world)
    done, talking = placed["done"].conversation_id, placed["talking"].conversation_id
    assert done and talking
    api.conversations[done] = conversation(
        done,
        "done",
        transcript=[{"role": "user", "message": "We are fully booked.", "time_in_call_secs": 4}],
        analysis={"call_successful": "failure", "transcript_summary": "No time this week."},
    )
    api.conversations[talking] = conversation(talking, "in-progress")
    world.clock.advance(QUIET + timedelta(seconds=1))

    report = await reconcile_silent_calls(world.ports, conversation_fetcher(client), QUIET)

    assert (report.asked, report.ended, report.unreachable) == (3, 1, 0)
    now = await calls(world, placed["done"].campaign_id)
    assert now["done"].status is CallStatus.COMPLETED
    assert now["done"].outcome is CallOutcome.OTHER
    assert now["done"].summary == "No time this week."
    assert [t.text for t in now["done"].transcript] == ["We are fully booked."]
    assert now["talking"].status is CallStatus.DIALING
    assert now["unknown"].status is CallStatus.DIALING  # ElevenLabs knows it not: the timeout sweep decides


async def test_the_outcome_the_agent_collected_is_kept(
    world: FakeWorld, api: FakeElevenLabs, client: AsyncElevenLabs
) -> None:
    placed = await start(world)
    done = placed["done"].conversation_id
    assert done
    api.conversations[done] = conversation(
        done,
        "done",
        analysis={
            "call_successful": "success",
            "transcript_summary": "Fully booked until January.",
            "data_collection_results": {"outcome": {"data_collection_id": "outcome", "value": "no_availability"}},
        },
    )
    world.clock.advance(QUIET + timedelta(seconds=1))

    await reconcile_silent_calls(world.ports, conversation_fetcher(client), QUIET)

    now = await calls(world, placed["done"].campaign_id)
    assert now["done"].outcome is CallOutcome.NO_AVAILABILITY


async def test_a_failed_conversation_fails_its_call_and_the_last_one_settles_the_campaign(
    world: FakeWorld, api: FakeElevenLabs, client: AsyncElevenLabs
) -> None:
    placed = await start(world)
    for call in placed.values():
        assert call.conversation_id
        api.conversations[call.conversation_id] = conversation(call.conversation_id, "failed")
    world.clock.advance(QUIET + timedelta(seconds=1))

    report = await reconcile_silent_calls(world.ports, conversation_fetcher(client), QUIET)

    assert report.ended == 3
    campaign_id = placed["done"].campaign_id
    assert {c.status for c in (await calls(world, campaign_id)).values()} == {CallStatus.FAILED}
    async with world.ports.uow() as uow:
        campaign = await uow.campaigns.get(campaign_id)
    assert campaign is not None and campaign.status is CampaignStatus.FAILED


async def test_recent_calls_are_not_asked_about(world: FakeWorld, api: FakeElevenLabs, client: AsyncElevenLabs) -> None:
    await start(world)
    world.clock.advance(QUIET - timedelta(seconds=1))

    report = await reconcile_silent_calls(world.ports, conversation_fetcher(client), QUIET)

    assert report.asked == 0
    assert api.seen == []


async def test_when_elevenlabs_cannot_answer_the_calls_wait_for_the_next_round(
    world: FakeWorld, api: FakeElevenLabs, client: AsyncElevenLabs
) -> None:
    placed = await start(world)
    api.conversation_status = 503
    world.clock.advance(QUIET + timedelta(minutes=1))

    report = await reconcile_silent_calls(world.ports, conversation_fetcher(client), QUIET)

    assert (report.asked, report.ended, report.unreachable) == (3, 0, 3)
    assert all(not c.status.is_ended for c in (await calls(world, placed["done"].campaign_id)).values())


async def test_running_it_twice_ends_nothing_twice(
    world: FakeWorld, api: FakeElevenLabs, client: AsyncElevenLabs
) -> None:
    placed = await start(world)
    done = placed["done"].conversation_id
    assert done
    api.conversations[done] = conversation(done, "done")
    world.clock.advance(QUIET + timedelta(seconds=1))
    fetch = conversation_fetcher(client)

    first = await reconcile_silent_calls(world.ports, fetch, QUIET)
    second = await reconcile_silent_calls(world.ports, fetch, QUIET)

    assert (first.ended, second.ended, second.asked) == (1, 0, 2)
    assert world.slots.released.count(placed["done"].id) == 1


async def test_a_conversation_still_being_analysed_keeps_its_call_open_until_it_is_done(
    world: FakeWorld, api: FakeElevenLabs, client: AsyncElevenLabs
) -> None:
    placed = await start(world)
    done = placed["done"].conversation_id
    assert done
    analysed = {
        "call_successful": "success",
        "transcript_summary": "Tuesday 14:30 offered.",
        "data_collection_results": {"outcome": {"data_collection_id": "outcome", "value": "offer_made"}},
    }
    api.conversations[done] = conversation(done, "processing")
    world.clock.advance(QUIET + timedelta(seconds=1))
    fetch = conversation_fetcher(client)

    while_processing = await reconcile_silent_calls(world.ports, fetch, QUIET)
    assert while_processing.ended == 0
    assert (await calls(world, placed["done"].campaign_id))["done"].status is CallStatus.DIALING

    api.conversations[done] = conversation(done, "done", analysis=analysed)
    once_done = await reconcile_silent_calls(world.ports, fetch, QUIET)

    assert once_done.ended == 1
    call = (await calls(world, placed["done"].campaign_id))["done"]
    assert (call.status, call.outcome, call.summary) == (
        CallStatus.COMPLETED,
        CallOutcome.OFFER_MADE,
        "Tuesday 14:30 offered.",
    )
