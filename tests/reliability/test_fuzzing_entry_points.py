"""Fuzzing the HTTP entry points that are not tools (the ElevenLabs webhook, the Telegram webhook, the Google
OAuth routes) with the same tool as the tool endpoints, against the app ``bootstrap`` builds, served on
127.0.0.1 from a thread. Whatever arrives, signed or not, the answer is never a 5xx and nothing is logged
with a traceback.

The schema below describes what each route takes as its senders document it; half of the webhook bodies are
signed with the right secret and half of the Telegram updates carry the right secret token, so the parsing
behind the authentication is fuzzed too.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.core.result import Ok
from telegram.ext import Application

from bot.telegram import SECRET_HEADER as TELEGRAM_SECRET_HEADER
from bot.telegram import WEBHOOK_PATH as TELEGRAM_PATH
from bot.telegram import webhook_routes
from integrations.crypto import generate_key
from integrations.elevenlabs import SIGNATURE_HEADER, sign_payload
from nexus.bootstrap import bootstrap
from nexus.settings import Settings
from tests.support.db import sqlite_url
from tools_server.webhooks import WEBHOOK_PATH

WEBHOOK_SECRET = "wsec_fuzz_0d1c2b3a"
TELEGRAM_SECRET = "telegram-fuzz-secret"
EXAMPLES = {GenerationMode.POSITIVE: 80, GenerationMode.NEGATIVE: 40}

_NUMBER = {"type": "number"}
_TEXT = {"type": "string"}
_TURN = {
    "type": "object",
    "properties": {"role": {"enum": ["agent", "user"]}, "message": _TEXT, "time_in_call_secs": _NUMBER},
}
_EVENT = {
    "type": "object",
    "required": ["type"],
    "properties": {
        "type": {"enum": ["post_call_transcription", "call_initiation_failure", "post_call_audio"]},
        "event_timestamp": _NUMBER,
        "data": {
            "type": "object",
            "properties": {
                "conversation_id": _TEXT,
                "agent_id": _TEXT,
                "failure_reason": _TEXT,
                "transcript": {"type": "array", "items": _TURN},
                "metadata": {"type": "object", "properties": {"start_time_unix_secs": _NUMBER}},
                "analysis": {"type": "object"},
                "conversation_initiation_client_data": {
                    "type": "object",
                    "properties": {"dynamic_variables": {"type": "object"}},
                },
            },
        },
    },
}
_UPDATE = {
    "type": "object",
    "required": ["update_id"],
    "properties": {
        "update_id": {"type": "integer"},
        "message": {
            "type": "object",
            "properties": {
                "message_id": {"type": "integer"},
                "date": {"type": "integer"},
                "text": _TEXT,
                "chat": {"type": "object", "properties": {"id": {"type": "integer"}, "type": _TEXT}},
                "from": {"type": "object", "properties": {"id": {"type": "integer"}, "first_name": _TEXT}},
            },
        },
        "callback_query": {"type": "object", "properties": {"id": _TEXT, "data": _TEXT}},
    },
}


def _post(header: str, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "post": {
            "parameters": [{"name": header, "in": "header", "required": False, "schema": _TEXT}],
            "requestBody": {"required": True, "content": {"application/json": {"schema": body}}},
            "responses": {"200": {"description": "taken"}},
        }
    }


def _get(*names: str) -> dict[str, Any]:
    return {
        "get": {
            "parameters": [{"name": name, "in": "query", "required": False, "schema": _TEXT} for name in names],
            "responses": {"200": {"description": "answered"}},
        }
    }


SCHEMA = schemathesis.openapi.from_dict(
    {
        "openapi": "3.1.0",
        "info": {"title": "NEXUS entry points other than the tools", "version": "1"},
        "paths": {
            WEBHOOK_PATH: _post(SIGNATURE_HEADER, _EVENT),
            TELEGRAM_PATH: _post(TELEGRAM_SECRET_HEADER, _UPDATE),
            "/oauth/google/callback": _get("state", "code", "error", "scope"),
            "/oauth/google/start": _get("state"),
        },
    }
)
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations() if isinstance(result, Ok)]
# Generated headers rarely look like a signature; these do, with any time of up to twelve digits.
SIGNATURE_LIKE = st.builds(
    "t={},v0={}".format, st.integers(0, 10**12 - 1), st.text("0123456789abcdef", min_size=64, max_size=64)
)
# Numbers at the edges of what JSON can say, put where a signed body carries times.
EXTREME_NUMBERS = st.sampled_from([1e300, -1e300, 10**20, -5, 2**63, 0.5])


@asynccontextmanager
async def _served(database: str) -> AsyncIterator[str]:
    nexus_settings = Settings(
        _env_file=None,
        database_url=database,
        tools_shared_secret="tool-secret",
        elevenlabs_webhook_secret=WEBHOOK_SECRET,
        public_base_url="https://nexus.example",
        google_client_id="client-id.apps.example",
        google_client_secret="client-secret",
        encryption_key=generate_key(),
    )
    async with bootstrap(nexus_settings) as nexus:
        telegram: Application[Any, Any, Any, Any, Any, Any] = (
            Application.builder().token("123:fuzz").updater(None).build()
        )
        nexus.web_routes.append(webhook_routes(telegram, TELEGRAM_SECRET))
        async with nexus.serving(nexus.create_web_app(), "127.0.0.1", 0) as base_url:
            yield base_url


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The whole web app of one NEXUS process (webhooks and OAuth on), served from a thread of its own."""
    from storage.schema import upgrade

    database = sqlite_url(Path(tmp_path_factory.mktemp("fuzz-entry")))
    asyncio.run(upgrade(database))
    ready: list[str] = []
    started, stop = threading.Event(), threading.Event()

    async def serve() -> None:
        async with _served(database) as base_url:
            ready.append(base_url)
            started.set()
            await asyncio.to_thread(stop.wait)

    thread = threading.Thread(target=lambda: asyncio.run(serve()), daemon=True)
    thread.start()
    try:
        assert started.wait(30), "the server did not start"
        yield ready[0]
    finally:
        stop.set()
        thread.join(30)


class _Tracebacks(logging.Handler):
    """Keeps every record logged with a traceback or at ERROR and above, from any thread."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info or record.levelno >= logging.ERROR:
            self.records.append(record)


@pytest.fixture
def tracebacks() -> Iterator[_Tracebacks]:
    handler = _Tracebacks()
    logging.getLogger().addHandler(handler)
    try:
        yield handler
    finally:
        logging.getLogger().removeHandler(handler)


def test_every_entry_point_is_fuzzed() -> None:
    assert sorted(operation.label for operation in OPERATIONS) == sorted(
        [
            f"POST {WEBHOOK_PATH}",
            f"POST {TELEGRAM_PATH}",
            "GET /oauth/google/callback",
            "GET /oauth/google/start",
        ]
    )


@pytest.mark.parametrize("mode", list(EXAMPLES), ids=str)
@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda operation: operation.label)
def test_no_request_gets_a_server_error_or_a_traceback(
    target: str, tracebacks: _Tracebacks, operation: Any, mode: GenerationMode
) -> None:
    with requests.Session() as http:

        @given(
            case=operation.as_strategy(generation_mode=mode),
            authentic=st.booleans(),
            signature=SIGNATURE_LIKE,
            extreme=st.one_of(st.none(), EXTREME_NUMBERS),
        )
        @settings(
            max_examples=EXAMPLES[mode],
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
        )
        def exchange(case: Any, authentic: bool, signature: str, extreme: float | None) -> None:
            headers = dict(case.headers or {})
            path = operation.path
            if authentic and path == TELEGRAM_PATH:
                headers[TELEGRAM_SECRET_HEADER] = TELEGRAM_SECRET
            if path == WEBHOOK_PATH and not authentic and extreme is not None:
                headers[SIGNATURE_HEADER] = signature
            if authentic and path == WEBHOOK_PATH and _is_json(case.body):
                if extreme is not None:
                    _put_times(case.body, extreme)
                # Signed as ElevenLabs signs, so the body gets past the signature into the parser.
                raw = json.dumps(case.body).encode()
                headers[SIGNATURE_HEADER] = sign_payload(raw, WEBHOOK_SECRET, datetime.now(UTC))
                headers["Content-Type"] = "application/json"
                response = http.post(target + path, data=raw, headers=headers, timeout=10)
            else:
                response = case.call(base_url=target, session=http, headers=headers, timeout=10)
            assert response.status_code < 500, f"{response.status_code}: {response.text[:300]}"
            assert not tracebacks.records, [r.getMessage() for r in tracebacks.records]

        exchange()


def _put_times(body: Any, number: float) -> None:
    """Put ``number`` where an event carries times: the event's, the call's start, each turn's offset."""
    if not isinstance(body, dict):
        return
    body["event_timestamp"] = number if isinstance(number, int) else 1_764_000_000
    data = body.setdefault("data", {})
    if isinstance(data, dict):
        data.setdefault("conversation_id", "conv_fuzz")
        data.setdefault("agent_id", "agent_fuzz")
        data["transcript"] = [{"role": "user", "message": "Hallo?", "time_in_call_secs": number}]


def _is_json(body: object) -> bool:
    try:
        json.dumps(body, allow_nan=False)
    except (TypeError, ValueError):
        return False
    return isinstance(body, dict | list | str | int | float | bool) or body is None
