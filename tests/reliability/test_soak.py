"""A bounded soak: mixed tool traffic against a server process for a while; its memory must not grow."""

from __future__ import annotations

import asyncio
import itertools
import time
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp

from benchmarks.processes import nexus_server
from benchmarks.seeding import TIMEZONE, RecordingVoiceGateway, negotiating_calls, search_window, seeding_ports
from storage.engine import create_engine
from storage.schema import upgrade
from storage.uow import make_uow_factory
from tests.support.db import sqlite_url
from tools_server.tools import CALL_TOKEN_HEADER, TOOL_SECRET_HEADER

SECRET = "soak-suite-secret"
AGENTS = 20
WARM_UP_SECONDS = 3.0
SOAK_SECONDS = 15.0
# What a long-running process may gain after warm-up (allocator slack, caches filling); a leak of 15 kB
# per request over the ~900 requests of the soak would exceed it.
RSS_GROWTH_BOUND = 12 * 1024 * 1024


async def test_memory_stays_flat_under_mixed_tool_traffic(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path)
    await upgrade(url)
    engine = create_engine(url)
    gateway = RecordingVoiceGateway()
    window = search_window(datetime.now(UTC))
    try:
        calls = await negotiating_calls(
            seeding_ports(make_uow_factory(engine), gateway), gateway, [1, 2, 3, 4], 5, window
        )
    finally:
        await engine.dispose()
    day = window.start.astimezone(ZoneInfo(TIMEZONE)).strftime("%Y-%m-%d")
    bodies = itertools.cycle(
        [("check-availability", {"date": day, "time": f"{h}:{m:02d}"}) for h in range(8, 17) for m in (0, 30)]
        + [("report-slot-offer", {"date": day, "time": f"{h}:00"}) for h in range(9, 17)]
        + [("get-distance", {})]
    )
    statuses: dict[int, int] = {}

    async def agent(http: aiohttp.ClientSession, base_url: str, token: str, until: float) -> None:
        headers = {TOOL_SECRET_HEADER: SECRET, CALL_TOKEN_HEADER: token}
        while time.monotonic() < until:
            tool, body = next(bodies)
            async with http.post(f"{base_url}/api/{tool}", json=body, headers=headers) as response:
                await response.read()
                statuses[response.status] = statuses.get(response.status, 0) + 1

    async with (
        nexus_server(url, SECRET) as server,
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http,
    ):
        tokens = [call.token for call in calls]

        async def load(seconds: float) -> None:
            until = time.monotonic() + seconds
            await asyncio.gather(*(agent(http, server.base_url, tokens[i % len(tokens)], until) for i in range(AGENTS)))

        await load(WARM_UP_SECONDS)
        start_rss = server.rss_bytes()
        await load(SOAK_SECONDS)
        end_rss = server.rss_bytes()

    assert set(statuses) == {200}, statuses
    assert sum(statuses.values()) > 400
    assert end_rss - start_rss < RSS_GROWTH_BOUND, f"RSS grew from {start_rss >> 20} MiB to {end_rss >> 20} MiB"
