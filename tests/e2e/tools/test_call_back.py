"""end-call carries why and when to call again: ``call_back_later`` with ``call_back_at`` (a day and a time as
the agent heard them, or ISO 8601), and ``waitlisted``."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from domain.models import CallOutcome, CallTask
from tests.e2e.tools.server import ToolServer

BERLIN = ZoneInfo("Europe/Berlin")


async def _calls(server: ToolServer, campaign_id: str) -> dict[str, CallTask]:
    async with server.nexus.ports.uow() as uow:
        return {c.provider.id: c for c in await uow.calls.list_for_campaign(campaign_id)}


async def test_end_call_records_a_call_back_time_in_words_or_iso_and_a_waiting_list(server: ToolServer) -> None:
    campaign = await server.start_campaign()
    p1, p2, p3 = (server.token(campaign, p) for p in ("p1", "p2", "p3"))

    said = {"outcome": "call_back_later", "summary": "Call back tomorrow at 8.", "call_back_at": "tomorrow 08:00"}
    assert (await server.call("end-call", said, token=p1)).body["status"] == "ended"
    iso = {"outcome": "call_back_later", "call_back_at": "2026-11-30T14:30:00+01:00"}
    assert (await server.call("end-call", iso, token=p2)).body["status"] == "ended"
    assert (await server.call("end-call", {"outcome": "waitlisted"}, token=p3)).body["status"] == "ended"

    calls = await _calls(server, campaign.id)
    assert (calls["p1"].outcome, calls["p1"].call_back_at) == (
        CallOutcome.CALL_BACK_LATER,
        datetime(2026, 11, 27, 8, 0, tzinfo=BERLIN),
    )
    assert calls["p2"].call_back_at == datetime(2026, 11, 30, 14, 30, tzinfo=BERLIN)
    assert calls["p3"].outcome is CallOutcome.WAITLISTED


async def test_a_call_back_time_that_cannot_be_read_is_refused_with_a_sentence(server: ToolServer) -> None:
    campaign = await server.start_campaign()
    token = server.token(campaign, "p1")

    reply = await server.call("end-call", {"outcome": "call_back_later", "call_back_at": "someday"}, token=token)

    assert reply.status == 200
    assert reply.body["status"] != "ended"
    assert reply.body["message"]
    assert (await server.call("end-call", {"outcome": "call_back_later"}, token=token)).body["status"] == "ended"
