"""Every tool endpoint refuses a request that does not prove it comes from a live call, and changes nothing."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from pytest_aiohttp import AiohttpClient

from domain.models import CallOutcome, TimeWindow
from domain.services.campaigns import StartCampaign, cancel_campaign, create_campaign, run_campaign
from domain.services.tool_calls import end_call, open_call
from tests.factories import ALEXANDERPLATZ, make_provider
from tests.fakes import FakeClock, FakeWorld
from tools_server.app import create_app
from tools_server.tools import CALL_TOKEN_HEADER, TOOL_SECRET_HEADER, TOOLS

SECRET = "the-right-secret"
NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
WINDOW = TimeWindow(datetime(2026, 12, 1, 11, tzinfo=UTC), datetime(2026, 12, 1, 16, tzinfo=UTC))
USER = 1

# A body each endpoint would accept from a live call.
BODIES: dict[str, dict[str, Any]] = {
    "/api/check-availability": {"date": "2026-12-01", "time": "13:00"},
    "/api/report-slot-offer": {"date": "2026-12-01", "time": "13:00"},
    "/api/book-slot": {"date": "2026-12-01", "time": "13:00"},
    "/api/end-call": {"outcome": "offer_made"},
    "/api/get-distance": {},
    "/api/ask-user": {"question": "Are you insured publicly or privately?", "choices": ["public", "private"]},
    "/api/get-instructions": {},
    "/api/request-handover": {"about": "the insurance"},
}
PATHS = [tool.path for tool in TOOLS]


@dataclass(frozen=True)
class Tokens:
    """Call tokens in every state that matters here."""

    live: str
    ended: str
    cancelled: str


@pytest.fixture
def world() -> FakeWorld:
    return FakeWorld(clock=FakeClock(NOW), providers=[make_provider("a"), make_provider("b")])


async def _campaign(world: FakeWorld) -> str:
    ports = world.ports
    command = StartCampaign(user_id=USER, service="dentist", windows=[WINDOW], location=ALEXANDERPLATZ)
    campaign = await create_campaign(ports, command)
    await run_campaign(ports, campaign.id)
    return campaign.id


@pytest.fixture
async def tokens(world: FakeWorld) -> Tokens:
    ports = world.ports
    await _campaign(world)
    live, ended = world.voice.token_for("a"), world.voice.token_for("b")
    await end_call(ports, await open_call(ports, ended), CallOutcome.NO_AVAILABILITY)
    await cancel_campaign(ports, USER, await _campaign(world))
    return Tokens(live=live, ended=ended, cancelled=world.voice.token_for("a"))


def _state(world: FakeWorld) -> tuple[Any, ...]:
    return copy.deepcopy(world.store.tables), world.store.commits, list(world.holds.holds), len(world.outbox.sent)


async def _refused(
    aiohttp_client: AiohttpClient, world: FakeWorld, path: str, headers: dict[str, str]
) -> tuple[int, dict[str, Any]]:
    """Send a valid body with ``headers``; assert nothing changed; return the status and the answer."""
    client = await aiohttp_client(create_app(world.ports, SECRET))
    before = _state(world)
    response = await client.post(path, json=BODIES[path], headers=headers)
    body: dict[str, Any] = await response.json()
    assert _state(world) == before
    assert body["message"]
    return response.status, body


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("secret", [None, "", "the-wrong-secret", SECRET.upper(), SECRET[:-1]])
async def test_a_wrong_or_missing_secret_is_refused(
    aiohttp_client: AiohttpClient, world: FakeWorld, tokens: Tokens, path: str, secret: str | None
) -> None:
    headers = {CALL_TOKEN_HEADER: tokens.live}
    if secret is not None:
        headers[TOOL_SECRET_HEADER] = secret
    status, body = await _refused(aiohttp_client, world, path, headers)
    assert (status, body["error"]) == (401, "unauthorized")


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("token", [None, "", "not-a-token-of-any-call"])
async def test_a_missing_or_unknown_call_token_is_refused(
    aiohttp_client: AiohttpClient, world: FakeWorld, tokens: Tokens, path: str, token: str | None
) -> None:
    headers = {TOOL_SECRET_HEADER: SECRET}
    if token is not None:
        headers[CALL_TOKEN_HEADER] = token
    status, body = await _refused(aiohttp_client, world, path, headers)
    assert (status, body["error"]) == (401, "unauthorized")


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("which", ["ended", "cancelled"])
async def test_the_token_of_a_call_that_is_over_is_refused(
    aiohttp_client: AiohttpClient, world: FakeWorld, tokens: Tokens, path: str, which: str
) -> None:
    headers = {TOOL_SECRET_HEADER: SECRET, CALL_TOKEN_HEADER: getattr(tokens, which)}
    status, body = await _refused(aiohttp_client, world, path, headers)
    expected = "not_allowed" if path == "/api/book-slot" else "call_closed"  # discovery calls never book
    assert (status, body["status"]) == (200, expected)  # refusals the agent must hear are 200


async def test_a_discovery_call_cannot_book(aiohttp_client: AiohttpClient, world: FakeWorld, tokens: Tokens) -> None:
    headers = {TOOL_SECRET_HEADER: SECRET, CALL_TOKEN_HEADER: tokens.live}
    status, body = await _refused(aiohttp_client, world, "/api/book-slot", headers)
    assert (status, body["status"]) == (200, "not_allowed")


async def test_the_live_call_itself_is_let_through(
    aiohttp_client: AiohttpClient, world: FakeWorld, tokens: Tokens
) -> None:
    """The control: the same request with the right secret and a live token is answered."""
    client = await aiohttp_client(create_app(world.ports, SECRET))
    headers = {TOOL_SECRET_HEADER: SECRET, CALL_TOKEN_HEADER: tokens.live}
    response = await client.post("/api/check-availability", json=BODIES["/api/check-availability"], headers=headers)
    assert response.status == 200
    assert (await response.json())["status"] == "available"
