"""``OpenAIIntentParser`` against a fake OpenAI server on 127.0.0.1: what we send, and what we make of
good, bad, failing and slow answers."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import openai
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from domain.errors import InvalidRequest
from domain.intent import MISSING_LOCATION, MISSING_WINDOWS
from integrations.intent.offline import OfflineIntentParser, parse_request
from integrations.intent.openai_parser import OpenAIIntentParser

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 26, 9, 0, tzinfo=BERLIN)  # a Thursday
TEXT = "Zahnarzt nächsten Dienstag nachmittags am Alexanderplatz"
MODEL = "gpt-test"
GOOD_ANSWER: dict[str, Any] = {
    "service": "dentist",
    "windows": [{"date": "2026-12-01", "start": "13:00", "end": "17:00"}],
    "time_understood": True,
    "location": "Alexanderplatz, Berlin",
    "duration_minutes": None,
    "language": "de",
}


@dataclass
class FakeOpenAI:
    """The chat completions endpoint: records each request and answers as told."""

    content: str | None = json.dumps(GOOD_ANSWER)
    status: int = 200
    refusal: str | None = None
    hold: asyncio.Event | None = None
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    base_url: str = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.requests.append(await request.json())
        self.headers.append(dict(request.headers))
        if self.hold is not None:
            await self.hold.wait()
        if self.status != 200:
            return web.json_response(
                {"error": {"message": "The server had an error.", "type": "server_error"}}, status=self.status
            )
        message = {"role": "assistant", "content": self.content, "refusal": self.refusal}
        return web.json_response(
            {
                "id": "chatcmpl-1",
                "object": "chat.completion",
                "created": 1_764_144_000,
                "model": MODEL,
                "choices": [{"index": 0, "finish_reason": "stop", "message": message, "logprobs": None}],
                "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
            }
        )


@pytest.fixture
async def fake(aiohttp_server: Callable[[web.Application], Awaitable[TestServer]]) -> AsyncIterator[FakeOpenAI]:
    fake = FakeOpenAI()
    app = web.Application()
    app.router.add_post("/v1/chat/completions", fake.handle)
    fake.base_url = str((await aiohttp_server(app)).make_url("/v1"))
    yield fake
    if fake.hold is not None:
        fake.hold.set()  # let a held request finish so the server can close at once


@pytest.fixture
async def client(fake: FakeOpenAI) -> AsyncIterator[openai.AsyncOpenAI]:
    # No retries: each test decides what the one answer is.
    async with openai.AsyncOpenAI(api_key="test-key", base_url=fake.base_url, max_retries=0) as client:
        yield client


@pytest.fixture
def parser(client: openai.AsyncOpenAI) -> OpenAIIntentParser:
    return OpenAIIntentParser(client, MODEL, fallback=OfflineIntentParser(), timeout_seconds=5)


def offline() -> Any:
    return parse_request(TEXT, NOW, "Europe/Berlin")


async def test_sends_the_model_a_strict_schema_and_the_users_now_and_timezone(
    parser: OpenAIIntentParser, fake: FakeOpenAI
) -> None:
    await parser.parse(TEXT, NOW.astimezone(ZoneInfo("UTC")), "Europe/Berlin")
    (body,) = fake.requests
    assert body["model"] == MODEL
    assert fake.headers[0]["Authorization"] == "Bearer test-key"
    response_format = body["response_format"]
    assert response_format["type"] == "json_schema"
    assert response_format["json_schema"]["strict"] is True
    schema = response_format["json_schema"]["schema"]
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) == {
        "service",
        "windows",
        "time_understood",
        "location",
        "duration_minutes",
        "language",
    }
    system, user = body["messages"]
    assert system["role"] == "system"
    assert "2026-11-26T09:00:00+01:00" in system["content"]  # now, in the user's own zone
    assert "Thursday" in system["content"]
    assert "Europe/Berlin" in system["content"]
    assert "tax advisor" in system["content"]  # the vocabulary
    assert "morning 08:00-12:00" in system["content"]  # the conventions
    assert user == {"role": "user", "content": TEXT}


async def test_a_good_answer_becomes_the_request(parser: OpenAIIntentParser) -> None:
    request = await parser.parse(TEXT, NOW, "Europe/Berlin")
    assert request.service == "dentist"
    assert request.location == "Alexanderplatz, Berlin"  # the model's reading, not the offline one
    assert [(w.start, w.end) for w in request.windows] == [
        (datetime(2026, 12, 1, 13, tzinfo=BERLIN), datetime(2026, 12, 1, 17, tzinfo=BERLIN))
    ]
    assert (request.duration_minutes, request.language, request.missing, request.text) == (30, "de", [], TEXT)


async def test_german_service_words_from_the_model_are_made_canonical(
    parser: OpenAIIntentParser, fake: FakeOpenAI
) -> None:
    fake.content = json.dumps({**GOOD_ANSWER, "service": "Zahnärztin", "location": None, "duration_minutes": 45})
    request = await parser.parse(TEXT, NOW, "Europe/Berlin")
    assert (request.service, request.location, request.duration_minutes) == ("dentist", None, 45)
    assert request.missing == [MISSING_LOCATION]


async def test_no_time_named_means_the_default_days(parser: OpenAIIntentParser, fake: FakeOpenAI) -> None:
    fake.content = json.dumps({**GOOD_ANSWER, "windows": []})
    request = await parser.parse("dentist near Alexanderplatz", NOW, "Europe/Berlin")
    assert [(w.start.day, w.start.hour, w.end.hour) for w in request.windows] == [
        (26, 9, 18),
        (27, 8, 18),
        (30, 8, 18),
        (1, 8, 18),
        (2, 8, 18),
    ]


async def test_a_time_the_model_could_not_place_is_asked_for_again(
    parser: OpenAIIntentParser, fake: FakeOpenAI
) -> None:
    fake.content = json.dumps({**GOOD_ANSWER, "windows": [], "time_understood": False})
    request = await parser.parse("dentist on Blursday near Alexanderplatz", NOW, "Europe/Berlin")
    assert request.windows == []
    assert request.missing == [MISSING_WINDOWS]


def _answer(**changes: Any) -> str:
    return json.dumps({**GOOD_ANSWER, **changes})


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("this is not JSON at all", "ValidationError"),
        (json.dumps({"service": "dentist"}), "ValidationError"),
        (_answer(service="plumber"), "the service is not in the vocabulary"),
        (_answer(language="fr"), "ValidationError"),
        (_answer(windows=[{"date": "2026-12-01", "start": "22:00", "end": "23:00"}]), "outside business hours"),
        (_answer(windows=[{"date": "2026-12-01", "start": "15:00", "end": "13:00"}]), "outside business hours"),
        (_answer(windows=[{"date": "2026-02-30", "start": "13:00", "end": "15:00"}]), "not a valid date"),
        (_answer(windows=[{"date": "2026-11-20", "start": "13:00", "end": "15:00"}]), "in the past"),
        (_answer(windows=[{"date": "2026-12-01", "start": "1pm", "end": "3pm"}]), "ValidationError"),
        (_answer(duration_minutes=0), "the duration is out of range"),
    ],
)
async def test_an_answer_that_does_not_hold_up_falls_back_to_the_offline_parser(
    parser: OpenAIIntentParser, fake: FakeOpenAI, caplog: pytest.LogCaptureFixture, content: str, reason: str
) -> None:
    fake.content = content
    with caplog.at_level(logging.WARNING, logger="integrations.intent.openai_parser"):
        assert await parser.parse(TEXT, NOW, "Europe/Berlin") == offline()
    (record,) = caplog.records
    assert reason in record.getMessage()
    assert "Zahnarzt" not in record.getMessage()
    assert "Alexanderplatz" not in record.getMessage()


async def test_a_refusal_falls_back(parser: OpenAIIntentParser, fake: FakeOpenAI) -> None:
    fake.content, fake.refusal = None, "I can't help with that."
    assert await parser.parse(TEXT, NOW, "Europe/Berlin") == offline()


async def test_a_server_error_falls_back(
    parser: OpenAIIntentParser, fake: FakeOpenAI, caplog: pytest.LogCaptureFixture
) -> None:
    fake.status = 500
    with caplog.at_level(logging.WARNING, logger="integrations.intent.openai_parser"):
        assert await parser.parse(TEXT, NOW, "Europe/Berlin") == offline()
    assert "HTTP 500" in caplog.records[0].getMessage()
    assert len(fake.requests) == 1


async def test_a_slow_answer_falls_back_after_the_timeout(
    client: openai.AsyncOpenAI, fake: FakeOpenAI, caplog: pytest.LogCaptureFixture
) -> None:
    parser = OpenAIIntentParser(client, MODEL, fallback=OfflineIntentParser(), timeout_seconds=0.2)
    fake.hold = asyncio.Event()  # never set while the parser waits
    loop = asyncio.get_running_loop()
    started = loop.time()
    with caplog.at_level(logging.WARNING, logger="integrations.intent.openai_parser"):
        assert await parser.parse(TEXT, NOW, "Europe/Berlin") == offline()
    assert 0.2 <= loop.time() - started < 4
    assert len(fake.requests) == 1
    assert "no answer in time" in caplog.records[0].getMessage()


async def test_bad_input_is_refused_like_the_offline_parser(parser: OpenAIIntentParser, fake: FakeOpenAI) -> None:
    with pytest.raises(InvalidRequest):
        await parser.parse(TEXT, NOW.replace(tzinfo=None), "Europe/Berlin")
    with pytest.raises(InvalidRequest):
        await parser.parse(TEXT, NOW, "Mars/Olympus_Mons")
    assert fake.requests == []


@pytest.mark.parametrize(
    ("model", "temperature"),
    [("gpt-4o-mini", 0), ("gpt-4.1", 0), ("o4-mini", None), ("o3", None), ("gpt-5-mini", None)],
)
async def test_reasoning_models_are_not_sent_a_temperature_they_refuse(
    client: openai.AsyncOpenAI, fake: FakeOpenAI, model: str, temperature: int | None
) -> None:
    parser = OpenAIIntentParser(client, model, fallback=OfflineIntentParser(), timeout_seconds=5)

    request = await parser.parse(TEXT, NOW, "Europe/Berlin")

    (body,) = fake.requests
    assert body.get("temperature") == temperature
    assert request.location == "Alexanderplatz, Berlin"  # the model's reading, not the fallback's
