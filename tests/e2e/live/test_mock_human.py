"""mock_human through the real composition root: every call NEXUS places rings TARGET_PHONE_NUMBER, and
nothing but the fake ElevenLabs API on 127.0.0.1 is contacted."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer
from pydantic import SecretStr

from domain.models import CallStatus, CampaignStatus, TimeWindow
from domain.services.campaigns import StartCampaign, create_campaign, run_campaign
from integrations.clock import FixedClock
from integrations.directory import load_bundled_providers
from integrations.elevenlabs.gateway import ElevenLabsVoiceGateway
from nexus.bootstrap import bootstrap
from nexus.settings import Mode, Settings
from storage.schema import upgrade
from tests.factories import ALEXANDERPLATZ
from tests.support.db import sqlite_url

TARGET = "+4915112345678"
# Monday 11:00 in Berlin: every bundled dentist near Alexanderplatz is open (at 09:00 one opens only at 10:00,
# after the search's deadline, and would never be dialled).
NOW = datetime(2026, 11, 30, 10, tzinfo=UTC)


class OutboundCalls:
    """The outbound-call endpoint of a fake ElevenLabs API: records each request, answers with fresh ids."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/convai/twilio/outbound-call", self._place)
        return app

    async def _place(self, request: web.Request) -> web.Response:
        self.requests.append(await request.json())
        n = len(self.requests)
        return web.json_response(
            {"success": True, "message": "ok", "conversation_id": f"conv_{n}", "callSid": f"CA{n}"}
        )


async def test_every_call_in_mock_human_mode_goes_to_the_target_number(
    tmp_path: Path, aiohttp_server: Callable[[web.Application], Awaitable[TestServer]]
) -> None:
    api = OutboundCalls()
    server = await aiohttp_server(api.app())
    url = sqlite_url(tmp_path)
    await upgrade(url)
    settings = Settings(
        _env_file=None,
        nexus_mode=Mode.MOCK_HUMAN,
        database_url=url,
        tools_shared_secret=SecretStr("tool-secret"),
        public_base_url="https://nexus.example",
        elevenlabs_api_key=SecretStr("xi-key"),
        elevenlabs_base_url=str(server.make_url("/")),
        elevenlabs_agent_phone_number_id="phone_1",
        elevenlabs_agent_id_discover="agent_discover",
        elevenlabs_agent_id_confirm="agent_confirm",
        elevenlabs_webhook_secret=SecretStr("hook-secret"),
        twilio_account_sid="AC123",
        twilio_auth_token=SecretStr("twilio-token"),
        target_phone_number=TARGET,
    )
    window = TimeWindow(NOW + timedelta(days=1, hours=1), NOW + timedelta(days=1, hours=6))
    async with bootstrap(settings, clock=FixedClock(NOW)) as nexus:
        assert isinstance(nexus.ports.voice, ElevenLabsVoiceGateway)
        campaign = await create_campaign(
            nexus.ports, StartCampaign(user_id=7, service="dentist", windows=[window], location=ALEXANDERPLATZ)
        )
        await run_campaign(nexus.ports, campaign.id)
        async with nexus.ports.uow() as uow:
            stored = await uow.campaigns.get(campaign.id)
            calls = await uow.calls.list_for_campaign(campaign.id)

    assert stored is not None
    assert stored.status is CampaignStatus.NEGOTIATING
    assert len(api.requests) == len(calls) == 15
    assert {r["to_number"] for r in api.requests} == {TARGET}
    provider_phones = {p.phone for p in load_bundled_providers()}
    assert not provider_phones & {r["to_number"] for r in api.requests}
    tokens = [r["conversation_initiation_client_data"]["dynamic_variables"]["secret__call_token"] for r in api.requests]
    assert len(set(tokens)) == 15  # each call has its own secret
    assert {r["agent_id"] for r in api.requests} == {"agent_discover"}
    assert all(c.status is CallStatus.DIALING and c.conversation_id and c.call_sid for c in calls)
