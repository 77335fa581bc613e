"""Fuzzing every tool endpoint from ``/openapi.json``: valid and invalid bodies, right and wrong credentials,
against a real server process. Whatever arrives, the answer is never a 5xx, and every 4xx says why."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.core.result import Ok

from benchmarks.processes import PROJECT_ROOT
from benchmarks.seeding import (
    RecordingVoiceGateway,
    confirming_calls,
    negotiating_calls,
    search_window,
    seeding_ports,
)
from domain.models import TimeWindow
from storage.engine import create_engine
from storage.schema import upgrade
from storage.uow import make_uow_factory
from tests.support.db import sqlite_url
from tools_server.openapi import build_openapi
from tools_server.tools import CALL_TOKEN_HEADER, TOOL_SECRET_HEADER, TOOLS

SECRET = "fuzzing-suite-secret"
SCHEMA = schemathesis.openapi.from_dict(build_openapi())
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations() if isinstance(result, Ok)]
# 8 operations x (100 valid + 50 invalid) = 1200 requests, about 25 s on 2 cores.
EXAMPLES = {GenerationMode.POSITIVE: 100, GenerationMode.NEGATIVE: 50}
# Generated strings are rarely dates a receptionist would say; half the valid bodies get one, so requests
# reach the use cases (holds, offers, bookings) and not only the date parser.
SPOKEN_DAYS = st.sampled_from(["tomorrow", "Tuesday", "Dec 1", "1.12.", "in two days", "2026-02-30", "yesterday"])
SPOKEN_TIMES = st.builds("{:d}:{:02d}".format, st.integers(0, 25), st.sampled_from([0, 15, 30, 45, 60]))


@dataclass(frozen=True)
class Target:
    base_url: str
    tokens: tuple[str, ...]


async def _seed(url: str) -> tuple[str, ...]:
    await upgrade(url)
    engine = create_engine(url)
    try:
        gateway = RecordingVoiceGateway()
        ports = seeding_ports(make_uow_factory(engine), gateway)
        window = search_window(datetime.now(UTC))
        discovery = await negotiating_calls(ports, gateway, [1], 15, window)
        slot = TimeWindow(window.start + timedelta(hours=1), window.start + timedelta(hours=1, minutes=30))
        confirmations = await confirming_calls(ports, gateway, 2, [slot])
        return tuple(c.token for c in discovery) + tuple(c.token for c, _ in confirmations)
    finally:
        await engine.dispose()


ISO_DAYS = st.builds(lambda offset: (datetime.now(UTC) + timedelta(days=offset)).date().isoformat(), st.integers(-2, 8))


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    """A tool server process on a SQLite file holding a campaign with 15 live calls and one confirming."""
    url = sqlite_url(Path(tmp_path_factory.mktemp("fuzz")))
    tokens = asyncio.run(_seed(url))
    # ask-user answers no_answer at once: nobody answers questions here, and waiting would only slow the fuzzing
    env = {"DATABASE_URL": url, "TOOLS_SHARED_SECRET": SECRET, "NEXUS_MODE": "mock_ai", "ASK_USER_WAIT_SECONDS": "0"}
    with subprocess.Popen(
        [sys.executable, "-m", "benchmarks.serve"], cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, text=True
    ) as server:
        try:
            assert server.stdout is not None
            line = server.stdout.readline().strip()
            assert line.startswith("serving "), f"the server did not start: {line!r}"
            yield Target(line.removeprefix("serving "), tokens)
        finally:
            server.terminate()
            server.wait(10)


def _check(response: requests.Response) -> None:
    assert response.status_code < 500, f"{response.status_code}: {response.text}"
    body: Any = response.json()
    assert isinstance(body, dict)
    assert isinstance(body.get("message"), str) and body["message"], body
    if response.status_code >= 400:
        assert isinstance(body.get("error"), str) and body["error"], body


def test_every_tool_is_fuzzed() -> None:
    assert len(OPERATIONS) == len(SCHEMA.raw_schema["paths"]) == len(TOOLS) == 8


@pytest.mark.parametrize("mode", list(EXAMPLES), ids=str)
@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda operation: operation.label)
def test_no_request_gets_a_server_error(target: Target, operation: Any, mode: GenerationMode) -> None:
    with requests.Session() as http:

        @given(
            case=operation.as_strategy(generation_mode=mode),
            credentials=st.integers(0, len(target.tokens) + 1),
            spoken=st.one_of(st.none(), st.tuples(ISO_DAYS | SPOKEN_DAYS, SPOKEN_TIMES)),
        )
        @settings(
            max_examples=EXAMPLES[mode],
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
        )
        def exchange(case: Any, credentials: int, spoken: tuple[str, str] | None) -> None:
            # Mostly the right secret and a live call's token, so bodies reach the use cases; sometimes
            # the generated headers, so the authentication sees junk too.
            headers = dict(case.headers or {})
            if credentials < len(target.tokens):
                headers = {TOOL_SECRET_HEADER: SECRET, CALL_TOKEN_HEADER: target.tokens[credentials]}
            if spoken and mode is GenerationMode.POSITIVE and isinstance(case.body, dict) and "date" in case.body:
                case.body["date"], case.body["time"] = spoken
            response = case.call(base_url=target.base_url, session=http, headers=headers, timeout=10)
            _check(response)

        exchange()
