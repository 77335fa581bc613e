"""A tap on "Call providers" is answered at once: the campaign's provider search and dialling run outside
the update handler, and shutting down stops them instead of waiting for them."""

from __future__ import annotations

import asyncio
import dataclasses

from bot import buttons
from bot.conversation import Conversation
from bot.replies import RecordingChat
from domain.models import CampaignStatus, GeoPoint, Provider
from integrations.directory import GazetteerGeocoder
from integrations.intent import OfflineIntentParser
from tests.factories import make_provider
from tests.fakes import FakeClock, FakeDirectory, FakeWorld
from tests.unit.bot.test_conversation import ANNA, NOW, REQUEST, data_of, last


class SlowDirectory(FakeDirectory):
    """Answers only once the test opens the gate, as a slow provider search would."""

    def __init__(self, providers: list[Provider]) -> None:
        super().__init__(providers)
        self.gate = asyncio.Event()
        self.asked = asyncio.Event()

    async def search(self, service: str, near: GeoPoint, radius_km: float, limit: int) -> list[Provider]:
        self.asked.set()
        await self.gate.wait()
        return await super().search(service, near, radius_km, limit)


def slow_world() -> tuple[FakeWorld, SlowDirectory, Conversation]:
    world = FakeWorld(clock=FakeClock(NOW), providers=[make_provider("smile"), make_provider("teeth", lat=52.52)])
    directory = SlowDirectory(world.providers)
    ports = dataclasses.replace(world.ports, directory=directory)
    return world, directory, Conversation(ports, OfflineIntentParser(), GazetteerGeocoder())


async def test_the_tap_is_answered_before_the_campaign_has_found_anyone() -> None:
    world, directory, talk = slow_world()
    chat = RecordingChat()
    await talk.text(chat, ANNA, REQUEST)

    assert await talk.tap(chat, ANNA, data_of(last(chat), buttons.GO)) is None
    assert "Calling providers now" in last(chat).text
    await directory.asked.wait()
    assert world.voice.placed == []  # still searching, and the handler has long returned

    directory.gate.set()
    await talk.background.drain()
    assert len(world.voice.placed) == 2


async def test_shutting_down_stops_a_campaign_that_is_still_starting() -> None:
    world, directory, talk = slow_world()
    chat = RecordingChat()
    await talk.text(chat, ANNA, REQUEST)
    await talk.tap(chat, ANNA, data_of(last(chat), buttons.GO))
    await directory.asked.wait()

    await talk.background.aclose(grace_seconds=0.01)  # the directory never answers: cut off after the grace

    [campaign] = world.store.tables["campaigns"].values()
    assert campaign.status is CampaignStatus.PROVIDER_LOOKUP  # the sweep settles it at its deadline
    assert world.voice.placed == []


async def test_shutting_down_lets_a_campaign_that_is_nearly_started_finish() -> None:
    world, directory, talk = slow_world()
    chat = RecordingChat()
    await talk.text(chat, ANNA, REQUEST)
    await talk.tap(chat, ANNA, data_of(last(chat), buttons.GO))
    await directory.asked.wait()

    closing = asyncio.create_task(talk.background.aclose(grace_seconds=30))
    await asyncio.sleep(0)  # aclose is now waiting for the campaign
    directory.gate.set()
    await closing

    assert len(world.voice.placed) == 2  # not cut off in the middle of its database work
