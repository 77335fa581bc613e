"""A NEXUS process is killed (SIGKILL) in the middle of its campaigns and NEXUS starts again: recovery at
start ends the calls nobody runs any more ("NEXUS restarted during the call"), their campaigns move on, and
their places under the call limit come back. Nothing waits for the ten-minute call timeout."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import redis.asyncio as redis

from benchmarks.processes import PROJECT_ROOT, nexus_server
from domain.models import CampaignStatus
from domain.services.recovery import RESTARTED
from storage.engine import create_engine
from storage.slots import RedisCallSlots
from storage.uow import make_uow_factory
from tests.reliability.conftest import TOOL_SECRET

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

CAMPAIGNS = 3
TIME_SCALE = "0.05"  # a simulated call lasts seconds of wall time: long enough to die in the middle of it
LEASE_SECONDS = "1"
RECOVERY_TIMEOUT_SECONDS = 60


@asynccontextmanager
async def nexus_serve(env: dict[str, str], cwd: Path) -> AsyncIterator[asyncio.subprocess.Process]:
    """``nexus serve`` as an operator starts it, its log on a pipe."""
    child_env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_", "NEXUS_"))}
    child_env.update(env, PYTHONPATH=str(PROJECT_ROOT))
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "nexus.cli", "serve", cwd=cwd, env=child_env, stderr=asyncio.subprocess.PIPE
    )
    try:
        yield process
    finally:
        if process.returncode is None:
            process.terminate()
            await process.wait()


async def test_a_restart_after_kill_9_leaves_no_call_open(
    shared_database: str, redis_url: str, holds_prefix: str, tmp_path: Path
) -> None:
    engine = create_engine(shared_database)
    uow = make_uow_factory(engine)
    client = redis.from_url(redis_url)
    prefix = f"nexus-test:{uuid.uuid4().hex[:12]}"
    settings = {
        "CALL_SLOT_LEASE_SECONDS": LEASE_SECONDS,
        "SWEEP_INTERVAL_SECONDS": "1",
        "LOG_LEVEL": "INFO",
        # A voicemail box is called again ten minutes later: a call queued for then is not one left open by the
        # kill. (Whether a practice's voicemail answers depends on the hour the simulated world is made.)
        "VOICEMAIL_RETRIES": "0",
    }
    try:
        args = ["--holds-prefix", f"{prefix}:holds", "--slots-prefix", f"{prefix}:calls"]
        args += ["--campaigns", str(CAMPAIGNS), "--time-scale", TIME_SCALE]
        async with nexus_server(shared_database, TOOL_SECRET, redis_url, args, settings) as doomed:
            dialled: list[str] = []
            while len(dialled) < CAMPAIGNS:
                event, _, campaign_id = (await doomed.next_line()).partition(" ")
                if event == "dialled":
                    dialled.append(campaign_id)
            async with uow() as read:
                assert await read.calls.list_open(), "the process should die while calls are still running"
            doomed.kill()
            assert await doomed.process.wait() == -9

        env = {
            "DATABASE_URL": shared_database,
            "REDIS_URL": redis_url,
            "REDIS_KEY_PREFIX": prefix,
            "TOOLS_SHARED_SECRET": TOOL_SECRET,
            "NEXUS_MODE": "mock_ai",
            "NEXUS_PORT": "0",
            **settings,
        }
        async with nexus_serve(env, tmp_path) as restarted:
            assert restarted.stderr is not None
            async with asyncio.timeout(RECOVERY_TIMEOUT_SECONDS):
                open_calls = ["not checked yet"]
                while open_calls:
                    line = (await restarted.stderr.readline()).decode()
                    assert line, "nexus serve exited"
                    if "recovered open calls of stopped processes" in line:
                        async with uow() as read:
                            open_calls = [c.id for c in await read.calls.list_open()]

        async with uow() as read:
            campaigns = [await read.campaigns.get(campaign_id) for campaign_id in dialled]
            calls = [c for campaign_id in dialled for c in await read.calls.list_for_campaign(campaign_id)]
        assert all(c.status.is_ended for c in calls)
        assert any(c.failure_reason == RESTARTED for c in calls)
        for campaign in campaigns:
            assert campaign is not None
            assert campaign.status in (CampaignStatus.RANKING, CampaignStatus.FAILED), campaign.status
        assert await RedisCallSlots(client, 30, prefix=f"{prefix}:calls").in_use() == 0
    finally:
        async for key in client.scan_iter(match=f"{prefix}:*"):
            await client.delete(key)
        await client.aclose()
        await engine.dispose()
