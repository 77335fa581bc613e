"""Over the real Telegram bot (fake Bot API): the dentist expert's questions are answered by button before
calling, the answers reach the calls, and an offer the receptionist never said is last on the shortlist,
marked unverified."""

from __future__ import annotations

from datetime import datetime

from domain.models import CallOutcome, Turn
from domain.services.campaigns import record_transcript
from domain.services.tool_calls import end_call, open_call, report_offer
from tests.e2e.bot.conftest import Harness
from tests.e2e.bot.test_telegram_bot import at, summary_card, tap
from tests.support.fake_bot_api import USER_ID


def said(words: str) -> list[Turn]:
    now = datetime.now().astimezone()
    return [Turn("agent", "What is the earliest you could offer?", now), Turn("provider", words, now)]


async def test_expert_answers_by_button_and_the_made_up_offer_is_last_and_marked(harness: Harness) -> None:
    api = harness.api
    async with harness.bot():
        card = await summary_card(harness)
        assert "Is it a check-up, a cleaning, or are you in pain?" in card.text
        await tap(harness, card, "Pain")
        card = await api.wait_for("editMessageText", lambda c: "How are you insured?" in c.text)
        await tap(harness, card, "Public")
        card = await api.wait_for("editMessageText", lambda c: "🗒 For the receptionist: Pain · Public" in c.text)
        await tap(harness, card, "📞 Call providers")

        first, second = await harness.voice.wait_placed(2)
        assert first.campaign.answers == {"visit": "pain", "insurance": "public"}
        # The first agent reports 13:00, which its receptionist never said; the second reports what it heard.
        for request, hour, words in (
            (first, 13, "I could offer Tuesday 1 December at 16:00."),
            (second, 15, "Tuesday at three o'clock would be free."),
        ):
            ctx = await open_call(harness.ports, request.token)
            await report_offer(harness.ports, ctx, at(hour))
            await record_transcript(harness.ports, request.call.id, said(words))
            await end_call(harness.ports, ctx, CallOutcome.OFFER_MADE)

        shortlist = await api.wait_for("sendMessage", lambda c: c.text.startswith("Here are the best times"))
    lines = shortlist.text.splitlines()
    second_name = second.call.provider.name.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    assert lines[2].startswith(f"1. <b>{second_name}</b> – Tue 1 Dec 15:00")
    assert lines[4].startswith("2. <b>") and "Tue 1 Dec 13:00" in lines[4]
    assert lines[6] == "    ⚠️ unverified: the receptionist never named this time in the call; check before booking"
    async with harness.ports.uow() as uow:
        (campaign,) = await uow.campaigns.list_for_user(USER_ID)
    assert campaign.duration_minutes == 30
