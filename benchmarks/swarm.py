"""Swarm scale: C concurrent campaigns of 15 simulated calls each on PostgreSQL + Redis, one child process
per C (so its peak memory is its own).

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
from datetime import UTC, datetime, timedelta
from typing import Any

import redis.asyncio as redis

from benchmarks.databases import REDIS_URL, postgres_database, servers_reachable
from benchmarks.processes import PROJECT_ROOT, peak_rss_bytes
from benchmarks.seeding import ALEXANDERPLATZ, TIMEZONE, UNLIMITED, search_window
from domain.models import CallStatus, CampaignStatus
from domain.services.campaigns import StartCampaign, create_campaign, run_campaign
from integrations.clock import SystemClock
from integrations.simulation.gateway import SimulatedVoiceGateway
from nexus.bootstrap import bootstrap
from nexus.settings import Mode, Settings
from nexus.simulation import CampaignWatcher
from storage.holds import RedisHoldStore

CALLS_PER_CAMPAIGN = 15
# 0.01 wall seconds per simulated second: a 45-150 s call takes 0.45-1.5 s, so calls overlap as they would.
TIME_SCALE = 0.01
MAX_CONCURRENT_CALLS = 1000
CHILD_TIMEOUT_SECONDS = 360.0


def _discovery_over(status: CampaignStatus) -> bool:
    return status in (CampaignStatus.RANKING, CampaignStatus.FAILED, CampaignStatus.CANCELLED)


async def measure(campaigns: int) -> dict[str, Any]:
    """Run ``campaigns`` campaigns at once and say how long they took and how the calls went."""
    client = redis.from_url(REDIS_URL, socket_timeout=5, socket_connect_timeout=5)
    prefix = f"nexus-bench:{uuid.uuid4().hex[:8]}:holds"
    async with postgres_database() as url:
        settings = Settings(
            _env_file=None,
            database_url=url,
            nexus_mode=Mode.MOCK_AI,
            max_concurrent_calls=MAX_CONCURRENT_CALLS,
        )
        gateway = SimulatedVoiceGateway(max_concurrent_calls=MAX_CONCURRENT_CALLS, time_scale=TIME_SCALE)
        async with (
            bootstrap(
                settings, clock=SystemClock(), voice=gateway, holds=RedisHoldStore(client, prefix), policy=UNLIMITED
            ) as nexus,
            nexus.serving(nexus.create_web_app(), "127.0.0.1", 0),
        ):
            nexus.start_dispatcher(nexus.notifications, live_view_interval=timedelta(0))
            ports = nexus.ports
            window = search_window(datetime.now(UTC))
            walls: list[float] = []

            async def one(user_id: int) -> str:
                started = time.monotonic()
                campaign = await create_campaign(
                    ports,
                    StartCampaign(user_id, "dentist", [window], ALEXANDERPLATZ, timezone=TIMEZONE),
                )
                watcher = CampaignWatcher(ports, campaign.id)
                nexus.notifications.subscribe(watcher)
                try:
                    await run_campaign(ports, campaign.id)
                    await watcher.wait_until(_discovery_over)
                finally:
                    nexus.notifications.unsubscribe(watcher)
                walls.append(time.monotonic() - started)
                return campaign.id

            began = time.monotonic()
            ids = await asyncio.gather(*(one(user) for user in range(1, campaigns + 1)), return_exceptions=True)
            await gateway.wait_idle()
            wall = time.monotonic() - began
            campaign_ids = [i for i in ids if isinstance(i, str)]
            async with ports.uow() as uow:
                calls = [c for cid in campaign_ids for c in await uow.calls.list_for_campaign(cid)]
                statuses = [c.status for cid in campaign_ids if (c := await uow.campaigns.get(cid)) is not None]
    await client.aclose()
    durations = [(c.ended_at - c.created_at).total_seconds() for c in calls if c.ended_at]
    broken = sum(1 for c in calls if c.status is CallStatus.FAILED)
    total_calls = campaigns * CALLS_PER_CAMPAIGN
    concurrent = min(total_calls, MAX_CONCURRENT_CALLS)
    efficiency = max(durations) / wall if campaigns == 1 and durations else sum(durations) / (wall * concurrent)
    return {
        "wall_s": round(wall, 2),
        "calls": len(calls),
        "calls_per_s": round(len(calls) / wall, 1),
        "efficiency": round(efficiency, 3),
        "peak_rss_mib": round(peak_rss_bytes(os.getpid()) / 2**20, 1),
        "errors": broken + sum(1 for i in ids if not isinstance(i, str)),
        "ranked": sum(1 for s in statuses if s is CampaignStatus.RANKING),
        "failed": sum(1 for s in statuses if s is CampaignStatus.FAILED),
        "error_kinds": dict(
            Counter(
                [type(i).__name__ for i in ids if not isinstance(i, str)]
                + [(c.failure_reason or "")[:60] for c in calls if c.status is CallStatus.FAILED]
            ).most_common(3)
        ),
        "campaign_wall_p50_s": round(sorted(walls)[len(walls) // 2], 2) if walls else None,
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
    args = parser.parse_args()
    print(json.dumps(asyncio.run(measure(args.campaigns))), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
