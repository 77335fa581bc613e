"""A real NEXUS tool server on a free loopback port, and a client that talks to it as a voice agent does.

    async with running_tool_server(database_url) as server:
        campaign = await server.start_campaign()
        token = server.token(campaign, "p1")  # the plain token of the call to provider p1
        reply = await server.call("check-availability", {"date": "Tuesday", "time": "14:30"}, token=token)

Everything goes through the real ``bootstrap``: the database is real (SQLite or PostgreSQL), the hold
store is the one given (in-process by default), the clock is fixed and the voice gateway is the recording
fake, so a test can act as the agent of any call it placed.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import redis.asyncio as redis
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.models import Campaign, GeoPoint, Provider, TimeWindow, User
from domain.ports import HoldStore
from domain.services.campaigns import StartCampaign, create_campaign, run_campaign, save_user
from integrations.clock import FixedClock
from integrations.directory import BundledDirectory
from integrations.offline_calendar import StaticCalendar
from nexus.bootstrap import Nexus, bootstrap
from nexus.settings import Mode, Settings
from storage.engine import create_engine
from storage.holds import RedisHoldStore
from storage.orm import Base
from storage.schema import upgrade
from tests.fakes import FakeVoiceGateway
from tests.support.db import fresh_postgres_database

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 26, 9, 0, tzinfo=BERLIN)  # a Thursday
TUESDAY_AFTERNOON = TimeWindow(datetime(2026, 12, 1, 12, tzinfo=BERLIN), datetime(2026, 12, 1, 17, tzinfo=BERLIN))
# The user's own calendar: busy at lunch on that Tuesday.
LUNCH = TimeWindow(datetime(2026, 12, 1, 12, tzinfo=BERLIN), datetime(2026, 12, 1, 14, tzinfo=BERLIN))
USER_ID = 7
OTHER_USER_ID = 8
TOOL_SECRET = "test-tool-secret-of-enough-length"
MAX_BODY_BYTES = 8192
ALEXANDERPLATZ = GeoPoint(52.5219, 13.4132, "Alexanderplatz")


def _provider(provider_id: str, name: str, rating: float | None) -> Provider:
    # Every provider sits exactly where the user searches: the distance part of the score is 1.
    return Provider(
        id=provider_id,
        name=name,
        service="dentist",
        phone=f"+49305550100{provider_id[-1]}",
        location=GeoPoint(ALEXANDERPLATZ.lat, ALEXANDERPLATZ.lng),
        rating=rating,
    )


PROVIDERS = (
    _provider("p1", "Smile Dental Mitte", 4.7),
    _provider("p2", "Praxis am Markt", 4.0),
    _provider("p3", "Praxis Dr. Schulz", None),
)


@dataclass(frozen=True, slots=True)
class Reply:
    """An HTTP answer: its status and its JSON body."""

    status: int
    body: dict[str, Any]


@dataclass
class ToolServer:
    """The running server, its adapters, and helpers to act as the user and as the agents."""

    base_url: str
    http: aiohttp.ClientSession
    nexus: Nexus
    clock: FixedClock
    voice: FakeVoiceGateway
    engine: AsyncEngine

    @property
    def holds(self) -> HoldStore:
        return self.nexus.ports.holds

    async def call(
        self,
        tool: str,
        body: object = None,
        *,
        token: str | None,
        secret: str | None = TOOL_SECRET,
        raw: bytes | None = None,
    ) -> Reply:
        """POST to ``/api/<tool>`` with the headers an agent sends; ``raw`` replaces the JSON body."""
        headers = {"Content-Type": "application/json"}
        if secret is not None:
            headers["X-Nexus-Tool-Secret"] = secret
        if token is not None:
            headers["X-Nexus-Call-Token"] = token
        data = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
        async with self.http.post(f"{self.base_url}/api/{tool}", data=data, headers=headers) as response:
            return Reply(response.status, await response.json())

    async def get(self, path: str) -> Reply:
        async with self.http.get(f"{self.base_url}{path}") as response:
            return Reply(response.status, await response.json())

    async def start_campaign(
        self,
        user_id: int = USER_ID,
        window: TimeWindow = TUESDAY_AFTERNOON,
        service: str = "dentist",
        duration_minutes: int = 30,
    ) -> Campaign:
        """What the user does: ask for ``service`` in ``window`` near Alexanderplatz; the calls are placed."""
        ports = self.nexus.ports
        await save_user(ports, User(id=user_id))
        command = StartCampaign(
            user_id=user_id,
            service=service,
            windows=[window],
            location=ALEXANDERPLATZ,
            duration_minutes=duration_minutes,
        )
        campaign = await create_campaign(ports, command)
        return await run_campaign(ports, campaign.id)

    def token(self, campaign: Campaign, provider_id: str, purpose: str = "DISCOVER") -> str:
        """The plain token of the latest call of ``campaign`` to ``provider_id`` for ``purpose``."""
        return next(
            r.token
            for r in reversed(self.voice.placed)
            if r.campaign.id == campaign.id and r.call.provider.id == provider_id and r.call.purpose == purpose
        )

    async def campaign(self, campaign_id: str) -> Campaign:
        async with self.nexus.ports.uow() as uow:
            campaign = await uow.campaigns.get(campaign_id)
        assert campaign is not None
        return campaign

    async def snapshot(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every row of every table, to show that a refused request changed nothing."""
        rows: dict[str, list[tuple[Any, ...]]] = {}
        async with self.engine.connect() as connection:
            for table in Base.metadata.sorted_tables:
                result = await connection.execute(select(table))
                rows[table.name] = sorted((tuple(row) for row in result), key=repr)
        return rows

    async def held_by_anyone(self, user_id: int = USER_ID, window: TimeWindow = TUESDAY_AFTERNOON) -> bool:
        """Whether any campaign holds time of ``user_id`` inside ``window``."""
        return bool(await self.holds.conflicting(user_id, window, "a-campaign-that-holds-nothing", self.clock.now()))


@asynccontextmanager
async def migrated_postgres_database(postgres_url: str) -> AsyncIterator[str]:
    """A migrated throw-away PostgreSQL database, dropped afterwards."""
    async with fresh_postgres_database(postgres_url) as url:
        await upgrade(url)
        yield url


@asynccontextmanager
async def redis_hold_store(redis_url: str) -> AsyncIterator[RedisHoldStore]:
    """A ``RedisHoldStore`` on the real server, under a key prefix of its own, emptied afterwards."""
    client = redis.Redis.from_url(redis_url)
    prefix = f"nexus-e2e:{uuid.uuid4().hex}"
    try:
        yield RedisHoldStore(client, prefix=prefix)
    finally:
        async for key in client.scan_iter(match=f"{prefix}:*"):
            await client.delete(key)
        await client.aclose()


def settings_for(database_url: str) -> Settings:
    return Settings(
        _env_file=None,
        database_url=database_url,
        nexus_mode=Mode.MOCK_AI,
        redis_url=None,
        tools_shared_secret=SecretStr(TOOL_SECRET),
        max_body_bytes=MAX_BODY_BYTES,
        # these tests start search after search at one moment with the same practices: no per-practice budget
        provider_calls_per_day=0,
        provider_call_gap_minutes=0,
    )


@asynccontextmanager
async def running_tool_server(
    database_url: str, holds: HoldStore | None = None, *, check_schema: bool = True
) -> AsyncIterator[ToolServer]:
    """Serve NEXUS on ``database_url`` (migrated, unless ``check_schema`` is off) on 127.0.0.1, a free port."""
    clock = FixedClock(NOW)
    voice = FakeVoiceGateway()
    engine = create_engine(database_url)
    try:
        async with (
            bootstrap(
                settings_for(database_url),
                clock=clock,
                voice=voice,
                directory=BundledDirectory(PROVIDERS),
                calendar=StaticCalendar({USER_ID: [LUNCH]}),
                holds=holds,
                check_schema=check_schema,
            ) as nexus,
            nexus.serving(nexus.create_web_app(), "127.0.0.1", 0) as base_url,
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http,
        ):
            yield ToolServer(base_url, http, nexus, clock, voice, engine)
    finally:
        await engine.dispose()


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment of December 2026 in Berlin."""
    return datetime(2026, 12, day, hour, minute, tzinfo=BERLIN)


def berlin(day: int, hour: int, minute: int = 0) -> str:
    """A moment of December 2026 in Berlin in ISO 8601, as the tool endpoints write it."""
    return at(day, hour, minute).isoformat()
