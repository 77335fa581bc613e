"""The real bot (python-telegram-bot over HTTP) against the fake Bot API, on a real SQLite database.

The voice gateway only records the calls it is asked to place; the tests play the providers' agents
through the same tool use cases the tool endpoints call.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from aiohttp.test_utils import TestServer

from bot.conversation import Conversation
from bot.telegram import NexusApplication, TelegramNotifier, build_application, running
from domain.ports import CallRequest, PlacedCall
from domain.services.context import Policy, Ports
from integrations.directory import GazetteerGeocoder
from integrations.intent import OfflineIntentParser
from nexus.notifications import Dispatcher
from storage.engine import create_engine
from storage.holds import InMemoryHoldStore
from storage.schema import upgrade
from storage.slots import InMemoryCallSlots
from storage.uow import make_uow_factory
from tests.factories import make_provider
from tests.fakes import FakeCalendar, FakeClock, FakeDirectory, FakeVoiceGateway
from tests.support.db import sqlite_url
from tests.support.fake_bot_api import TOKEN, FakeBotApi

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 26, 9, 0, tzinfo=BERLIN)


class WatchedVoiceGateway(FakeVoiceGateway):
    """Records placed calls and lets a test await them."""

    def __init__(self) -> None:
        super().__init__()
        self._placed = asyncio.Condition()
        self.gate: asyncio.Event | None = None  # when set, calls wait for it (as for a free line)

    async def place_call(self, request: CallRequest) -> PlacedCall:
        if self.gate is not None:
            await self.gate.wait()
        placed = await super().place_call(request)
        async with self._placed:
            self._placed.notify_all()
        return placed

    async def wait_placed(self, count: int, purpose: str = "DISCOVER") -> list[CallRequest]:
        async with asyncio.timeout(10), self._placed:
            await self._placed.wait_for(lambda: len(self.of(purpose)) >= count)
        return self.of(purpose)

    def of(self, purpose: str) -> list[CallRequest]:
        return [r for r in self.placed if r.call.purpose == purpose]


@dataclass
class Harness:
    api: FakeBotApi
    api_url: str
    ports: Ports
    voice: WatchedVoiceGateway
    clock: FakeClock
    conversation: Conversation
    nudges: list[Dispatcher]

    def application(self, *, webhook: bool = False) -> NexusApplication:
        return build_application(TOKEN, self.conversation, base_url=self.api_url, webhook=webhook)

    @asynccontextmanager
    async def bot(self) -> AsyncIterator[NexusApplication]:
        """A running bot (long polling) with an outbox dispatcher delivering through it while it runs."""
        application = self.application()
        async with running(application):
            sink = TelegramNotifier(application.bot, self.ports.uow, self.clock)
            dispatcher = Dispatcher(self.ports.uow, sink, drop_superseded=True)
            self.nudges.append(dispatcher)
            dispatcher.start()
            try:
                yield application
            finally:
                self.nudges.remove(dispatcher)
                await dispatcher.stop()


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[Harness]:
    api = FakeBotApi()
    server = TestServer(api.app, host="127.0.0.1")
    await server.start_server()
    url = sqlite_url(tmp_path)
    await upgrade(url)
    engine = create_engine(url)
    clock = FakeClock(NOW)
    voice = WatchedVoiceGateway()
    nudges: list[Dispatcher] = []

    def queued() -> None:
        for dispatcher in nudges:
            dispatcher.nudge()

    providers = [
        make_provider("smile", name="Smile <Dental> Mitte", rating=4.7, lat=52.5250, lng=13.4090),
        make_provider("teeth", name="Teeth & Co", rating=4.1, lat=52.5200, lng=13.4200),
    ]
    ports = Ports(
        uow=make_uow_factory(engine, on_queued=queued),
        holds=InMemoryHoldStore(),
        calendar=FakeCalendar(),
        directory=FakeDirectory(providers),
        voice=voice,
        clock=clock,
        slots=InMemoryCallSlots(30),
        policy=Policy(campaigns_per_hour=2),
    )
    conversation = Conversation(ports, OfflineIntentParser(), GazetteerGeocoder())
    try:
        yield Harness(api, str(server.make_url("")).rstrip("/"), ports, voice, clock, conversation, nudges)
    finally:
        await conversation.background.aclose()
        await server.close()
        await engine.dispose()


Step = Callable[[], Awaitable[None]]
