"""When Redis goes away the tool server keeps answering (``cannot_verify`` where a hold is needed) and says it
is not ready; when the database restarts, requests recover without restarting NEXUS."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import aiohttp
import pytest
import redis.asyncio as redis
from sqlalchemy.engine import make_url

from benchmarks.seeding import TIMEZONE, RecordingVoiceGateway, negotiating_calls, search_window, seeding_ports
from integrations.clock import SystemClock
from nexus.bootstrap import bootstrap
from nexus.settings import Mode, Settings
from storage.holds import RedisHoldStore
from storage.schema import upgrade
from tests.reliability.proxy import TcpProxy
from tests.support.db import fresh_postgres_database, sqlite_url
from tools_server.tools import CALL_TOKEN_HEADER, TOOL_SECRET_HEADER

SECRET = "degraded-suite-secret"


class Agent:
    """Speaks for one call over HTTP."""

    def __init__(self, http: aiohttp.ClientSession, base_url: str, token: str, day: datetime) -> None:
        self._http = http
        self._base_url = base_url
        self._headers = {TOOL_SECRET_HEADER: SECRET, CALL_TOKEN_HEADER: token}
        self._day = day.astimezone(ZoneInfo(TIMEZONE))

    def slot(self, hour: int, minute: int = 0) -> dict[str, Any]:
        return {"date": self._day.strftime("%Y-%m-%d"), "time": f"{hour:02d}:{minute:02d}", "duration_minutes": 30}

    async def call(self, tool: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        async with self._http.post(f"{self._base_url}/api/{tool}", json=body, headers=self._headers) as response:
            return response.status, await response.json()

    async def get(self, path: str) -> tuple[int, dict[str, Any]]:
        async with self._http.get(f"{self._base_url}{path}") as response:
            return response.status, await response.json()


@asynccontextmanager
async def running_nexus(database_url: str, holds: RedisHoldStore | None = None) -> AsyncIterator[Agent]:
    """A NEXUS on ``database_url`` serving on loopback, with one live discovery call to speak for."""
    settings = Settings(_env_file=None, database_url=database_url, nexus_mode=Mode.MOCK_AI, tools_shared_secret=SECRET)
    async with (
        bootstrap(settings, clock=SystemClock(), holds=holds) as nexus,
        nexus.serving(nexus.create_web_app(), "127.0.0.1", 0) as base_url,
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20)) as http,
    ):
        gateway = RecordingVoiceGateway()
        window = search_window(datetime.now(UTC))
        [call] = await negotiating_calls(seeding_ports(nexus.ports.uow, gateway), gateway, [1], 1, window)
        yield Agent(http, base_url, call.token, window.start)


@pytest.mark.redis
async def test_without_redis_answers_cannot_verify_and_is_not_ready_then_recovers(
    tmp_path: Path, redis_url: str, holds_prefix: str
) -> None:
    target = urlsplit(redis_url)
    proxy = TcpProxy(target.hostname or "127.0.0.1", target.port or 6379)
    await proxy.start()
    client = redis.from_url(f"redis://127.0.0.1:{proxy.port}{target.path}", socket_timeout=2, socket_connect_timeout=2)
    url = sqlite_url(tmp_path)
    await upgrade(url)
    try:
        async with running_nexus(url, RedisHoldStore(client, prefix=holds_prefix)) as agent:
            assert (await agent.call("check-availability", agent.slot(9)))[1]["status"] == "available"
            assert (await agent.get("/ready"))[0] == 200

            await proxy.stop()
            status, held = await agent.call("check-availability", agent.slot(10))
            assert (status, held["status"]) == (200, "cannot_verify")
            assert "cannot reserve the time" in held["message"]
            status, offered = await agent.call("report-slot-offer", agent.slot(9))
            assert (status, offered["status"]) == (200, "recorded")
            status, readiness = await agent.get("/ready")
            assert (status, readiness["status"]) == (503, "not_ready")
            assert readiness["checks"]["database"] == "ok"
            assert "Redis" in readiness["checks"]["holds"]
            assert (await agent.get("/health"))[0] == 200

            await proxy.start()
            assert (await agent.call("check-availability", agent.slot(11)))[1]["status"] == "available"
            assert (await agent.get("/ready"))[0] == 200
    finally:
        await client.aclose()
        await proxy.stop()


@pytest.mark.postgres
async def test_requests_recover_after_the_database_restarts(postgres_url: str) -> None:
    async with fresh_postgres_database(postgres_url) as direct_url:
        await upgrade(direct_url)
        direct = make_url(direct_url)
        proxy = TcpProxy(direct.host or "127.0.0.1", direct.port or 5432)
        await proxy.start()
        through_proxy = direct.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        try:
            async with running_nexus(through_proxy) as agent:
                for hour in (9, 10):
                    assert (await agent.call("check-availability", agent.slot(hour)))[0] == 200

                await proxy.sever()  # every pooled connection dies, as in a restart
                status, lost = await agent.call("check-availability", agent.slot(11))
                # The request that finds the connection dead may say so (503); none may crash (500).
                assert (status, lost.get("error")) in ((200, None), (503, "unavailable")), lost
                answers = [await agent.call("check-availability", agent.slot(12, minute)) for minute in (0, 30)]
                assert [(status, body["status"]) for status, body in answers] == [(200, "available")] * 2
                assert (await agent.get("/ready"))[0] == 200
        finally:
            await proxy.stop()
