"""The intake asks the expert's questions on the summary card before calling: buttons per choice, a skip button,
typed answers; the request's own words answer some; the answers and the visit's length reach the campaign."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot import buttons
from bot.conversation import Conversation
from bot.replies import Person, RecordingChat, Reply
from domain.models import Campaign
from integrations.directory import GazetteerGeocoder
from integrations.intent import OfflineIntentParser
from tests.factories import make_provider
from tests.fakes import FakeClock, FakeWorld

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 26, 9, 0, tzinfo=BERLIN)
ANNA = Person(7, "Anna", "en")
JONAS = Person(8, "Jonas", "de")


@pytest.fixture
def world() -> FakeWorld:
    return FakeWorld(clock=FakeClock(NOW), providers=[make_provider("smile", name="Smile Dental")])


def talk(world: FakeWorld) -> Conversation:
    return Conversation(world.ports, OfflineIntentParser(), GazetteerGeocoder())


def last(chat: RecordingChat) -> Reply:
    return chat.replies[-1]


def tap_of(reply: Reply, label: str) -> str:
    return next(b.data for row in reply.buttons for b in row if b.label == label)


async def campaigns(world: FakeWorld) -> list[Campaign]:
    async with world.ports.uow() as uow:
        return await uow.campaigns.list_for_user(ANNA.user_id) + await uow.campaigns.list_for_user(JONAS.user_id)


async def test_buttons_and_words_answer_the_dentists_questions_and_the_campaign_gets_them(world: FakeWorld) -> None:
    chat = RecordingChat()
    await talk(world).text(chat, ANNA, "dentist next Tuesday afternoon near Alexanderplatz")
    card = last(chat)
    assert "<b>Is it a check-up, a cleaning, or are you in pain?</b>" in card.text
    assert [b.label for b in card.buttons[-2]] + [b.label for b in card.buttons[-1]] == [
        "Check-up", "Cleaning", "Pain", "Skip"
    ]  # fmt: skip

    await talk(world).tap(chat, ANNA, tap_of(card, "Cleaning"))
    card = last(chat)
    assert card.replace
    assert "<b>Dentist</b> (60 minutes)" in card.text  # a cleaning takes an hour
    assert "<b>How are you insured?</b>" in card.text
    assert "🗒 For the receptionist: Cleaning" in card.text

    await talk(world).text(chat, ANNA, "I'm privately insured")
    card = last(chat)
    assert "How are you insured?" not in card.text
    assert "🗒 For the receptionist: Cleaning · Private" in card.text
    assert not any(d.startswith(f"{buttons.ANSWER}:") for d in card.button_data())

    await talk(world).tap(chat, ANNA, tap_of(card, "📞 Call providers"))
    (campaign,) = await campaigns(world)
    assert campaign.answers == {"visit": "cleaning", "insurance": "private"}
    assert campaign.duration_minutes == 60


async def test_the_request_answers_what_it_says_and_a_skipped_question_is_not_asked_again(world: FakeWorld) -> None:
    chat = RecordingChat()
    await talk(world).text(chat, JONAS, "Zahnarzt nächsten Dienstag nachmittag am Alexanderplatz, Kontrolle")
    card = last(chat)
    assert "Kontrolle" not in card.text.split("🗒")[0]  # the visit was said, so only insurance is asked
    assert "<b>Wie bist du versichert?</b>" in card.text
    assert "🗒 Für die Anmeldung: Kontrolle" in card.text

    await talk(world).tap(chat, JONAS, tap_of(card, "Überspringen"))
    card = last(chat)
    assert "versichert" not in card.text
    await talk(world).tap(chat, JONAS, tap_of(card, "📞 Anbieter anrufen"))
    (campaign,) = await campaigns(world)
    assert campaign.answers == {"visit": "checkup"}  # a skipped question gives the agent nothing to say


async def test_a_tap_on_an_older_question_has_expired(world: FakeWorld) -> None:
    chat = RecordingChat()
    await talk(world).text(chat, ANNA, "dentist next Tuesday afternoon near Alexanderplatz")
    first = last(chat)
    await talk(world).tap(chat, ANNA, tap_of(first, "Pain"))

    notice = await talk(world).tap(chat, ANNA, tap_of(first, "Check-up"))

    assert notice is not None and "expired" in notice
    assert "<b>How are you insured?</b>" in last(chat).text


async def test_a_service_without_an_expert_asks_nothing(world: FakeWorld) -> None:
    chat = RecordingChat()
    await talk(world).text(chat, ANNA, "vet next Tuesday afternoon near Alexanderplatz")
    assert not any(d.startswith(f"{buttons.ANSWER}:") for d in last(chat).button_data())
