"""The user in the loop through the real bot and the fake Bot API: the summary card says what the agent may
share, the user answers a receptionist's question by button mid-call, listens to a call and stops it, tells
the calls something, and the handover is announced before the phone rings."""

from __future__ import annotations

import asyncio

from domain.loop import Insurance, UserProfile
from domain.models import CallOutcome, Turn
from domain.services.tool_calls import end_call, open_call, report_offer
from domain.services.user_loop import (
    AskStatus,
    append_turns,
    ask_user,
    fetch_instructions,
    request_handover,
    save_profile,
)
from tests.e2e.bot.conftest import Harness
from tests.e2e.bot.test_telegram_bot import at, summary_card, tap
from tests.support.fake_bot_api import USER_ID


async def test_a_question_answered_by_button_mid_call_and_the_handover_announced(harness: Harness) -> None:
    api = harness.api
    await save_profile(
        harness.ports, UserProfile(USER_ID, name="Alex Kim", phone="+4915112345678", handover_consent=True)
    )
    async with harness.bot():
        card = await summary_card(harness)
        assert "🤝 The agent may share: 👤 Alex Kim, 📱 +4915112345678. Nothing else." in card.text
        await tap(harness, card, "📞 Call providers")
        # placed at once, in no fixed order: by name (Smile before Teeth)
        smile, teeth = sorted(await harness.voice.wait_placed(2), key=lambda placed: placed.call.provider.name)
        smile_ctx = await open_call(harness.ports, smile.token)
        teeth_ctx = await open_call(harness.ports, teeth.token)

        asking = asyncio.create_task(
            ask_user(harness.ports, smile_ctx, "Are you insured publicly or privately?", ["public", "private"], "")
        )
        question = await api.wait_for("sendMessage", lambda c: "asks: Are you insured" in c.text)
        assert question.text.startswith("❓ <b>Smile &lt;Dental&gt; Mitte</b> asks: Are you insured publicly")
        await tap(harness, question, "private")
        answer = await asyncio.wait_for(asking, 10)

        assert (answer.status, answer.answer) == (AskStatus.ANSWERED, "private")
        passed = await api.wait_for("editMessageText", lambda c: c.edits(question.message_id))
        assert passed.text == "✅ Passed on to <b>Smile &lt;Dental&gt; Mitte</b>: private"
        # The next receptionist asking the same is answered without a message to the user.
        mark = api.mark()
        again = await ask_user(harness.ports, teeth_ctx, "Sind Sie privat versichert?")
        assert (again.status, again.answer) == (AskStatus.KNOWN, "private")
        assert not [c for c in api.sent("sendMessage", mark) if "asks:" in c.text]

        handover = await request_handover(harness.ports, teeth_ctx, "the insurance")
        assert handover.transfer
        notice = await api.wait_for("sendMessage", lambda c: "Your phone rings in a moment" in c.text)
        assert notice.text == (
            "📞 Your phone rings in a moment: <b>Teeth &amp; Co</b> wants to talk to you about the insurance."
        )
        await end_call(harness.ports, teeth_ctx, CallOutcome.HANDED_OVER, "Put through to the client.")
        await report_offer(harness.ports, smile_ctx, at(14))
        await end_call(harness.ports, smile_ctx, CallOutcome.OFFER_MADE)
        shortlist = await api.wait_for("sendMessage", lambda c: c.text.startswith("Here are the best times"))
        assert "Smile &lt;Dental&gt; Mitte" in shortlist.text and "Teeth" not in shortlist.text


async def test_listen_to_a_call_tell_it_something_and_stop_it(harness: Harness) -> None:
    api = harness.api
    await save_profile(harness.ports, UserProfile(USER_ID, insurance=Insurance.PUBLIC))
    async with harness.bot():
        card = await summary_card(harness)
        assert "🤝 The agent may share: 🩺 public. Nothing else." in card.text
        await tap(harness, card, "📞 Call providers")
        # placed at once, in no fixed order: by name (Smile before Teeth)
        smile, teeth = sorted(await harness.voice.wait_placed(2), key=lambda placed: placed.call.provider.name)
        live = await api.wait_for("sendMessage", lambda c: "Calling 2 providers</b> for a dentist" in c.text)
        latest = max([live, *[c for c in api.sent("editMessageText") if c.edits(live.message_id)]], key=lambda c: c.at)

        await tap(harness, latest, "👂 Smile")
        view = await api.wait_for("sendMessage", lambda c: c.text.startswith("👂 <b>Call with Smile"))
        assert "Nothing said yet" in view.text
        assert view.button("⏹ Stop this call").startswith("sc:")
        ctx = await open_call(harness.ports, smile.token)
        await append_turns(harness.ports, ctx.call.id, [Turn("provider", "Smile Dental, hello?", at(9))])
        heard = await api.wait_for(
            "editMessageText", lambda c: c.edits(view.message_id) and "Smile Dental, hello?" in c.text
        )
        assert "<b>Receptionist:</b> Smile Dental, hello?" in heard.text

        # Tell this call something: the agent fetches it at its next decision, once.
        await tap(harness, view, "✍️ Tell this call")
        await api.wait_for("sendMessage", lambda c: c.text.startswith("What should I tell the call with"))
        await api.user_says("only Dr. Weber")
        await api.wait_for("sendMessage", lambda c: c.text.startswith("✍️ Told the call with"))
        fetched, _ = await fetch_instructions(harness.ports, ctx)
        assert [i.text for i in fetched] == ["only Dr. Weber"]
        other = await open_call(harness.ports, teeth.token)
        assert (await fetch_instructions(harness.ports, other))[0] == []

        await tap(harness, view, "⏹ Stop this call")
        await api.wait_for("sendMessage", lambda c: c.text.startswith("⏹ The call with <b>Smile"))
        assert smile.call.id in harness.voice.hung_up
        ended = await api.wait_for(
            "editMessageText", lambda c: c.edits(view.message_id) and c.button_data() == [], within=10
        )
        assert "Call with Smile" in ended.text
