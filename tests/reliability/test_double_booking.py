"""Fifty confirmation calls race for overlapping slots of one user through two server processes that
share PostgreSQL and Redis: exactly one books, every other gets a clear conflict answer."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest

from benchmarks.processes import nexus_server
from benchmarks.seeding import (
    TIMEZONE,
    RecordingVoiceGateway,
    SeededCall,
    confirming_calls,
    search_window,
    seeding_ports,
)
from domain.models import AppointmentStatus, CampaignStatus, TimeWindow
from storage.engine import create_engine
from storage.uow import make_uow_factory
from tests.reliability.conftest import TOOL_SECRET
from tools_server.tools import CALL_TOKEN_HEADER, TOOL_SECRET_HEADER

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

USER = 4242
CONFIRMATIONS = 50
CONFLICTS = CONFIRMATIONS - 1


async def _book(http: aiohttp.ClientSession, base_url: str, call: SeededCall, slot: TimeWindow) -> tuple[int, Any]:
    local = slot.start.astimezone(ZoneInfo(TIMEZONE))
    async with http.post(
        f"{base_url}/api/book-slot",
        json={"date": local.strftime("%Y-%m-%d"), "time": local.strftime("%H:%M")},
        headers={TOOL_SECRET_HEADER: TOOL_SECRET, CALL_TOKEN_HEADER: call.token},
    ) as response:
        return response.status, await response.json()


async def test_fifty_concurrent_confirmations_over_two_processes_book_exactly_one(
    shared_database: str, redis_url: str, holds_prefix: str
) -> None:
    engine = create_engine(shared_database)
    uow = make_uow_factory(engine)
    try:
        gateway = RecordingVoiceGateway()
        ports = seeding_ports(uow, gateway)
        base = search_window(datetime.now(UTC)).start + timedelta(hours=2)
        # Starts 0-20 minutes apart with 30 minutes each: every slot overlaps every other.
        slots = [
            TimeWindow(base + timedelta(minutes=5 * (i % 5)), base + timedelta(minutes=5 * (i % 5) + 30))
            for i in range(CONFIRMATIONS)
        ]
        confirmations = await confirming_calls(ports, gateway, USER, slots)

        args = ["--holds-prefix", holds_prefix]
        async with (
            nexus_server(shared_database, TOOL_SECRET, redis_url, args) as first,
            nexus_server(shared_database, TOOL_SECRET, redis_url, args) as second,
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as http,
        ):
            servers = (first.base_url, second.base_url)
            answers = await asyncio.gather(
                *(_book(http, servers[i % 2], call, slot) for i, (call, slot) in enumerate(confirmations))
            )

        # Every answer is 200: one booking, and refusals the agents hear (conflict).
        assert Counter((status, body["status"]) for status, body in answers) == {
            (200, "booked"): 1,
            (200, "conflict"): CONFLICTS,
        }
        winner = next(
            call for (call, _), (_, body) in zip(confirmations, answers, strict=True) if body["status"] == "booked"
        )
        for _, body in answers:
            if body["status"] == "conflict":
                assert "already has an appointment that overlaps this time" in body["message"]

        async with uow() as read:
            appointments = await read.appointments.list_for_user(USER)
            campaigns = [await read.campaigns.get(call.campaign_id) for call, _ in confirmations]
        assert [(a.campaign_id, a.status) for a in appointments] == [(winner.campaign_id, AppointmentStatus.BOOKED)]
        confirmed = [c.id for c in campaigns if c is not None and c.status is CampaignStatus.CONFIRMED]
        assert confirmed == [winner.campaign_id]
    finally:
        await engine.dispose()
