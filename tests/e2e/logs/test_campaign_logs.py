"""The logs of a whole simulated campaign (discovery and booking, every library at DEBUG): one JSON object per
line, tool events naming their campaign and call, and never the tool secret, a call token or a full number."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from domain.models import User
from domain.ports import CallRequest, PlacedCall
from domain.services.campaigns import get_shortlist
from integrations.directory._bundled import load_bundled_providers
from nexus.logs import Redactor, configure_logging, mask_phone_numbers
from nexus.simulation import book, offline_nexus, start_and_settle

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 26, 9, 0, tzinfo=BERLIN)


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    stream = io.StringIO()
    configure_logging("DEBUG", "json", stream=stream)
    try:
        yield stream
    finally:
        for handler in list(root.handlers):
            if handler not in handlers:
                root.removeHandler(handler)
        root.setLevel(level)


async def test_a_whole_campaign_logs_ids_and_no_secrets_or_numbers(captured: io.StringIO) -> None:
    tokens: list[str] = []
    async with offline_nexus(now=NOW) as run:
        # Secrets the redactor is told about (the tool secret), and ones it never hears of (call tokens).
        configure_logging("DEBUG", "json", secrets=[run.nexus.tool_secret], stream=captured)
        place_call = run.gateway.place_call

        async def recording(request: CallRequest) -> PlacedCall:
            tokens.append(request.token)
            return await place_call(request)

        run.gateway.place_call = recording  # type: ignore[method-assign]
        place = await run.nexus.geocoder.geocode("Alexanderplatz")
        assert place is not None
        campaign = await start_and_settle(
            run, User(id=1, timezone="Europe/Berlin", home=place), "dentist next Tuesday", place, now=NOW
        )
        shortlist = await get_shortlist(run.nexus.ports, campaign.id)
        await book(run, campaign, shortlist[0])
        tool_secret = run.nexus.tool_secret

    lines = captured.getvalue().splitlines()
    assert len(lines) > 50
    events = [json.loads(line) for line in lines]  # every line is one JSON object
    tool_events = [e for e in events if e["logger"] == "tools_server.metrics"]
    assert len(tool_events) >= len(tokens) >= 15
    assert all(e.get("campaign_id") == campaign.id and e.get("call_id") for e in tool_events)
    assert {e["tool"] for e in tool_events} >= {"check_availability", "report_slot_offer", "end_call", "book_slot"}

    text = captured.getvalue()
    assert tool_secret not in text
    for token in tokens:
        assert token not in text
    for provider in load_bundled_providers():
        assert provider.phone not in text
        assert provider.phone.removeprefix("+") not in text
    assert "+***" in text  # numbers do appear, masked


def test_the_redactor_hides_secrets_tokens_and_numbers_but_keeps_times() -> None:
    redact = Redactor(["s3cret-value-123"])
    line = (
        "POST https://api.telegram.org/bot123456789:AAE_abcdefghijklmnopqrstuvwxyz0123456/getMe "
        "secret=s3cret-value-123 Authorization: Bearer abcdefghijklmnopqrstuvwxyz to +49 30 5550 1024 "
        "or 004915112345678 at 2026-12-01T14:30:00+01:00 (call 0a1b2c3d, 1234567 ms)"
    )
    shown = redact(line)
    assert "s3cret-value-123" not in shown
    assert "AAE_abcdefghijklmnopqrstuvwxyz0123456" not in shown
    assert "abcdefghijklmnopqrstuvwxyz" not in shown
    assert "5550 1024" not in shown and "004915112345678" not in shown
    assert "+***024" in shown and "+***678" in shown
    assert "2026-12-01T14:30:00+01:00" in shown
    assert "1234567 ms" in shown
    assert mask_phone_numbers("+4930555010001") == "+***001"
