"""The user in the loop in the conversation (with fakes): the profile in /settings and on the summary card, a
question answered by a typed reply, the question and Listen views, the topics questions are grouped by."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot import buttons, views
from bot.conversation import Conversation
from bot.replies import Person, RecordingChat, Reply
from domain.loop import Insurance, PatientStatus, UserProfile, UserQuestion, profile_answer, question_topic
from domain.models import CallPurpose, CallStatus, CallTask, CampaignStatus, Turn
from domain.notifications import CallTranscript
from domain.services.user_loop import get_profile
from integrations.directory import GazetteerGeocoder
from integrations.intent import OfflineIntentParser
from integrations.simulation.agent import choices_in
from tests.factories import make_campaign, make_provider
from tests.fakes import FakeClock, FakeWorld

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 26, 9, 0, tzinfo=BERLIN)
ANNA = Person(7, "Anna", "en")
JONAS = Person(7, "Jonas", "de")


def world() -> FakeWorld:
    return FakeWorld(clock=FakeClock(NOW), providers=[make_provider("smile", name="Smile Dental")])


def talk(fakes: FakeWorld) -> Conversation:
    return Conversation(fakes.ports, OfflineIntentParser(), GazetteerGeocoder())


def profile_tap(reply: Reply, what: str) -> str:
    return next(d for d in reply.button_data() if d == f"{buttons.PROFILE}:{what}")


async def test_settings_change_the_profile_and_the_summary_card_lists_only_what_may_be_shared() -> None:
    fakes, chat = world(), RecordingChat()
    conversation = talk(fakes)

    await conversation.settings(chat, ANNA)
    card = chat.replies[-1]
    assert "<b>What the agent may tell a receptionist</b>\n👤 name: not set" in card.text
    await conversation.tap(chat, ANNA, profile_tap(card, "insurance"))
    await conversation.tap(chat, ANNA, profile_tap(card, "insurance"))  # public, then private
    await conversation.tap(chat, ANNA, profile_tap(card, "patient"))
    await conversation.tap(chat, ANNA, profile_tap(card, "name"))
    assert chat.replies[-1].text.startswith("Under which name should the agent book?")
    await conversation.text(chat, ANNA, "Anna Berg")
    await conversation.tap(chat, ANNA, profile_tap(card, "phone"))
    await conversation.text(chat, ANNA, "call me maybe")
    assert chat.replies[-1].text.startswith("<b>call me maybe</b> is not a phone number I can use.")
    await conversation.tap(chat, ANNA, profile_tap(card, "phone"))
    await conversation.text(chat, ANNA, "0049 151 1234-5678")
    await conversation.tap(chat, ANNA, profile_tap(card, "handover"))

    profile = await get_profile(fakes.ports, ANNA.user_id)
    assert profile == UserProfile(7, "Anna Berg", "+4915112345678", Insurance.PRIVATE, PatientStatus.NEW, True)
    shown = chat.replies[-1]
    assert shown.replace and "🩺 insurance: private" in shown.text and "📞 put calls through to you: on" in shown.text

    await conversation.text(chat, ANNA, "I need a dentist next Tuesday afternoon near Alexanderplatz")
    summary = chat.replies[-1].text
    assert "🤝 The agent may share: 👤 Anna Berg, 📱 +4915112345678, 🩺 private, 🗂 new. Nothing else." in summary
    # the dentist expert asks the kind of visit, not the insurance the profile already gives
    assert "Is it a check-up, a cleaning, or are you in pain?" in summary
    check_up = next(b for row in chat.replies[-1].buttons for b in row if b.label == "Check-up")
    await conversation.tap(chat, ANNA, check_up.data)
    summary = chat.replies[-1].text
    assert "How are you insured?" not in summary and "Private" in summary


async def test_a_typed_reply_answers_the_open_question_of_a_running_call() -> None:
    fakes, chat = world(), RecordingChat()
    campaign = make_campaign(NOW, status=CampaignStatus.NEGOTIATING)
    call = CallTask(campaign.id, make_provider("smile", name="Smile Dental"), CallPurpose.DISCOVER, "hash", NOW, NOW)
    call.status = CallStatus.IN_PROGRESS
    question = UserQuestion(call.id, campaign.id, 7, "Smile Dental", "Which stylist?", "stylist", NOW)
    async with fakes.ports.uow() as uow:
        await uow.campaigns.add(campaign)
        await uow.calls.add(call)
        await uow.questions.add(question)
        await uow.commit()

    await talk(fakes).text(chat, JONAS, "Anna, bitte")

    assert chat.replies[-1].text == "✅ An <b>Smile Dental</b> weitergegeben: Anna, bitte"
    async with fakes.ports.uow() as uow:
        stored = await uow.questions.get(question.id)
    assert stored is not None and stored.answer == "Anna, bitte"


def test_a_question_shows_its_choices_as_buttons_within_telegrams_limits() -> None:
    question = UserQuestion(
        "c" * 32, "k" * 32, 7, "Praxis <Weber>", "Public or private?", "insurance", NOW, ("public", "private"), "forms"
    )

    reply = views.question_view(question, "en")

    assert reply.text.startswith("❓ <b>Praxis &lt;Weber&gt;</b> asks: Public or private?\n<i>(forms)</i>")
    assert [b.label for row in reply.buttons for b in row] == ["public", "private"]
    assert all(len(d.encode()) <= 64 for d in reply.button_data())


def test_the_listen_view_shows_the_latest_turns_and_loses_its_buttons_when_the_call_ends() -> None:
    campaign = make_campaign(NOW, status=CampaignStatus.NEGOTIATING)
    call = CallTask(campaign.id, make_provider("smile", name="Smile Dental"), CallPurpose.DISCOVER, "h", NOW, NOW)
    call.status = CallStatus.IN_PROGRESS
    turns = [Turn("provider" if n % 2 else "agent", f"line {n}", NOW + timedelta(seconds=n)) for n in range(20)]

    running = views.listen_view(CallTranscript(campaign, call, turns))
    call.end(CallStatus.COMPLETED, NOW)
    ended = views.listen_view(CallTranscript(campaign, call, turns))

    assert "<i>… 8 earlier turns</i>" in running.text and "line 19" in running.text and "line 7" not in running.text
    assert [b.label for row in running.buttons for b in row] == ["⏹ Stop this call", "✍️ Tell this call"]
    assert ended.buttons == ()


@pytest.mark.parametrize(
    ("question", "topic"),
    [
        ("Are you insured publicly or privately?", "insurance"),
        ("Sind Sie gesetzlich oder privat versichert?", "insurance"),
        ("Have you been with us before?", "new_patient"),
        ("Waren Sie schon einmal bei uns?", "new_patient"),
        ("Zu welcher Friseurin möchten Sie?", "stylist"),
        ("What make and model is the car?", "car_model"),
        ("Auf welchen Namen?", "name"),
        ("A number to call you back?", "phone"),
        ("Do you bring the X-ray?", "do you bring the x ray"),
    ],
)
def test_questions_are_grouped_by_topic_in_english_and_german(question: str, topic: str) -> None:
    assert question_topic(question) == topic


def test_the_profile_answers_only_what_it_holds_in_the_searchs_language() -> None:
    profile = UserProfile(7, insurance=Insurance.PRIVATE)

    assert profile_answer(profile, "insurance", "de") == "privat versichert"
    assert profile_answer(profile, "insurance") == "private insurance"
    assert profile_answer(profile, "name") is None
    assert profile_answer(None, "insurance") is None
    assert not UserProfile(7, phone="+4915112345678").may_hand_over()  # no consent
    assert not UserProfile(7, phone="0151", handover_consent=True).may_hand_over()  # no usable number


def test_the_reference_agent_offers_the_choices_a_question_names() -> None:
    assert choices_in("Are you insured publicly or privately?") == ["publicly", "privately"]
    assert choices_in("Ist es ein neuer oder ein bestehender Patient?") == ["neuer", "bestehender"]
    assert choices_in("Which car is it, make and model?") == []
