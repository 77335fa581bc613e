"""The outbox: how long a message waits between the commit that queues it and Telegram accepting it, with
many campaigns running, and how many messages one dispatcher sends per second against a fake Bot API
(Telegram allows a bot about 30 a second: the dispatcher should use that budget and never exceed it).

Both run in this process on PostgreSQL when it is reachable (SQLite otherwise), with the real
python-telegram-bot ``Bot`` talking HTTP to the fake Bot API of the test suite.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime

import redis.asyncio as redis
from aiohttp.test_utils import TestServer
from sqlalchemy import select
from telegram import Bot

from benchmarks.databases import REDIS_URL, postgres_database, servers_reachable, sqlite_database
from benchmarks.seeding import ALEXANDERPLATZ, TIMEZONE, UNLIMITED, search_window
from bot.telegram import SendBudget, TelegramNotifier
from bot.telegram.app import api_urls
from bot.telegram.notifier import TELEGRAM_MESSAGES_PER_SECOND
from domain.models import CampaignStatus
from domain.notifications import CampaignFailed
from domain.services.campaigns import StartCampaign, create_campaign, run_campaign
from integrations.clock import SystemClock
from integrations.simulation.gateway import SimulatedVoiceGateway
from nexus.bootstrap import bootstrap
from nexus.notifications import Dispatcher
from nexus.settings import Mode, Settings
from storage.engine import create_engine
from storage.holds import InMemoryHoldStore, RedisHoldStore
from storage.orm import OutboxRow
from storage.uow import make_uow_factory
from tests.factories import make_campaign
from tests.support.fake_bot_api import TOKEN, ApiCall, FakeBotApi

CALLS_PER_CAMPAIGN = 5
TIME_SCALE = 0.02  # a 45-150 s simulated call takes 0.9-3 s
SETTLE_SECONDS = 300.0
USERS_FOR_THROUGHPUT = 200


def _database() -> tuple[str, AbstractAsyncContextManager[str]]:
    return ("postgres", postgres_database()) if servers_reachable() else ("sqlite", sqlite_database())


@asynccontextmanager
async def _bot_api() -> AsyncIterator[tuple[FakeBotApi, Bot]]:
    api = FakeBotApi()
    server = TestServer(api.app, host="127.0.0.1")
    await server.start_server()
    base, files = api_urls(str(server.make_url("")).rstrip("/"))
    try:
        async with Bot(TOKEN, base_url=base, base_file_url=files) as bot:
            yield api, bot
    finally:
        await server.close()


def most_in_one_second(calls: list[ApiCall]) -> int:
    """The most requests that arrived within any one-second window."""
    times = sorted(c.at for c in calls)
    most, first = 0, 0
    for last, moment in enumerate(times):
        while moment - times[first] >= 1.0:
            first += 1
        most = max(most, last - first + 1)
    return most


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


async def throughput(messages: int) -> dict[str, str]:
    """Queue ``messages`` messages for ``USERS_FOR_THROUGHPUT`` users, then let one dispatcher send them."""
    kind, database = _database()
    async with database as url, _bot_api() as (api, bot):
        engine = create_engine(url)
        uow = make_uow_factory(engine)
        try:
            now = datetime.now(UTC)
            async with uow() as work:
                for n in range(messages):
                    user = 1 + n % USERS_FOR_THROUGHPUT
                    campaign = make_campaign(now, user_id=user, status=CampaignStatus.FAILED, failure_reason="-")
                    await work.outbox.add(user, CampaignFailed(campaign), now)
                await work.commit()
            sink = TelegramNotifier(bot, uow, SystemClock(), budget=SendBudget(TELEGRAM_MESSAGES_PER_SECOND))
            began = time.monotonic()
            await Dispatcher(uow, sink).deliver_due()
            seconds = time.monotonic() - began
        finally:
            await engine.dispose()
    sent = api.sent("sendMessage")
    return {
        "database": kind,
        "messages": str(len(sent)),
        "per_s": f"{len(sent) / seconds:.1f}",
        "most_in_one_second": str(most_in_one_second(sent)),
        "budget_per_s": str(TELEGRAM_MESSAGES_PER_SECOND),
    }


async def lag(campaigns: int) -> dict[str, str]:
    """Run ``campaigns`` simulated campaigns with a Telegram dispatcher in the process; how long each
    message waited from its commit until Telegram had it (live-view refreshes apart: they are folded and
    held to one edit every two seconds per chat on purpose)."""
    kind, database = _database()
    client = redis.from_url(REDIS_URL, socket_timeout=5, socket_connect_timeout=5) if kind == "postgres" else None
    holds = RedisHoldStore(client, f"nexus-bench:{uuid.uuid4().hex[:8]}:holds") if client else InMemoryHoldStore()
    async with database as url, _bot_api() as (api, bot):
        settings = Settings(_env_file=None, database_url=url, nexus_mode=Mode.MOCK_AI, max_concurrent_calls=1000)
        gateway = SimulatedVoiceGateway(time_scale=TIME_SCALE)
        async with (
            bootstrap(settings, clock=SystemClock(), voice=gateway, holds=holds, policy=UNLIMITED) as nexus,
            nexus.serving(nexus.create_web_app(), "127.0.0.1", 0),
        ):
            ports = nexus.ports
            nexus.start_dispatcher(TelegramNotifier(bot, nexus.outbox_uow, ports.clock), drop_superseded=True)
            window = search_window(datetime.now(UTC))
            began = time.monotonic()

            async def one(user: int) -> None:
                command = StartCampaign(
                    user, "dentist", [window], ALEXANDERPLATZ, timezone=TIMEZONE, max_calls=CALLS_PER_CAMPAIGN
                )
                campaign = await create_campaign(ports, command)
                await run_campaign(ports, campaign.id)
                await api.wait_for(
                    "sendMessage",
                    lambda c: str(c.params.get("chat_id")) == str(user) and not c.text.startswith("📞"),
                    within=SETTLE_SECONDS,
                )

            outcomes = await asyncio.gather(*(one(user) for user in range(1, campaigns + 1)), return_exceptions=True)
            errors = [type(o).__name__ for o in outcomes if isinstance(o, BaseException)]
            await gateway.wait_idle()
            await nexus.deliver_outbox()
            seconds = time.monotonic() - began
        engine = create_engine(url)
        try:
            async with engine.connect() as connection:
                rows = (await connection.execute(select(OutboxRow))).all()
        finally:
            await engine.dispose()
    if client is not None:
        await client.aclose()
    waited: dict[str, list[float]] = {"messages": [], "live_view": []}
    for row in rows:
        if row.delivered_at is not None:
            name = "live_view" if row.kind == "calls_changed" else "messages"
            waited[name].append((row.delivered_at - row.created_at).total_seconds())
    result = {"database": kind, "campaigns": str(campaigns), "wall_s": f"{seconds:.1f}", "errors": str(len(errors))}
    if errors:
        result["error_kinds"] = ",".join(sorted(set(errors)))
    for name, values in waited.items():
        result[f"{name}.count"] = str(len(values))
        result[f"{name}.lag_p50_ms"] = f"{_percentile(values, 0.5) * 1000:.0f}"
        result[f"{name}.lag_p99_ms"] = f"{_percentile(values, 0.99) * 1000:.0f}"
    result["undelivered"] = str(sum(1 for r in rows if r.status != "DELIVERED"))
    result["telegram_requests"] = str(len(api.calls))
    result["most_in_one_second"] = str(most_in_one_second([c for c in api.calls if c.method != "getMe"]))
    return result


async def run_outbox(campaigns: int, messages: int, emit: Callable[[str, str], None]) -> None:
    for name, value in (await throughput(messages)).items():
        emit(f"outbox.throughput.{name}", value)
    for name, value in (await lag(campaigns)).items():
        emit(f"outbox.lag.{name}", value)
