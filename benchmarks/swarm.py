"""Swarm scale: C concurrent campaigns of 15 simulated calls each on PostgreSQL + Redis, one child process
per C (so its peak memory is its own) acting as the NEXUS server, the simulated agents and receptionists in
processes of their own (``benchmarks.agents``).

    python -m benchmarks.swarm --campaigns C     prints one JSON line with what it measured
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import redis.asyncio as redis

from benchmarks.agents import AgentProcesses
from benchmarks.databases import REDIS_URL, postgres_database, servers_reachable
from benchmarks.processes import PROJECT_ROOT, peak_rss_bytes, rss_bytes
from benchmarks.seeding import ALEXANDERPLATZ, TIMEZONE, UNLIMITED, always_open_directory, search_window
from domain.models import CallStatus, CampaignStatus
from domain.services.campaigns import StartCampaign, create_campaign, run_campaign
from integrations.clock import SystemClock
from nexus.bootstrap import bootstrap
from nexus.settings import Mode, Settings
from storage.holds import RedisHoldStore

CALLS_PER_CAMPAIGN = 15
# 0.01 wall seconds per simulated second: a 45-150 s call takes 0.45-1.5 s, so calls overlap as they would.
TIME_SCALE = 0.01
# Calls talking at once (the back-pressure): about what one server process answers on a busy 2-core
# machine without its tool requests queueing for long (a call makes 5-7 requests in 0.5-1.5 s).
MAX_CONCURRENT_CALLS = 150
AGENT_PROCESSES = 2
# PostgreSQL connections of the server process (DATABASE_POOL_SIZE), and how long work waits for one
# (DATABASE_POOL_TIMEOUT_SECONDS): starting 300 campaigns at once queues for connections, and waiting is
# the back-pressure; failing after 30 s would turn a burst into errors.
POOL_SIZE = 10
POOL_TIMEOUT_SECONDS = 300.0
# Campaigns being set up at once (provider lookup, call rows, dialling); the rest wait their turn. Setting up
# 300 at once holds every connection for seconds, and the talking calls' tool requests queue behind it.
STARTS_AT_ONCE = 20
CHILD_TIMEOUT_SECONDS = 900.0
WARM_UP_USER = 1_000_000


def _discovery_over(status: CampaignStatus) -> bool:
    return status in (CampaignStatus.RANKING, CampaignStatus.FAILED, CampaignStatus.CANCELLED)


async def measure(campaigns: int, max_calls: int, agent_processes: int) -> dict[str, Any]:
    """Run ``campaigns`` campaigns at once and say how long they took and how the calls went.

    This process is the NEXUS server (tool endpoints, use cases, the campaigns' driver); the simulated
    agents and receptionists run in ``agent_processes`` processes of their own. At most ``max_calls``
    calls talk at once and the others wait for a slot; at most ``STARTS_AT_ONCE`` campaigns are being set
    up at once (the back-pressure), so a call is never started that the server cannot serve in time.
    """
    client = redis.from_url(REDIS_URL, socket_timeout=5, socket_connect_timeout=5)
    prefix = f"nexus-bench:{uuid.uuid4().hex[:8]}:holds"
    agents = AgentProcesses(workers=agent_processes, time_scale=TIME_SCALE, max_concurrent_calls=max_calls)
    async with postgres_database() as url:
        settings = Settings(
            _env_file=None,
            database_url=url,
            nexus_mode=Mode.MOCK_AI,
            max_concurrent_calls=max_calls,
            database_pool_size=POOL_SIZE,
            database_pool_timeout_seconds=POOL_TIMEOUT_SECONDS,
        )
        async with (
            bootstrap(
                settings,
                clock=SystemClock(),
                voice=agents,
                holds=RedisHoldStore(client, prefix),
                # A voicemail box is called again a quarter of an hour later, long after the run: not measured.
                policy=replace(UNLIMITED, voicemail_retries=0),
                directory=always_open_directory(),
            ) as nexus,
            nexus.serving(nexus.create_web_app(), "127.0.0.1", 0) as base_url,
        ):
            # Messages to the users are delivered (to nowhere) as they would be, so the outbox does not pile up.
            nexus.start_dispatcher(nexus.notifications, live_view_interval=timedelta(0))
            try:
                await agents.start(nexus.ports, base_url, nexus.tool_secret)
                ports = nexus.ports
                window = search_window(datetime.now(UTC))

                starting = asyncio.Semaphore(STARTS_AT_ONCE)

                # One campaign first, not counted: what the first use of every code path costs once (compiled
                # statements, prepared statements, connections) is not memory per call. Hairdressers: what it
                # learns about the practices it calls (shared facts) must not change the dentists' searches.
                warm_up = await create_campaign(
                    ports, StartCampaign(WARM_UP_USER, "hairdresser", [window], ALEXANDERPLATZ, timezone=TIMEZONE)
                )
                await run_campaign(ports, warm_up.id)
                await agents.wait_idle()
                agents.reset_counts()
                rss_before = rss_bytes(os.getpid())
                workers_before = [now for now, _ in await agents.worker_rss()]

                async def one(user_id: int) -> str:
                    async with starting:
                        campaign = await create_campaign(
                            ports,
                            StartCampaign(user_id, "dentist", [window], ALEXANDERPLATZ, timezone=TIMEZONE),
                        )
                        await run_campaign(ports, campaign.id)
                    return campaign.id

                began = time.monotonic()
                ids = await asyncio.gather(*(one(user) for user in range(1, campaigns + 1)), return_exceptions=True)
                await agents.wait_idle()
                wall = time.monotonic() - began
                workers_peak = [peak for _, peak in await agents.worker_rss()]
            finally:
                await agents.aclose()
            campaign_ids = [i for i in ids if isinstance(i, str)]
            # The last call to end settles its campaign, so once every call is over every campaign is too.
            async with ports.uow() as uow:
                calls = [c for cid in campaign_ids for c in await uow.calls.list_for_campaign(cid)]
                stored = [c for cid in campaign_ids if (c := await uow.campaigns.get(cid)) is not None]
            statuses = [c.status for c in stored]
            walls = sorted((c.updated_at - c.created_at).total_seconds() for c in stored if c.updated_at)
    await client.aclose()
    broken = sum(1 for c in calls if c.status is CallStatus.FAILED)
    total_calls = campaigns * CALLS_PER_CAMPAIGN
    slots = min(total_calls, max_calls)
    in_flight = max(1, agents.peak_open)
    server_growth = max(0, peak_rss_bytes(os.getpid()) - rss_before)
    worker_growth = sum(max(0, peak - now) for now, peak in zip(workers_before, workers_peak, strict=True))
    return {
        "wall_s": round(wall, 2),
        "calls": len(calls),
        "calls_per_s": round(len(calls) / wall, 1),
        # How busy the call slots were: seconds calls held a slot over (wall time x slots).
        "efficiency": round(sum(agents.held) / (wall * slots), 3),
        "max_concurrent_calls": max_calls,
        "agent_processes": agent_processes,
        "peak_rss_mib": round(peak_rss_bytes(os.getpid()) / 2**20, 1),
        "server_kib_per_call_in_flight": round(server_growth / in_flight / 1024, 1),
        "agents_kib_per_call_in_flight": round(worker_growth / in_flight / 1024, 1),
        "calls_in_flight_peak": agents.peak_open,
        "errors": broken + sum(1 for i in ids if not isinstance(i, str)),
        "ranked": sum(1 for s in statuses if s is CampaignStatus.RANKING),
        "failed": sum(1 for s in statuses if s is CampaignStatus.FAILED),
        "error_kinds": dict(
            Counter(
                [f"{type(i).__name__}: {i}"[:80] for i in ids if not isinstance(i, str)]
                + [(c.failure_reason or "")[:60] for c in calls if c.status is CallStatus.FAILED]
            ).most_common(3)
        ),
        "campaign_wall_p50_s": round(walls[len(walls) // 2], 2) if walls else None,
        "unsettled": sum(1 for s in statuses if not _discovery_over(s)),
    }


async def run_swarm(sizes: list[int], emit: Callable[[str, str], None]) -> None:
    """Measure every C in its own child process; emit ``swarm.c<C>.<metric>`` lines."""
    if not servers_reachable():
        emit("swarm", "skipped (PostgreSQL or Redis unreachable)")
        return
    previous: tuple[int, float] | None = None
    for size in sizes:
        if previous is not None and previous[1] * size / previous[0] > CHILD_TIMEOUT_SECONDS:
            projected = previous[1] * size / previous[0]
            emit(f"swarm.c{size}", f"skipped (projected {projected:.0f} s from C={previous[0]}, over the budget)")
            continue
        child = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "benchmarks.swarm",
            "--campaigns",
            str(size),
            cwd=PROJECT_ROOT,
            stdout=asyncio.subprocess.PIPE,
        )
        try:
            output, _ = await asyncio.wait_for(child.communicate(), CHILD_TIMEOUT_SECONDS)
        except TimeoutError:
            child.kill()
            await child.wait()
            emit(f"swarm.c{size}", f"did not finish within {CHILD_TIMEOUT_SECONDS:.0f} s")
            continue
        if child.returncode != 0:
            emit(f"swarm.c{size}", f"failed (exit {child.returncode})")
            continue
        measured = json.loads(output.decode().strip().splitlines()[-1])
        previous = (size, float(measured["wall_s"]))
        for key, value in measured.items():
            emit(f"swarm.c{size}.{key}", str(value))


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.swarm")
    parser.add_argument("--campaigns", type=int, required=True)
    parser.add_argument("--max-calls", type=int, default=MAX_CONCURRENT_CALLS, help="Calls talking at once.")
    parser.add_argument("--agent-processes", type=int, default=AGENT_PROCESSES)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(measure(args.campaigns, args.max_calls, args.agent_processes))), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
