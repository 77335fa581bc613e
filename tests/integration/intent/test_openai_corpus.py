"""``OpenAIIntentParser`` over the whole phrasing corpus, answered from authored fixtures through the real
OpenAI SDK (an httpx mock transport, no network): our schema, the SDK's parsing of it, our checks and
post-processing, and the cross-check against the offline parser."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import openai
import pytest

from domain.intent import ParsedRequest
from integrations.intent.offline import OfflineIntentParser, parse_request
from integrations.intent.openai_parser import OpenAIIntentParser, cross_checked
from tests.corpus import CORPUS, load_corpus, local_windows, score

FIXTURES = Path(CORPUS).with_name("openai_responses.json")
MODEL = "gpt-test"


def _fixtures() -> list[dict[str, Any]]:
    return list(json.loads(FIXTURES.read_text(encoding="utf-8"))["responses"])


class FixtureModel:
    """Answers each chat completion with the authored response for the user's words at the moment the system
    prompt names; ``override`` replaces the answer for one text."""

    def __init__(self) -> None:
        self.by_text: dict[str, list[dict[str, Any]]] = {}
        for fixture in _fixtures():
            self.by_text.setdefault(fixture["text"], []).append(fixture)
        self.override: dict[str, dict[str, Any]] = {}
        self.requests = 0

    def answer(self, body: dict[str, Any]) -> dict[str, Any]:
        system, user = body["messages"][0]["content"], body["messages"][1]["content"]
        if user in self.override:
            return self.override[user]
        for fixture in self.by_text[user]:
            if datetime.fromisoformat(fixture["now"]).isoformat() in system:
                return dict(fixture["response"])
        raise AssertionError(f"no fixture for {user!r} at the moment the prompt names")

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        body = json.loads(request.content)
        content = json.dumps(self.answer(body))
        message = {"role": "assistant", "content": content, "refusal": None}
        return httpx.Response(
            200,
            json={
                "id": f"chatcmpl-{self.requests}",
                "object": "chat.completion",
                "created": 1_764_144_000,
                "model": MODEL,
                "choices": [{"index": 0, "finish_reason": "stop", "message": message, "logprobs": None}],
                "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
            },
        )


@pytest.fixture
def model() -> FixtureModel:
    return FixtureModel()


@pytest.fixture
async def parser(model: FixtureModel) -> AsyncIterator[OpenAIIntentParser]:
    http = httpx.AsyncClient(transport=httpx.MockTransport(model.handle))
    client = openai.AsyncOpenAI(api_key="sk-test", base_url="http://127.0.0.1:9/v1", http_client=http, max_retries=0)
    yield OpenAIIntentParser(client, MODEL, fallback=OfflineIntentParser(), timeout_seconds=5)
    await client.close()


def test_every_phrasing_has_an_authored_answer() -> None:
    fixtures = {(f["text"], f["now"]) for f in _fixtures()}
    assert {(p.text, p.now.isoformat()) for p in load_corpus()} == fixtures


async def test_the_openai_parser_reads_the_corpus_from_its_fixtures(
    parser: OpenAIIntentParser, model: FixtureModel
) -> None:
    corpus = load_corpus()
    readings: dict[tuple[str, datetime], ParsedRequest] = {}
    for phrasing in corpus:
        readings[(phrasing.text, phrasing.now)] = await parser.parse(phrasing.text, phrasing.now, phrasing.timezone)
    result = score(corpus, lambda p: readings[(p.text, p.now)])
    assert model.requests == len(corpus)  # every answer came from the model, none from the fallback
    assert result.failures == []


async def test_a_reading_that_differs_from_the_offline_one_becomes_a_question(
    parser: OpenAIIntentParser, model: FixtureModel
) -> None:
    [phrasing] = [p for p in load_corpus() if p.text == "dentist tomorrow morning"]
    answer = model.answer({"messages": [{"content": phrasing.now.isoformat()}, {"content": phrasing.text}]})
    model.override[phrasing.text] = {**answer, "windows": [{"date": "2026-11-27", "start": "09:00", "end": "11:00"}]}
    request = await parser.parse(phrasing.text, phrasing.now, phrasing.timezone)
    [doubt] = request.doubts
    assert doubt.question == "I can read the time two ways. Which do you mean?"
    assert [o.label for o in doubt.options] == ["Fri 27 Nov 09–11", "Fri 27 Nov 08–12"]
    assert request.windows == doubt.options[0].windows  # the model's reading stays what is searched
    assert local_windows(doubt.options[1].windows, phrasing.timezone) == phrasing.windows


async def test_the_question_is_german_for_a_german_request(parser: OpenAIIntentParser, model: FixtureModel) -> None:
    [phrasing] = [p for p in load_corpus() if p.text == "Zahnarzt Ende nächster Woche"]
    model.override[phrasing.text] = {
        "service": "dentist",
        "windows": [{"date": "2026-12-11", "start": "08:00", "end": "18:00"}],
        "time_understood": True,
        "location": None,
        "duration_minutes": None,
        "language": "de",
    }
    request = await parser.parse(phrasing.text, phrasing.now, phrasing.timezone)
    [doubt] = request.doubts
    assert doubt.question == "Ich kann die Zeit auf zwei Arten verstehen. Welche meinst du?"
    assert [o.label for o in doubt.options] == ["Fr 11. Dez 08–18", "2 Tage Do 10. Dez–Fr 11. Dez 08–18"]


async def test_a_doubt_of_the_offline_parser_survives_when_the_model_agrees(
    parser: OpenAIIntentParser, model: FixtureModel
) -> None:
    [phrasing] = [p for p in load_corpus() if p.text == "zahnarzt montag, den 8. dezember"]
    request = await parser.parse(phrasing.text, phrasing.now, phrasing.timezone)
    assert [o.label for o in request.doubts[0].options] == ["Di 8. Dez", "Mo 7. Dez"]


def test_labels_of_different_readings_never_collide() -> None:
    zone = ZoneInfo("Europe/Berlin")
    now = datetime(2026, 11, 26, 7, 30, tzinfo=zone)
    five_days = parse_request("dentist next week", now, "Europe/Berlin")
    # the same first and last day and hours, one day fewer in between
    four_days = parse_request("dentist next week except wednesday", now, "Europe/Berlin")
    labels = [o.label for o in cross_checked(four_days, five_days, zone).doubts[0].options]
    assert labels == ["4 days Mon 30 Nov–Fri 4 Dec 08–18", "5 days Mon 30 Nov–Fri 4 Dec 08–18"]


def test_labels_that_would_read_the_same_are_numbered() -> None:
    zone = ZoneInfo("Europe/Berlin")
    now = datetime(2026, 11, 26, 7, 30, tzinfo=zone)
    monday_wednesday_friday = parse_request("dentist monday, wednesday or friday next week", now, "Europe/Berlin")
    monday_thursday_friday = parse_request("dentist monday, thursday or friday next week", now, "Europe/Berlin")
    labels = [o.label for o in cross_checked(monday_wednesday_friday, monday_thursday_friday, zone).doubts[0].options]
    assert labels == ["1. 3 days Mon 30 Nov–Fri 4 Dec 08–18", "2. 3 days Mon 30 Nov–Fri 4 Dec 08–18"]
