"""Messages reach users whichever process caused them: one ``nexus run`` (the bot, on the fake Bot API) and
two ``nexus serve`` replicas share PostgreSQL and Redis behind a round-robin proxy, so every campaign's
tool calls and post-call webhooks land on all three. One replica has the bot token (it delivers too), the
other has none (its messages wait for a process that has). Every user hears each message exactly once and
in order: the live view, the shortlist, the booking and its calendar file."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import func, select

from benchmarks.processes import nexus_command
from benchmarks.seeding import (
    TIMEZONE,
    RecordingVoiceGateway,
    SeededCall,
    negotiating_calls,
    search_window,
    seeding_ports,
)
from domain.models import CallPurpose
from domain.services.confirmation import choose_offer
from integrations.elevenlabs import sign_payload
from storage.engine import create_engine
from storage.orm import OutboxRow
from storage.uow import make_uow_factory
from tests.reliability.conftest import TOOL_SECRET
from tests.reliability.proxy import TcpProxy
from tests.support.fake_bot_api import TOKEN, ApiCall, FakeBotApi
from tools_server.tools import CALL_TOKEN_HEADER, TOOL_SECRET_HEADER

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

USERS = [6001 + n for n in range(20)]
CALLS_PER_CAMPAIGN = 3
WEBHOOK_SECRET = "wsec_outbox_processes_0123456789abcdef"
WAIT_SECONDS = 60


@pytest.fixture
async def bot_api() -> AsyncIterator[tuple[FakeBotApi, str]]:
    api = FakeBotApi()
    server = TestServer(api.app, host="127.0.0.1")
    await server.start_server()
    try:
        yield api, str(server.make_url("")).rstrip("/")
    finally:
        await server.close()


def _address(base_url: str) -> tuple[str, int]:
    parts = urlsplit(base_url)
    assert parts.hostname is not None and parts.port is not None
    return parts.hostname, parts.port


class Agent:
    """Speaks for the calls' agents and ElevenLabs' webhooks, each request on a fresh connection."""

    def __init__(self, http: aiohttp.ClientSession, base_url: str) -> None:
        self._http = http
        self._base_url = base_url

    async def tool(self, call: SeededCall, name: str, body: dict[str, Any]) -> dict[str, Any]:
        headers = {TOOL_SECRET_HEADER: TOOL_SECRET, CALL_TOKEN_HEADER: call.token}
        async with self._http.post(f"{self._base_url}/api/{name}", json=body, headers=headers) as response:
            answer: dict[str, Any] = await response.json()
            assert response.status == 200, answer
            return answer

    async def call_is_over(self, conversation_id: str) -> None:
        now = datetime.now(UTC)
        event = {
            "type": "post_call_transcription",
            "event_timestamp": int(now.timestamp()),
            "data": {
                "agent_id": "agent_discover",
                "conversation_id": conversation_id,
                "status": "done",
                "transcript": [{"role": "user", "message": "That is all we have.", "time_in_call_secs": 5}],
                "metadata": {"start_time_unix_secs": int(now.timestamp()) - 60, "call_duration_secs": 50},
                "analysis": {
                    "call_successful": "success",
                    "transcript_summary": "The practice offered a time.",
                    "data_collection_results": {"outcome": {"data_collection_id": "outcome", "value": "offer_made"}},
                },
            },
        }
        body = json.dumps(event).encode()
        headers = {"ElevenLabs-Signature": sign_payload(body, WEBHOOK_SECRET, now), "Content-Type": "application/json"}
        async with self._http.post(f"{self._base_url}/webhooks/elevenlabs", data=body, headers=headers) as response:
            assert response.status == 200, await response.text()


def _local(moment: datetime) -> dict[str, str]:
    local = moment.astimezone(ZoneInfo(TIMEZONE))
    return {"date": local.strftime("%Y-%m-%d"), "time": local.strftime("%H:%M")}


async def test_every_user_hears_each_message_once_and_in_order_across_processes(
    shared_database: str, redis_url: str, bot_api: tuple[FakeBotApi, str]
) -> None:
    api, api_url = bot_api
    common = {
        "DATABASE_URL": shared_database,
        "REDIS_URL": redis_url,
        "TOOLS_SHARED_SECRET": TOOL_SECRET,
        "NEXUS_MODE": "mock_ai",
        "ELEVENLABS_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "LOG_LEVEL": "WARNING",
    }
    with_bot = {**common, "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_BASE_URL": api_url}
    engine = create_engine(shared_database)
    uow = make_uow_factory(engine)
    gateway = RecordingVoiceGateway()
    ports = seeding_ports(uow, gateway)
    try:
        async with AsyncExitStack() as stack:
            bot, telling, silent = await asyncio.gather(
                stack.enter_async_context(nexus_command("run", with_bot)),
                stack.enter_async_context(nexus_command("serve", with_bot)),
                stack.enter_async_context(nexus_command("serve", common)),
            )
            proxy = TcpProxy(*_address(bot.base_url), also=[_address(telling.base_url), _address(silent.base_url)])
            await proxy.start()
            stack.push_async_callback(proxy.stop)
            connector = aiohttp.TCPConnector(force_close=True)  # a new connection, so the next process, each time
            http = await stack.enter_async_context(
                aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=30))
            )
            agent = Agent(http, f"http://127.0.0.1:{proxy.port}")

            window = search_window(datetime.now(UTC))
            calls = await negotiating_calls(ports, gateway, USERS, CALLS_PER_CAMPAIGN, window)
            assert len(calls) == len(USERS) * CALLS_PER_CAMPAIGN
            # Queued by this (bot-less) process: the others find it by polling and show the calls.
            await asyncio.gather(*(_wait_for_text(api, user, "📞") for user in USERS))

            async def discover(call: SeededCall, n: int) -> None:
                await agent.tool(call, "report-slot-offer", _local(window.start + timedelta(hours=1 + n)))
                if n == 0:  # one call of each campaign ends by the post-call webhook, the others by end-call
                    await agent.call_is_over(f"seed_{call.call_id[:12]}")
                else:
                    await agent.tool(call, "end-call", {"outcome": "offer_made"})

            by_campaign: dict[str, list[SeededCall]] = {}
            for call in calls:
                by_campaign.setdefault(call.campaign_id, []).append(call)
            await asyncio.gather(*(discover(c, n) for group in by_campaign.values() for n, c in enumerate(group)))

            shortlists = await asyncio.gather(*(_wait_for_text(api, user, "Here are the best times") for user in USERS))

            async def book(user: int, shortlist: ApiCall) -> None:
                offer_id = shortlist.button("Book 1").split(":")[1]
                _, offer, confirm = await choose_offer(ports, user, offer_id)
                assert gateway.requests[confirm.id].call.purpose is CallPurpose.CONFIRM
                seeded = SeededCall(confirm.campaign_id, confirm.id, user, gateway.tokens[confirm.id])
                answer = await agent.tool(seeded, "book-slot", _local(offer.start))
                assert answer["status"] == "booked"
                await agent.tool(seeded, "end-call", {"outcome": "booked"})

            await asyncio.gather(*(book(user, shortlist) for user, shortlist in zip(USERS, shortlists, strict=True)))
            await asyncio.gather(*(_wait_for(api, user, "sendDocument") for user in USERS))
            await asyncio.gather(bot.stop(), telling.stop(), silent.stop())  # at once, not one after another
        # Every process has stopped: whatever it sent is in the record.

        for user in USERS:
            sent = [c for c in api.calls if str(c.params.get("chat_id")) == str(user)]
            new_messages = [c for c in sent if c.method in ("sendMessage", "sendDocument")]
            kinds = [_kind(c) for c in new_messages]
            assert kinds == ["live view", "shortlist", "booked", "calendar file"], (user, kinds)
            live_message = new_messages[0].message_id
            edits = [c for c in sent if c.method == "editMessageText"]
            assert edits and all(c.edits(live_message) for c in edits)
            final_view = max(i for i, c in enumerate(sent) if c.method == "editMessageText")
            assert "Stop calls" not in str(sent[final_view].params.get("reply_markup"))
            assert final_view < sent.index(new_messages[1])  # the calls' final view before the shortlist

        async with engine.connect() as connection:
            statuses = dict(
                (await connection.execute(select(OutboxRow.status, func.count()).group_by(OutboxRow.status))).all()
            )
        assert statuses.get("FAILED", 0) == 0
        assert statuses.get("DELIVERED", 0) > 0
    finally:
        await engine.dispose()


def _kind(call: ApiCall) -> str:
    if call.method == "sendDocument":
        return "calendar file"
    text = call.text
    if "Calling" in text and "providers" in text:
        return "live view"
    if text.startswith("Here are the best times"):
        return "shortlist"
    if "Booked:" in text:
        return "booked"
    return text[:40]


async def _wait_for_text(api: FakeBotApi, user: int, start: str) -> ApiCall:
    return await api.wait_for(
        "sendMessage",
        lambda c: str(c.params.get("chat_id")) == str(user) and c.text.startswith(start),
        within=WAIT_SECONDS,
    )


async def _wait_for(api: FakeBotApi, user: int, method: str) -> ApiCall:
    return await api.wait_for(method, lambda c: str(c.params.get("chat_id")) == str(user), within=WAIT_SECONDS)
