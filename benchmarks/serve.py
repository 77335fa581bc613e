"""A standalone NEXUS tool server process, for load tests, benchmarks and the reliability suite.

    DATABASE_URL=... REDIS_URL=... TOOLS_SHARED_SECRET=... python -m benchmarks.serve [--port 0]

Settings come from the environment only (never ``.env``). It prints ``serving <base url>`` once it listens
and then one line per event a watching process may wait for. With ``--campaigns N`` it also starts N
offline campaigns of simulated calls (``--time-scale`` slows them to wall-clock speed): it prints
``dialled <campaign id>`` when a campaign's calls are placed and ``offer <campaign id>`` when one of its
calls reports an offer. It stops on SIGTERM or SIGINT. With ``NEXUS_BENCH_PROFILE=<file>`` in its
environment it runs under cProfile and writes the profile to that file when it stops (read it with
``python -m pstats <file>``; cProfile slows the process, so read the shares, not the times).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import signal
import sys
from contextlib import AsyncExitStack
from dataclasses import replace
from datetime import timedelta

from benchmarks.seeding import ALEXANDERPLATZ, TIMEZONE, always_open_directory, search_window
from domain.models import Campaign
from domain.notifications import CampaignProgress, Notification
from domain.practices import NO_BUDGET
from domain.services.campaigns import StartCampaign, create_campaign, run_campaign
from domain.services.context import Ports
from integrations.clock import SystemClock
from integrations.simulation.gateway import SimulatedVoiceGateway
from nexus.bootstrap import bootstrap, policy_from
from nexus.settings import Settings
from storage.holds import RedisHoldStore
from storage.slots import RedisCallSlots


def _say(line: str) -> None:
    print(line, flush=True)


class _OfferAnnouncer:
    """Prints ``offer <campaign id>`` whenever a campaign's live view shows a new offer."""

    def __init__(self) -> None:
        self._seen: dict[str, int] = {}

    async def notify(self, user_id: int, notification: Notification) -> None:
        if isinstance(notification, CampaignProgress):
            campaign: Campaign = notification.campaign
            count = len(notification.offers)
            if count > self._seen.get(campaign.id, 0):
                self._seen[campaign.id] = count
                _say(f"offer {campaign.id}")


async def _start_campaigns(ports: Ports, count: int, first_user: int) -> None:
    window = search_window(ports.clock.now())

    async def one(user_id: int) -> None:
        campaign = await create_campaign(
            ports,
            StartCampaign(
                user_id=user_id, service="dentist", windows=[window], location=ALEXANDERPLATZ, timezone=TIMEZONE
            ),
        )
        await run_campaign(ports, campaign.id)
        _say(f"dialled {campaign.id}")

    await asyncio.gather(*(one(first_user + i) for i in range(count)))


async def serve(args: argparse.Namespace) -> None:
    settings = Settings(_env_file=None)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    async with AsyncExitStack() as stack:
        holds = None
        slots = None
        if settings.redis_url:
            import redis.asyncio as redis

            client = redis.from_url(settings.redis_url, socket_timeout=2, socket_connect_timeout=2)
            stack.push_async_callback(client.aclose)
            holds = RedisHoldStore(client, prefix=args.holds_prefix)
            slots = RedisCallSlots(
                client,
                settings.max_concurrent_calls,
                prefix=args.slots_prefix or f"{args.holds_prefix}:calls",
                lease_seconds=settings.call_slot_lease_seconds,
            )
            stack.push_async_callback(slots.aclose)
        voice = SimulatedVoiceGateway(time_scale=args.time_scale)
        nexus = await stack.enter_async_context(
            bootstrap(
                settings,
                clock=SystemClock(),
                voice=voice,
                holds=holds,
                slots=slots,
                # Load: the same practices are called thousands of times on purpose, so no per-practice budget.
                policy=replace(policy_from(settings), call_budget=NO_BUDGET),
                directory=always_open_directory(),
            )
        )
        base_url = await stack.enter_async_context(
            nexus.serving(nexus.create_web_app(), args.host, args.port, args.reuse_port)
        )
        _say(f"serving {base_url}")
        campaigns: asyncio.Task[None] | None = None
        if args.campaigns:
            nexus.notifications.subscribe(_OfferAnnouncer())
            users = range(args.first_user, args.first_user + args.campaigns)
            nexus.start_dispatcher(nexus.notifications, users=users, live_view_interval=timedelta(0))
            campaigns = asyncio.create_task(_start_campaigns(nexus.ports, args.campaigns, args.first_user))
        await stop.wait()
        if campaigns is not None:
            campaigns.cancel()
            await asyncio.gather(campaigns, return_exceptions=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.serve", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port (printed on start).")
    parser.add_argument("--reuse-port", action="store_true", help="Share the port with other processes.")
    parser.add_argument("--holds-prefix", default="nexus:holds", help="Redis key prefix of the hold store.")
    parser.add_argument(
        "--slots-prefix", default=None, help="Redis key prefix of the call slots (default: under the holds prefix)."
    )
    parser.add_argument("--campaigns", type=int, default=0, help="Start this many simulated campaigns.")
    parser.add_argument("--first-user", type=int, default=1, help="User id of the first simulated campaign.")
    parser.add_argument("--time-scale", type=float, default=0.0, help="Wall seconds per simulated second.")
    args = parser.parse_args(argv)
    profile_to = os.environ.get("NEXUS_BENCH_PROFILE")
    profiler = cProfile.Profile() if profile_to else None
    try:
        if profiler is not None:
            profiler.enable()
        asyncio.run(serve(args))
    except KeyboardInterrupt:
        return 130
    finally:
        if profiler is not None and profile_to:
            profiler.disable()
            profiler.dump_stats(profile_to)
    return 0


if __name__ == "__main__":
    sys.exit(main())
