"""``bootstrap`` serves the webhook and the calendar routes exactly when their settings are there."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from integrations.crypto import generate_key
from nexus.bootstrap import bootstrap
from nexus.settings import Settings

ClientMaker = Callable[[web.Application], Awaitable[TestClient[web.Request, web.Application]]]

CALENDAR = {
    "public_base_url": "https://nexus.example",
    "google_client_id": "client-id.apps.example",
    "google_client_secret": "client-secret",
    "encryption_key": generate_key(),
}


async def statuses(tmp_path: Path, aiohttp_client: ClientMaker, **values: Any) -> tuple[int, int]:
    """What the webhook and the OAuth start route answer to a request they must refuse, or 404 if absent."""
    settings = Settings(_env_file=None, database_url=f"sqlite+aiosqlite:///{tmp_path}/nexus.db", **values)
    async with bootstrap(settings, check_schema=False) as nexus:
        client = await aiohttp_client(nexus.create_web_app())
        webhook = await client.post("/webhooks/elevenlabs", data=b"{}", headers={"ElevenLabs-Signature": "t=1,v0=00"})
        oauth = await client.get("/oauth/google/start", params={"state": "forged"})
        return webhook.status, oauth.status


@pytest.fixture(autouse=True)
def no_ambient_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ELEVENLABS_WEBHOOK_SECRET", "NEXUS_MODE", "REDIS_URL", *(key.upper() for key in CALENDAR)):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({}, (404, 404)),
        ({"elevenlabs_webhook_secret": "wsec_1"}, (401, 404)),
        (CALENDAR, (404, 400)),
        ({**CALENDAR, "encryption_key": None}, (404, 404)),
        ({**CALENDAR, "elevenlabs_webhook_secret": "wsec_1"}, (401, 400)),
    ],
)
async def test_routes_follow_the_settings(
    tmp_path: Path, aiohttp_client: ClientMaker, values: dict[str, Any], expected: tuple[int, int]
) -> None:
    assert await statuses(tmp_path, aiohttp_client, **values) == expected
