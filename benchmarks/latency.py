"""Tool latency: N concurrent simulated agents call one tool endpoint for a fixed time, against the real
server process (SQLite + in-process holds, PostgreSQL + Redis) and against the bare floor server."""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp

from benchmarks.databases import REDIS_URL, postgres_database, servers_reachable, sqlite_database
from benchmarks.processes import ServerProcess, nexus_server, server_process
from benchmarks.seeding import TIMEZONE, RecordingVoiceGateway, negotiating_calls, search_window, seeding_ports
from storage.engine import create_engine
from storage.uow import make_uow_factory
from tools_server.tools import CALL_TOKEN_HEADER, TOOL_SECRET_HEADER

SECRET = "benchmark-secret"  # noqa: S105 - a throw-away server's secret
CALLS_PER_CAMPAIGN = 15
TOOLS = ("check-availability", "report-slot-offer")


@dataclass
class Run:
    """What one load run measured."""

    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    seconds: float = 0.0

    def percentile(self, share: float) -> float:
        ordered = sorted(self.latencies)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))]

    def lines(self, name: str) -> list[tuple[str, str]]:
        return [
            (f"{name}.requests_per_s", f"{len(self.latencies) / self.seconds:.0f}"),
            (f"{name}.p50_ms", f"{self.percentile(0.50) * 1000:.1f}"),
            (f"{name}.p99_ms", f"{self.percentile(0.99) * 1000:.1f}"),
            (f"{name}.errors", str(self.errors)),
        ]


Request = tuple[str, dict[str, str], dict[str, Any]]


async def load(http: aiohttp.ClientSession, requests: list[Callable[[], Request]], seconds: float) -> Run:
    """Each entry of ``requests`` is one agent: it sends the request it makes, again and again, one at a time."""
    run = Run()
    until = time.monotonic() + seconds

    async def agent(make: Callable[[], Request]) -> None:
        while time.monotonic() < until:
            url, headers, body = make()
            started = time.perf_counter()
            try:
                async with http.post(url, json=body, headers=headers) as response:
                    await response.read()
                    ok = response.status == 200
            except (aiohttp.ClientError, TimeoutError):
                ok = False
            if ok:
                run.latencies.append(time.perf_counter() - started)
            else:
                run.errors += 1

    began = time.monotonic()
    await asyncio.gather(*(agent(make) for make in requests))
    run.seconds = time.monotonic() - began
    return run


def _always(request: Request) -> Callable[[], Request]:
    return lambda: request


def _agents(base_url: str, tool: str, tokens: list[str], count: int, day: str) -> list[Callable[[], Request]]:
    times = [f"{hour}:{minute:02d}" for hour in range(8, 17) for minute in (0, 30)]

    def agent(token: str, offset: int) -> Callable[[], Request]:
        headers = {TOOL_SECRET_HEADER: SECRET, CALL_TOKEN_HEADER: token}
        clock = itertools.cycle(times[offset:] + times[:offset])
        return lambda: (f"{base_url}/api/{tool}", headers, {"date": day, "time": next(clock)})

    return [agent(tokens[i % len(tokens)], i % len(times)) for i in range(count)]


async def _seed(database_url: str, agents: int) -> tuple[list[str], str]:
    engine = create_engine(database_url)
    try:
        gateway = RecordingVoiceGateway()
        window = search_window(datetime.now(UTC))
        users = range(1, -(-agents // CALLS_PER_CAMPAIGN) + 1)
        calls = await negotiating_calls(
            seeding_ports(make_uow_factory(engine), gateway), gateway, list(users), CALLS_PER_CAMPAIGN, window
        )
    finally:
        await engine.dispose()
    return [c.token for c in calls], window.start.astimezone(ZoneInfo(TIMEZONE)).strftime("%Y-%m-%d")


@asynccontextmanager
async def _backend(kind: str) -> AsyncIterator[tuple[str, AbstractAsyncContextManager[ServerProcess]]]:
    if kind == "sqlite":
        async with sqlite_database() as url:
            yield url, nexus_server(url, SECRET)
    else:
        prefix = f"nexus-bench:{uuid.uuid4().hex[:8]}:holds"
        async with postgres_database() as url:
            yield url, nexus_server(url, SECRET, REDIS_URL, ["--holds-prefix", prefix])


async def run_latency(agent_counts: list[int], seconds: float, emit: Callable[[str, str], None]) -> None:
    """Measure the floor and both backends at every N; emit ``name: value`` lines as they come."""
    connector = aiohttp.TCPConnector(limit=max(agent_counts))
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=60)) as http:
        floor_p99: dict[int, float] = {}
        async with server_process("benchmarks.floor") as floor:
            for n in agent_counts:
                request: Request = (f"{floor.base_url}/api/echo", {}, {"date": "2026-12-01", "time": "9:00"})
                agents = [_always(request)] * n
                run = await load(http, agents, seconds)
                floor_p99[n] = run.percentile(0.99)
                for name, value in run.lines(f"latency.floor.n{n}"):
                    emit(name, value)
        backends = ["sqlite"] + (["postgres_redis"] if servers_reachable() else [])
        if "postgres_redis" not in backends:
            emit("latency.postgres_redis", "skipped (PostgreSQL or Redis unreachable)")
        for kind in backends:
            async with _backend(kind) as (url, server):
                tokens, day = await _seed(url, max(agent_counts))
                async with server as nexus:
                    for tool in TOOLS:
                        for n in agent_counts:
                            run = await load(http, _agents(nexus.base_url, tool, tokens, n, day), seconds)
                            name = f"latency.{kind}.{tool.replace('-', '_')}.n{n}"
                            for line in run.lines(name):
                                emit(*line)
                            emit(f"{name}.p99_vs_floor", f"{run.percentile(0.99) / floor_p99[n]:.2f}")
