"""The Telegram webhook route on the real tool server app: its own body limit, and 400 (never 500) for bodies
that are not updates, whatever a caller holding the secret sends."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.conversation import Conversation
from bot.telegram import SECRET_HEADER, WEBHOOK_PATH, build_application, webhook_routes
from bot.telegram.webhook import MAX_UPDATE_BYTES
from integrations.directory import GazetteerGeocoder
from integrations.intent import OfflineIntentParser
from tests.fakes import FakeClock, FakeWorld
from tests.support.fake_bot_api import TOKEN, FakeBotApi
from tools_server.app import DEFAULT_MAX_BODY_BYTES, create_app

SECRET = "webhook-secret"
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=20,
)
UPDATE_KEYS = st.sampled_from(["message", "edited_message", "callback_query", "my_chat_member", "poll"])
# Update-like objects: the right top-level keys with values of any shape.
UPDATE_LIKE = st.fixed_dictionaries(
    {"update_id": st.integers() | st.text(max_size=5) | st.none()},
    optional={"message": JSON_VALUES, "callback_query": JSON_VALUES, "edited_message": JSON_VALUES},
) | st.dictionaries(UPDATE_KEYS, JSON_VALUES, max_size=3)


@dataclass
class Target:
    url: str
    queue_size: Any


@pytest.fixture(scope="module")
def target() -> Iterator[Target]:
    """The tool server app (with its 16 KiB limit) and the webhook route, served from a thread of its own."""
    loop = asyncio.new_event_loop()
    started = threading.Event()
    holder: dict[str, Any] = {}

    async def serve() -> None:
        world = FakeWorld(clock=FakeClock(datetime(2026, 11, 26, 9, 0, tzinfo=UTC)))
        conversation = Conversation(world.ports, OfflineIntentParser(), GazetteerGeocoder())
        application = build_application(TOKEN, conversation, base_url="http://127.0.0.1:9", webhook=True)
        app = create_app(world.ports, "tool-secret")
        webhook_routes(application, SECRET)(app)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        holder["url"] = f"http://127.0.0.1:{port}{WEBHOOK_PATH}"
        holder["queue"] = application.update_queue
        holder["runner"] = runner
        started.set()

    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(serve(), loop).result(timeout=10)
    started.wait(10)
    try:
        yield Target(holder["url"], holder["queue"].qsize)
    finally:
        asyncio.run_coroutine_threadsafe(holder["runner"].cleanup(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def post(target: Target, body: bytes) -> requests.Response:
    return requests.post(
        target.url, data=body, headers={SECRET_HEADER: SECRET, "Content-Type": "application/json"}, timeout=10
    )


def test_a_large_real_update_is_taken_although_the_tools_limit_is_smaller(target: Target) -> None:
    update = FakeBotApi().update_for_text("Zahnarzt " + "ä" * 4000)
    update["message"]["reply_to_message"] = dict(update["message"], text="ü" * 4000)
    body = json.dumps(update).encode()  # escaped umlauts: about 50 KB
    assert DEFAULT_MAX_BODY_BYTES < len(body) < MAX_UPDATE_BYTES
    before = target.queue_size()
    response = post(target, body)
    assert response.status_code == 200
    assert target.queue_size() == before + 1


def test_a_body_over_the_webhooks_own_limit_is_refused_with_413(target: Target) -> None:
    update = FakeBotApi().update_for_text("x" * (MAX_UPDATE_BYTES + 1))
    response = post(target, json.dumps(update).encode())
    assert response.status_code == 413
    assert response.json()["message"] == f"An update may be at most {MAX_UPDATE_BYTES} bytes."


@pytest.mark.parametrize(
    "body",
    [
        b"[]",
        b'[{"update_id": 1}]',
        b"[" * 100_000 + b"]" * 100_000,
        b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
        b'{"update_id": "1"}',
        b'{"update_id": true}',
        b'{"update_id": 1, "message": "hello"}',
        b'{"update_id": 1, "message": {"chat": 5}}',
        b'{"update_id": 1, "callback_query": []}',
        b"\xff\xfe not utf-8",
        b"",
    ],
)
def test_malformed_bodies_with_the_right_secret_get_400(target: Target, body: bytes) -> None:
    response = post(target, body)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "not_an_update"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=JSON_VALUES | UPDATE_LIKE)
def test_whatever_json_arrives_the_answer_is_200_or_400(target: Target, value: Any) -> None:
    response = post(target, json.dumps(value).encode())
    assert response.status_code in (200, 400), (value, response.status_code, response.text)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.binary(max_size=200))
def test_whatever_bytes_arrive_the_answer_is_200_or_400(target: Target, body: bytes) -> None:
    assert post(target, body).status_code in (200, 400)
