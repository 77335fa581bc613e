"""Intake as a state machine: fresh requests, merged answers, wrong choices, cancel words, doubts."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot import buttons, views
from bot.conversation import Conversation
from bot.replies import Person, RecordingChat, Reply
from domain.intent import Doubt, DoubtOption, ParsedRequest
from domain.models import GeoPoint, TimeWindow
from domain.notifications import CampaignCancelled
from integrations.directory import GazetteerGeocoder
from integrations.intent import OfflineIntentParser
from tests.factories import make_provider
from tests.fakes import FakeClock, FakeWorld

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 26, 9, 0, tzinfo=BERLIN)  # a Thursday
ANNA = Person(7, "Anna", "en")
REQUEST = "dentist next Tuesday afternoon near Alexanderplatz"
TUESDAY_AFTERNOON = "Tuesday 1 December between 12:00 and 17:00"


@pytest.fixture
def world() -> FakeWorld:
    return FakeWorld(
        clock=FakeClock(NOW),
        providers=[make_provider("smile", name="Smile Dental", rating=4.7, lat=52.5250, lng=13.4090)],
    )


def talk_in(world: FakeWorld, parser: object | None = None) -> Conversation:
    return Conversation(world.ports, parser or OfflineIntentParser(), GazetteerGeocoder())  # type: ignore[arg-type]


def last(chat: RecordingChat) -> Reply:
    return chat.replies[-1]


def data_of(reply: Reply, action: str) -> list[str]:
    return [d for d in reply.button_data() if d.startswith(f"{action}:")]


@pytest.mark.parametrize("question", ["dentist tomorrow", "tomorrow afternoon", "a dentist"])
async def test_a_complete_new_request_while_a_question_is_open_starts_fresh(world: FakeWorld, question: str) -> None:
    chat = RecordingChat()
    await talk_in(world).text(chat, ANNA, question)
    assert "?" in last(chat).text and not last(chat).buttons  # the bot waits on its own question
    await talk_in(world).text(chat, ANNA, REQUEST)  # a new process: the waiting state came from the database
    card = last(chat)
    assert TUESDAY_AFTERNOON in card.text and "Friday" not in card.text
    assert "Alexanderplatz" in card.text and "<b>Dentist</b>" in card.text


class LookupsSeen(GazetteerGeocoder):
    """The bundled gazetteer, remembering every text it was asked to find (live, each is a paid lookup)."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: list[str] = []

    async def geocode(self, text: str, near: GeoPoint | None = None) -> GeoPoint | None:
        self.asked.append(text)
        return await super().geocode(text, near=near)


async def test_the_bots_own_example_works_while_it_waits_for_a_home(world: FakeWorld) -> None:
    chat, lookups = RecordingChat(), LookupsSeen()
    talk = Conversation(world.ports, OfflineIntentParser(), lookups)
    await talk.settings(chat, ANNA)
    await talk.tap(chat, ANNA, buttons.setting(buttons.HOME))
    await talk.text(chat, ANNA, "I need a dentist next Tuesday afternoon near Alexanderplatz")
    assert TUESDAY_AFTERNOON in last(chat).text
    assert world.store.tables["users"][ANNA.user_id].home is None
    assert lookups.asked == ["Alexanderplatz"]  # the sentence itself was never looked up as a home


async def test_an_answer_to_where_may_change_the_time_as_well(world: FakeWorld) -> None:
    chat, talk = RecordingChat(), talk_in(world)
    await talk.text(chat, ANNA, "Zahnarzt nächsten Dienstag")
    assert last(chat).text.startswith("Wo soll ich suchen?")
    await talk.text(chat, ANNA, "Lieber morgen Nachmittag in Mitte")
    card = last(chat)
    assert "Freitag, 27. November zwischen 12:00 und 17:00" in card.text
    assert "Dienstag" not in card.text
    assert "Mitte" in card.text and "<b>Zahnarzt</b>" in card.text


async def test_an_answer_without_a_time_keeps_the_time(world: FakeWorld) -> None:
    chat, talk = RecordingChat(), talk_in(world)
    await talk.text(chat, ANNA, "next Tuesday afternoon near Alexanderplatz")
    assert last(chat).text.startswith("Which kind of provider")
    await talk.text(chat, ANNA, "a dentist please")
    assert TUESDAY_AFTERNOON in last(chat).text and "Alexanderplatz" in last(chat).text


async def test_words_that_say_nothing_lose_nothing(world: FakeWorld) -> None:
    chat, talk = RecordingChat(), talk_in(world)
    await talk.text(chat, ANNA, REQUEST)
    card = last(chat)
    await talk.text(chat, ANNA, "99")
    assert last(chat).text.startswith("I did not understand that, so nothing has changed.")
    assert await talk.tap(chat, ANNA, data_of(card, buttons.GO)[0]) is None
    assert "Calling providers now" in last(chat).text
    assert len(world.store.tables["campaigns"]) == 1


@pytest.mark.parametrize(
    ("word", "said"),
    [
        ("cancel", "Okay, I dropped that request."),
        ("Stop", "Okay, I dropped that request."),
        ("abbrechen", "Alles klar, die Anfrage ist verworfen."),
    ],
)
async def test_cancel_words_drop_the_open_request_with_one_message(world: FakeWorld, word: str, said: str) -> None:
    chat, talk = RecordingChat(), talk_in(world)
    await talk.text(chat, ANNA, "dentist tomorrow")
    card_count = len(chat.replies)
    await talk.text(chat, ANNA, word)
    assert [r.text for r in chat.replies[card_count:]] == [said]
    assert not world.store.tables["campaigns"]
    await talk.text(chat, ANNA, "Marienplatz")  # the question is no longer open
    assert last(chat).text.startswith("Which kind of provider")


async def test_cancel_with_nothing_open_says_so_once_in_the_users_language(world: FakeWorld) -> None:
    chat, talk = RecordingChat(), talk_in(world)
    await talk.text(chat, ANNA, "Zahnarzt morgen in Mitte")  # Anna now writes German
    await talk.cancel(chat, ANNA)
    assert last(chat).text == "Alles klar, die Anfrage ist verworfen."
    await talk.text(chat, ANNA, "cancel")
    assert last(chat).text == "Gerade gibt es nichts abzubrechen."


async def test_cancel_of_running_searches_is_told_once_in_the_users_language(world: FakeWorld) -> None:
    chat, talk = RecordingChat(), talk_in(world)
    for request in (REQUEST, "Zahnarzt übermorgen am Alexanderplatz"):  # Anna now writes German
        await talk.text(chat, ANNA, request)
        await talk.tap(chat, ANNA, data_of(last(chat), buttons.GO)[0])
    await talk.text(chat, ANNA, "Zahnarzt morgen")  # a third request is being written meanwhile
    before = len(chat.replies)
    await talk.cancel(chat, ANNA)
    assert [r.text for r in chat.replies[before:]] == [
        "⏹ Deine 2 Suchen sind beendet; für sie laufen keine Anrufe mehr."
    ]
    cancelled = world.outbox.of_type(CampaignCancelled)
    assert len(cancelled) == 2
    # What the notifiers make of those notifications adds nothing: the conversation has said it.
    user = world.store.tables["users"][ANNA.user_id]
    assert all(views.notification_reply(n, user, NOW) is None for n in cancelled)


def _at(day: int, start: int, end: int) -> TimeWindow:
    return TimeWindow(datetime(2026, 12, day, start, tzinfo=BERLIN), datetime(2026, 12, day, end, tzinfo=BERLIN))


class DoubtfulParser:
    """The offline parser, except that one sentence reads two ways."""

    SENTENCE = "Zahnarzt Dienstag, den 8. Dezember in Mitte"

    def __init__(self) -> None:
        self._offline = OfflineIntentParser()

    async def parse(self, text: str, now: datetime, timezone: str) -> ParsedRequest:
        if text != self.SENTENCE:
            return await self._offline.parse(text, now, timezone)
        return ParsedRequest(
            text=text,
            service="dentist",
            windows=[_at(8, 8, 18)],
            location="Mitte",
            duration_minutes=30,
            language="de",
            doubts=[
                Doubt(
                    "Der 8. Dezember ist ein Dienstag? Welchen Tag meinst du?",
                    [DoubtOption("Di 8. Dez", [_at(8, 8, 18)]), DoubtOption("Mi 9. Dez", [_at(9, 8, 18)])],
                )
            ],
        )


async def test_a_doubt_is_asked_with_buttons_before_the_card(world: FakeWorld) -> None:
    chat, talk = RecordingChat(), talk_in(world, DoubtfulParser())
    await talk.text(chat, ANNA, DoubtfulParser.SENTENCE)
    question = last(chat)
    assert question.text == "Der 8. Dezember ist ein Dienstag? Welchen Tag meinst du?"
    assert [b.label for row in question.buttons for b in row] == ["Di 8. Dez", "Mi 9. Dez"]
    picks = data_of(question, buttons.PICK)
    await talk.text(chat, ANNA, "99")  # a wrong answer shows the choices again
    assert last(chat).text.startswith("Bitte tippe auf eine dieser Möglichkeiten:")
    assert data_of(last(chat), buttons.PICK) == picks
    assert await talk.tap(chat, ANNA, picks[1]) is None
    card = last(chat)
    assert "Mittwoch, 9. Dezember zwischen 08:00 und 18:00" in card.text and "8. Dezember" not in card.text
    assert "Mitte" in card.text and data_of(card, buttons.GO)
    assert await talk.tap(chat, ANNA, picks[0]) == "Dieser Knopf ist abgelaufen."


async def test_the_card_shows_every_window_and_the_length(world: FakeWorld) -> None:
    chat = RecordingChat()
    await talk_in(world).text(chat, ANNA, "hairdresser next week near Alexanderplatz")
    card = last(chat)
    for day in ("Monday 30 November", "Tuesday 1 December", "Wednesday 2", "Thursday 3", "Friday 4 December"):
        assert day in card.text
    assert "more" not in card.text
    assert "(30 minutes)" in card.text or "(45 minutes)" in card.text
