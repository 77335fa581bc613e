"""The Telegram bot end to end: real python-telegram-bot, real HTTP, the fake Bot API, a SQLite database."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta

from aiohttp import ClientSession, web
from aiohttp.test_utils import TestServer

from bot.conversation import Conversation
from bot.telegram import (
    SECRET_HEADER,
    WEBHOOK_PATH,
    NexusApplication,
    Webhook,
    build_application,
    running,
    webhook_routes,
)
from domain.models import CallOutcome, CampaignStatus, TimeWindow
from domain.services.appointments import send_due_reminders
from domain.services.campaigns import StartCampaign, create_campaign, run_campaign
from domain.services.confirmation import choose_offer
from domain.services.tool_calls import book_slot, end_call, open_call, report_offer
from integrations.directory import GazetteerGeocoder
from integrations.intent import OfflineIntentParser
from tests.e2e.bot.conftest import BERLIN, Harness
from tests.factories import ALEXANDERPLATZ
from tests.support.fake_bot_api import TOKEN, USER_ID, ApiCall

TUESDAY = datetime(2026, 12, 1, tzinfo=BERLIN)


def at(hour: int) -> datetime:
    return TUESDAY.replace(hour=hour)


TUESDAY_AFTERNOON = TimeWindow(at(12), at(17))


def start_command() -> StartCampaign:
    return StartCampaign(USER_ID, "dentist", [TUESDAY_AFTERNOON], ALEXANDERPLATZ)


async def summary_card(harness: Harness) -> ApiCall:
    api = harness.api
    await api.user_says("I need a dentist next Tuesday afternoon")
    question = await api.wait_for("sendMessage", lambda c: c.text.startswith("Where should I search?"))
    assert question.params["reply_markup"]["keyboard"][0][0]["request_location"] is True
    await api.user_says("Alexanderplatz")
    return await api.wait_for("sendMessage", lambda c: "Shall I call providers for you?" in c.text)


async def tap(harness: Harness, call: ApiCall, label: str) -> ApiCall:
    """Tap a button of a message the bot sent and wait for the tap's answer."""
    query_id = await harness.api.user_taps(call.button(label), call.message_id)
    return await harness.api.wait_for("answerCallbackQuery", lambda c: c.params["callback_query_id"] == query_id)


def answering(query_id: str) -> Callable[[ApiCall], bool]:
    return lambda call: call.params["callback_query_id"] == query_id


async def play_agents(harness: Harness) -> None:
    """Both providers offer a time on Tuesday and hang up: Smile 14:00, Teeth & Co 15:00 (the calls are placed
    concurrently, so the order they were placed in says nothing)."""
    placed = sorted(await harness.voice.wait_placed(2), key=lambda r: r.call.provider.name)
    for request, hour in zip(placed, (14, 15), strict=True):
        ctx = await open_call(harness.ports, request.token)
        await report_offer(harness.ports, ctx, at(hour))
        await end_call(harness.ports, ctx, CallOutcome.OFFER_MADE)


async def test_request_to_booked_appointment_with_calendar_file(harness: Harness) -> None:
    api = harness.api
    async with harness.bot():
        card = await summary_card(harness)
        assert "Tuesday 1 December between 12:00 and 17:00" in card.text
        assert api.sent("sendChatAction")
        assert (await tap(harness, card, "📞 Call providers")).params.get("text") is None
        live = await api.wait_for("sendMessage", lambda c: "Calling 2 providers</b> for a dentist" in c.text)
        assert live.button("⏹ Stop calls").startswith("stop:")

        await play_agents(harness)
        shortlist = await api.wait_for("sendMessage", lambda c: c.text.startswith("Here are the best times"))
        finished = await api.wait_for(
            "editMessageText", lambda c: c.edits(live.message_id) and "Calls finished" in c.text
        )
        assert "Smile &lt;Dental&gt; Mitte – offer Tue 1 Dec 14:00" in finished.text
        assert finished.button_data() == []
        assert "1. <b>Smile &lt;Dental&gt; Mitte</b> – Tue 1 Dec 14:00–14:30" in shortlist.text
        assert "2. <b>Teeth &amp; Co</b> – Tue 1 Dec 15:00–15:30" in shortlist.text
        assert all(len(d.encode()) <= 64 for d in shortlist.button_data())

        await tap(harness, shortlist, "Book 1")
        await api.wait_for("sendMessage", lambda c: c.text.startswith("📞 Calling <b>Smile &lt;Dental&gt; Mitte</b>"))
        (confirm,) = await harness.voice.wait_placed(1, "CONFIRM")
        ctx = await open_call(harness.ports, confirm.token)
        await book_slot(harness.ports, ctx, at(14))
        await end_call(harness.ports, ctx, CallOutcome.BOOKED)

        booked = await api.wait_for("sendMessage", lambda c: "Booked:" in c.text)
        assert "Smile &lt;Dental&gt; Mitte, Tue 1 Dec 14:00–14:30, Street smile, Berlin" in booked.text
        document = await api.wait_for("sendDocument")
        filename, content = document.params["document"]
        assert filename == "smile-dental-mitte-2026-12-01-1400.ics"
        assert content.startswith(b"BEGIN:VCALENDAR\r\n")
        assert b"DTSTART:20261201T130000Z\r\n" in content and b"SUMMARY:Dentist: Smile <Dental> Mitte" in content


async def test_stop_calls_mid_campaign_hangs_up_and_shows_the_final_state(harness: Harness) -> None:
    api = harness.api
    async with harness.bot():
        await tap(harness, await summary_card(harness), "📞 Call providers")
        live = await api.wait_for("sendMessage", lambda c: "Calling 2 providers</b> for a dentist" in c.text)
        await harness.voice.wait_placed(2)
        await tap(harness, live, "⏹ Stop calls")
        await api.wait_for("sendMessage", lambda c: c.text.startswith("⏹ This search is closed"))
        stopped = await api.wait_for(
            "editMessageText", lambda c: c.edits(live.message_id) and "Calls stopped" in c.text
        )
        assert stopped.text.count("– stopped") == 2 and stopped.button_data() == []
    assert len(harness.voice.hung_up) == 2
    async with harness.ports.uow() as uow:
        (campaign,) = await uow.campaigns.list_for_user(USER_ID)
    assert campaign.status is CampaignStatus.CANCELLED


async def test_forged_callback_is_answered_as_expired_and_changes_nothing(harness: Harness) -> None:
    api = harness.api
    async with harness.bot():
        await tap(harness, await summary_card(harness), "📞 Call providers")
        await play_agents(harness)
        shortlist = await api.wait_for("sendMessage", lambda c: c.text.startswith("Here are the best times"))
        mark = api.mark()
        book = shortlist.button("Book 1")
        for user_id, data in ((666, book), (USER_ID, "book:" + "f" * 32), (USER_ID, "drop:zzz"), (USER_ID, "x" * 64)):
            query_id = await api.user_taps(data, shortlist.message_id, user_id=user_id)
            answers = await api.wait_for("answerCallbackQuery", since=mark, where=answering(query_id))
            assert answers.params["text"] == "This button has expired."
        assert api.sent("sendMessage", since=mark) == []
    assert harness.voice.of("CONFIRM") == []


async def test_quota_reached_gets_a_clear_message(harness: Harness) -> None:
    for _ in range(2):  # the quota of this harness is two searches per hour
        await create_campaign(harness.ports, start_command())
    async with harness.bot():
        await tap(harness, await summary_card(harness), "📞 Call providers")
        quota = await harness.api.wait_for("sendMessage", lambda c: "searches in the last hour" in c.text)
    assert quota.text.startswith("You have started 2 searches in the last hour")
    assert harness.voice.placed == []


async def test_german_intake_gets_german_replies(harness: Harness) -> None:
    api = harness.api
    async with harness.bot():
        await api.user_says("Zahnarzt morgen nachmittag", language="de")
        question = await api.wait_for("sendMessage", lambda c: c.text.startswith("Wo soll ich suchen?"))
        assert question.params["reply_markup"]["keyboard"][0][0]["text"] == "📍 Standort teilen"
        await api.user_shares_location(52.5219, 13.4132)
        card = await api.wait_for("sendMessage", lambda c: "Soll ich Anbieter für dich anrufen?" in c.text)
    assert "<b>Zahnarzt</b>" in card.text and "Freitag, 27. November zwischen 12:00 und 17:00" in card.text
    assert card.button_data() and card.params["reply_markup"]["inline_keyboard"][0][0]["text"] == "📞 Anbieter anrufen"


async def test_reminders_come_from_the_database_after_a_restart(harness: Harness) -> None:
    ports = harness.ports
    async with harness.bot():
        campaign = await create_campaign(ports, start_command())
        await run_campaign(ports, campaign.id)
        await play_agents(harness)
        shortlist = await harness.api.wait_for("sendMessage", lambda c: c.text.startswith("Here are the best times"))
        await choose_offer(ports, USER_ID, shortlist.button("Book 1").split(":")[1])
        (confirm,) = await harness.voice.wait_placed(1, "CONFIRM")
        ctx = await open_call(ports, confirm.token)
        await book_slot(ports, ctx, at(14))
        await harness.api.wait_for("sendMessage", lambda c: "Booked:" in c.text)

    # A new process: a new Application and notifier on the same database.
    harness.clock.current = at(14) - timedelta(hours=1)
    mark = harness.api.mark()
    async with harness.bot():
        assert await send_due_reminders(ports) == 1
        reminder = await harness.api.wait_for("sendMessage", lambda c: "Reminder:" in c.text, since=mark)
        assert await send_due_reminders(ports) == 0
    assert reminder.text.startswith("⏰ <b>Reminder:</b> Smile &lt;Dental&gt; Mitte in one hour, Tue 1 Dec 14:00")
    assert len([c for c in harness.api.sent("sendMessage", since=mark) if "Reminder:" in c.text]) == 1


async def test_webhook_accepts_only_updates_with_the_secret(harness: Harness) -> None:
    application = harness.application(webhook=True)
    app = web.Application()
    webhook_routes(application, "s3cret")(app)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    url = str(server.make_url(WEBHOOK_PATH))
    try:
        async with running(application, Webhook(url, "s3cret")), ClientSession() as http:
            registered = await harness.api.wait_for("setWebhook")
            assert registered.params["url"] == url and registered.params["secret_token"] == "s3cret"
            update = harness.api.update_for_text("/start")
            for headers in ({}, {SECRET_HEADER: "guess"}):
                async with http.post(url, json=update, headers=headers) as response:
                    assert response.status == 403
            async with http.post(url, json=update, headers={SECRET_HEADER: "s3cret"}) as response:
                assert response.status == 200
            welcome = await harness.api.wait_for("sendMessage")
        assert welcome.text.startswith("Hello, User7! I am <b>NEXUS</b>.")
        assert len(harness.api.sent("sendMessage")) == 1
        assert not harness.api.sent("getUpdates") and not harness.api.sent("deleteWebhook")
    finally:
        await server.close()


def guarded_bot(harness: Harness, links: list[int]) -> NexusApplication:
    """The bot of a NEXUS that serves only ``USER_ID`` and records every calendar link it makes."""

    def link(user_id: int) -> str:
        links.append(user_id)
        return f"https://nexus.example/oauth/google/start?user={user_id}"

    conversation = Conversation(
        harness.ports, OfflineIntentParser(), GazetteerGeocoder(), allowed_users=[USER_ID], calendar_link=link
    )
    return build_application(TOKEN, conversation, base_url=harness.api_url)


async def test_a_stranger_gets_nothing_but_one_refusal_per_message(harness: Harness) -> None:
    api, links = harness.api, []
    stranger = 666
    async with running(guarded_bot(harness, links)):
        for words in ("/connect_calendar", "/start", "/settings", "Zahnarzt morgen in Mitte"):
            await api.user_says(words, user_id=stranger)
        await api.user_shares_location(52.52, 13.41, user_id=stranger)
        query_id = await api.user_taps("home:", 100, user_id=stranger)
        await api.user_says("/help")  # the owner's message comes after all of them
        await api.wait_for("sendMessage", lambda c: str(c.params["chat_id"]) == str(USER_ID))
    to_stranger = [c for c in api.sent("sendMessage") if str(c.params["chat_id"]) == str(stranger)]
    assert len(to_stranger) == 5
    assert all(
        "only places calls for the people it was set up for" in c.text and "(666)" in c.text for c in to_stranger
    )
    (answer,) = [c for c in api.sent("answerCallbackQuery") if c.params["callback_query_id"] == query_id]
    assert answer.params["text"] == "This NEXUS only works for the people it was set up for."
    assert links == []
    async with harness.ports.uow() as uow:
        assert await uow.users.get(stranger) is None
        assert await uow.chat_sessions.get(stranger) is None


async def test_edits_and_live_location_moves_get_no_reply(harness: Harness) -> None:
    api = harness.api
    async with harness.bot():
        shared = await api.user_shares_location(52.5219, 13.4132, live_period=900)
        await api.wait_for("sendMessage", lambda c: c.text.startswith("🏠 Saved"))
        mark = api.mark()
        for step in range(5):
            await api.user_edits(shared, location={"latitude": 52.52 + step / 1000, "longitude": 13.41})
        await api.user_edits(shared, text="dentist tomorrow near Alexanderplatz")
        await api.user_says("/help")
        await api.wait_for("sendMessage", lambda c: "/appointments" in c.text, since=mark)
        assert len(api.sent("sendMessage", since=mark)) == 1


async def test_a_campaign_waiting_for_its_calls_holds_up_no_other_chat(harness: Harness) -> None:
    api = harness.api
    harness.voice.gate = asyncio.Event()  # every call waits for a free line
    async with harness.bot():
        await tap(harness, await summary_card(harness), "📞 Call providers")  # answered while dialling waits
        mark = api.mark()
        await api.user_says("/start", user_id=8)
        welcome = await api.wait_for("sendMessage", lambda c: c.params["chat_id"] in (8, "8"), since=mark)
        assert harness.voice.placed == []  # the first user's calls are still waiting
        harness.voice.gate.set()
        await harness.voice.wait_placed(2)
    assert welcome.text.startswith("Hello, User8!")
