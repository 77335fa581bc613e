"""A fake ElevenLabs API on 127.0.0.1 and an SDK client pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from elevenlabs import AsyncElevenLabs

from integrations.elevenlabs import make_elevenlabs_client

API_KEY = "xi-test-key"


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class FakeElevenLabs:
    """Records every request; answers outbound calls with ``outbound_reply`` and conversations from
    ``conversations`` (404 for unknown ids, ``conversation_status`` to force an error status)."""

    seen: list[Seen] = field(default_factory=list)
    outbound_reply: tuple[int, dict[str, Any]] = (
        200,
        {"success": True, "message": "Call placed", "conversation_id": "conv_1", "callSid": "CA_1"},
    )
    conversations: dict[str, dict[str, Any]] = field(default_factory=dict)
    conversation_status: int = 200
    numbered: bool = False  # give each placed call a conversation and call id of its own

    @property
    def outbound_calls(self) -> list[Seen]:
        return [s for s in self.seen if s.path == "/v1/convai/twilio/outbound-call"]

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/convai/twilio/outbound-call", self._outbound_call)
        app.router.add_get("/v1/convai/conversations/{conversation_id}", self._conversation)
        return app

    async def _record(self, request: web.Request) -> None:
        body = await request.json() if request.can_read_body else None
        self.seen.append(Seen(request.method, request.path, dict(request.headers), body))

    async def _outbound_call(self, request: web.Request) -> web.Response:
        await self._record(request)
        status, payload = self.outbound_reply
        if self.numbered and status == 200:
            n = len(self.outbound_calls)
            payload = {**payload, "conversation_id": f"conv_{n}", "callSid": f"CA_{n}"}
        return web.json_response(payload, status=status)

    async def _conversation(self, request: web.Request) -> web.Response:
        await self._record(request)
        if self.conversation_status != 200:
            return web.json_response({"detail": "broken"}, status=self.conversation_status)
        conversation = self.conversations.get(request.match_info["conversation_id"])
        if conversation is None:
            return web.json_response({"detail": "Conversation not found"}, status=404)
        return web.json_response(conversation)


@pytest.fixture
def fake_elevenlabs() -> FakeElevenLabs:
    return FakeElevenLabs()


@pytest.fixture
async def elevenlabs_client(
    fake_elevenlabs: FakeElevenLabs, aiohttp_server: Callable[[web.Application], Awaitable[TestServer]]
) -> AsyncIterator[AsyncElevenLabs]:
    server = await aiohttp_server(fake_elevenlabs.app())
    async with httpx.AsyncClient() as http:
        yield make_elevenlabs_client(API_KEY, str(server.make_url("/")), http_client=http)
