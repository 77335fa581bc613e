"""The terminal's chat and notifier: choices, saved calendar files, and which call lists it prints."""

from __future__ import annotations

import copy
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.replies import Button, Document, Person, RecordingChat, Reply
from bot.terminal import TerminalChat, TerminalNotifier, run_terminal
from domain.models import CallOutcome, CampaignStatus
from domain.notifications import CampaignProgress
from domain.services.tool_calls import end_call, open_call, report_offer
from tests.factories import make_provider
from tests.fakes import FakeClock, FakeWorld
from tests.unit.bot.test_intake import REQUEST, data_of, talk_in

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 26, 9, 0, tzinfo=BERLIN)
ANNA = Person(7, "Anna", "en")


@pytest.fixture
def world() -> FakeWorld:
    return FakeWorld(clock=FakeClock(NOW), providers=[make_provider("smile", name="Smile Dental")])


async def test_calendar_files_are_saved_side_by_side_not_over_each_other(tmp_path: Path) -> None:
    shown: list[str] = []
    chat = TerminalChat(shown.append, tmp_path)
    ics = Document("smile-dental-2026-12-01-1400.ics", b"BEGIN:VCALENDAR", "text/calendar")
    await chat.send(Reply("Booked.", document=ics))
    await chat.send(Reply("Booked again.", document=ics))
    assert _names_in(tmp_path) == [
        "smile-dental-2026-12-01-1400-2.ics",
        "smile-dental-2026-12-01-1400.ics",
    ]
    assert f"(saved {tmp_path / 'smile-dental-2026-12-01-1400-2.ics'})" in shown[-1]


def _names_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


async def test_a_number_not_on_offer_shows_the_choices_again_and_keeps_the_card(world: FakeWorld) -> None:
    shown: list[str] = []
    chat = TerminalChat(shown.append)
    lines = iter([REQUEST, "99", "0", "1", "/quit", "never read"])

    async def read() -> str | None:
        return next(lines)

    await run_terminal(talk_in(world), chat, ANNA, read)
    assert shown[2].startswith("There is no choice 99. Type one of the numbers below:\n  [1] 📞 Call providers")
    assert shown[3].startswith("There is no choice 0.")
    assert "Calling providers now" in shown[4]
    assert len(world.store.tables["campaigns"]) == 1


async def test_the_calls_of_a_booking_or_cancelling_call_are_not_printed_again(world: FakeWorld) -> None:
    talk, chat = talk_in(world), RecordingChat()
    await talk.text(chat, ANNA, REQUEST)
    await talk.tap(chat, ANNA, data_of(chat.replies[-1], "go")[0])
    await talk.background.drain()  # the campaign runs outside the tap
    ctx = await open_call(world.ports, world.voice.token_for("smile"))
    await report_offer(world.ports, ctx, datetime(2026, 12, 1, 14, 0, tzinfo=BERLIN))
    await end_call(world.ports, ctx, CallOutcome.OFFER_MADE)
    [campaign] = world.store.tables["campaigns"].values()
    calls = [c for c in world.store.tables["calls"].values() if c.campaign_id == campaign.id]
    final = CampaignProgress(campaign, calls, list(world.store.tables["offers"].values()))  # as delivered
    shown: list[str] = []
    notifier = TerminalNotifier(TerminalChat(shown.append), world.ports.uow, world.clock)

    await notifier.notify(ANNA.user_id, final)
    assert len(shown) == 1 and "Calls finished" in shown[0]

    # A booking or cancelling call later on (possibly after a restart: a new notifier) says its own words.
    for status in (CampaignStatus.CONFIRMING, CampaignStatus.CONFIRMED):
        later = copy.copy(final.campaign)
        later.status = status
        fresh = TerminalNotifier(TerminalChat(shown.append), world.ports.uow, world.clock)
        await fresh.notify(ANNA.user_id, CampaignProgress(later, final.calls, final.offers))
    assert len(shown) == 1


async def test_buttons_are_numbered_in_order() -> None:
    shown: list[str] = []
    await TerminalChat(shown.append).send(Reply("Pick:", buttons=((Button("A", "go:1"),), (Button("B", "drop:1"),))))
    assert shown == ["Pick:\n  [1] A\n  [2] B\n"]
