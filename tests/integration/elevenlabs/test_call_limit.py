"""The voice provider's limit on calls at once, with the ElevenLabs gateway against the fake ElevenLabs API:
a search waits for places rather than failing, and cancelled searches give their places back at once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from elevenlabs import AsyncElevenLabs

from domain.models import CallStatus, CampaignStatus, TimeWindow
from domain.ports import CallSlots
from domain.services.campaigns import StartCampaign, cancel_campaign, create_campaign, run_campaign
from domain.services.context import Policy
from integrations.elevenlabs import DiallingPolicy, ElevenLabsVoiceGateway
from tests.factories import ALEXANDERPLATZ, make_provider
from tests.fakes import FakeClock, FakeWorld
from tests.integration.elevenlabs.conftest import FakeElevenLabs
from tests.integration.elevenlabs.test_gateway import AGENTS, RecordingCallControl
from tests.support.slots import call_slots

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
WINDOW = TimeWindow(datetime(2026, 12, 1, 11, tzinfo=UTC), datetime(2026, 12, 1, 16, tzinfo=UTC))
LIMIT = 4
CALLS_PER_SEARCH = 2


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def slots(request: pytest.FixtureRequest) -> AsyncIterator[CallSlots]:
    redis_url = request.getfixturevalue("redis_url") if request.param == "redis" else None
    async with call_slots(request.param, LIMIT, redis_url) as store:
        yield store


async def test_cancelling_two_searches_lets_the_third_dial_at_once(
    elevenlabs_client: AsyncElevenLabs, fake_elevenlabs: FakeElevenLabs, slots: CallSlots
) -> None:
    fake_elevenlabs.numbered = True
    call_control = RecordingCallControl()
    world = FakeWorld(
        clock=FakeClock(NOW),
        providers=[make_provider("a", name="A Dental"), make_provider("b", name="B Dental")],
        policy=Policy(campaigns_per_hour=10, calls_per_campaign=CALLS_PER_SEARCH),
    )
    gateway = ElevenLabsVoiceGateway(
        elevenlabs_client,
        agent_ids=AGENTS,
        agent_phone_number_id="phnum_1",
        dialling=DiallingPolicy.live(),
        call_control=call_control,
        ring_timeout_seconds=25,
    )
    world.voice = gateway  # type: ignore[assignment]
    world.slots = slots  # type: ignore[assignment]
    ports = world.ports

    async def search(user_id: int) -> str:
        command = StartCampaign(user_id=user_id, service="dentist", windows=[WINDOW], location=ALEXANDERPLATZ)
        return (await create_campaign(ports, command)).id

    first, second, third = [await search(user_id) for user_id in (1, 2, 3)]
    await run_campaign(ports, first)
    await run_campaign(ports, second)
    assert len(fake_elevenlabs.outbound_calls) == LIMIT
    waiting = asyncio.create_task(run_campaign(ports, third))
    for _ in range(50):
        await asyncio.sleep(0)
    assert not waiting.done()  # every place is taken: the third search waits instead of failing
    assert len(fake_elevenlabs.outbound_calls) == LIMIT

    await cancel_campaign(ports, 1, first)
    await cancel_campaign(ports, 2, second)

    await asyncio.wait_for(waiting, 5)
    assert len(fake_elevenlabs.outbound_calls) == LIMIT + CALLS_PER_SEARCH
    async with ports.uow() as uow:
        third_calls = await uow.calls.list_for_campaign(third)
        third_campaign = await uow.campaigns.get(third)
    assert [c.status for c in third_calls] == [CallStatus.DIALING] * CALLS_PER_SEARCH
    assert third_campaign is not None and third_campaign.status is CampaignStatus.NEGOTIATING
    assert await slots.in_use() == CALLS_PER_SEARCH
    assert sorted(call_control.hung_up) == ["CA_1", "CA_2", "CA_3", "CA_4"]
