"""/delete_my_data in the shared conversation: it says which appointments stay booked and how to cancel them,
deletes only after the confirmation tap (once, however often it is tapped), keeps everything on "keep" or while
a search runs, and the confirmation expires."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot import buttons
from bot.conversation import Conversation
from bot.replies import MAX_CALLBACK_BYTES, Person, RecordingChat, Reply
from bot.terminal import TerminalChat, run_terminal
from domain.models import Appointment, CalendarLink, CampaignStatus, ChatSession, TimeWindow
from domain.notifications import CallsChanged
from domain.services.campaigns import StartCampaign, create_campaign, run_campaign
from integrations.directory import GazetteerGeocoder
from integrations.intent import OfflineIntentParser
from tests.factories import ALEXANDERPLATZ, make_provider
from tests.fakes import FakeClock, FakeWorld

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 26, 9, 0, tzinfo=BERLIN)
ANNA = Person(7, "Anna", "en")
BEN = Person(8, "Ben", "de")
SMILE = make_provider("smile", name="Smile Dental")


@pytest.fixture
def world() -> FakeWorld:
    return FakeWorld(clock=FakeClock(NOW), providers=[SMILE])


class Disconnects:
    """Stands in for the Google calendar disconnect: forgets the link (as the real one does) and records."""

    def __init__(self, world: FakeWorld) -> None:
        self.world = world
        self.users: list[int] = []

    async def __call__(self, user_id: int) -> bool:
        self.users.append(user_id)
        async with self.world.ports.uow() as uow:
            removed = await uow.calendar_links.delete(user_id)
            await uow.commit()
        return removed


def conversation(world: FakeWorld, disconnect: Disconnects | None = None) -> Conversation:
    return Conversation(world.ports, OfflineIntentParser(), GazetteerGeocoder(), calendar_disconnect=disconnect)


async def give_anna_data(world: FakeWorld) -> None:
    start = NOW + timedelta(days=2)
    async with world.ports.uow() as uow:
        await uow.appointments.add(
            Appointment(ANNA.user_id, "c1", "o1", SMILE, start, start + timedelta(minutes=30), NOW)
        )
        await uow.calendar_links.save(CalendarLink(ANNA.user_id, "google", "secret", NOW))
        await uow.chat_sessions.save(ChatSession(ANNA.user_id, {}, NOW))
        await uow.outbox.add(ANNA.user_id, CallsChanged("c1"), NOW)
        await uow.commit()


def annas_rows(world: FakeWorld) -> dict[str, int]:
    tables = world.store.tables
    mine = {
        "users": [k for k in tables["users"] if k == ANNA.user_id],
        "appointments": [a for a in tables["appointments"].values() if a.user_id == ANNA.user_id],
        "calendar_links": [k for k in tables["calendar_links"] if k == ANNA.user_id],
        "chat_sessions": [k for k in tables["chat_sessions"] if k == ANNA.user_id],
        "outbox": [m for m in tables["outbox"].values() if m.user_id == ANNA.user_id],
        "campaigns": [c for c in tables["campaigns"].values() if c.user_id == ANNA.user_id],
    }
    return {table: len(rows) for table, rows in mine.items()}


def confirm_data(reply: Reply) -> str:
    return next(d for d in reply.button_data() if d.startswith(f"{buttons.DELETE_DATA}:"))


async def test_the_question_lists_the_appointments_that_stay_booked_and_how_to_cancel_them(world: FakeWorld) -> None:
    await give_anna_data(world)
    chat = RecordingChat()

    await conversation(world).delete_my_data(chat, ANNA)

    (question,) = chat.replies
    assert question.text.startswith("This deletes everything I keep about you")
    assert "These appointments <b>stay booked</b> at the practices" in question.text
    assert f"• <b>Smile Dental</b>, Sat 28 Nov 09:00–09:30 – {SMILE.phone}" in question.text
    assert "tap it in /appointments before you delete your data" in question.text
    assert [b.label for row in question.buttons for b in row] == ["🗑 Delete my data", "Keep my data"]
    assert all(len(d.encode()) <= MAX_CALLBACK_BYTES for d in question.button_data())
    assert annas_rows(world)["appointments"] == 1  # asking deletes nothing


async def test_the_question_in_german_without_appointments(world: FakeWorld) -> None:
    chat = RecordingChat()

    await conversation(world).delete_my_data(chat, BEN)

    (question,) = chat.replies
    assert question.text.startswith("Damit lösche ich alles, was ich über dich gespeichert habe")
    assert "gebucht" not in question.text
    assert [b.label for row in question.buttons for b in row] == ["🗑 Meine Daten löschen", "Daten behalten"]


async def test_confirming_deletes_everything_and_revokes_the_calendar(world: FakeWorld) -> None:
    await give_anna_data(world)
    disconnect = Disconnects(world)
    chat, talk = RecordingChat(), conversation(world, disconnect)
    await talk.delete_my_data(chat, ANNA)

    notice = await talk.tap(chat, ANNA, confirm_data(chat.replies[-1]))

    assert notice is None
    assert chat.replies[-1].text.startswith("Done: I deleted everything I kept about you.")
    assert chat.replies[-1].replace
    assert disconnect.users == [ANNA.user_id]
    assert set(annas_rows(world).values()) == {0}


async def test_confirming_twice_deletes_once_and_answers_both_times(world: FakeWorld) -> None:
    await give_anna_data(world)
    chat, talk = RecordingChat(), conversation(world)
    await talk.delete_my_data(chat, ANNA)
    data = confirm_data(chat.replies[-1])

    await talk.tap(chat, ANNA, data)
    await talk.tap(chat, ANNA, data)

    assert [r.text.split(":")[0] for r in chat.replies[-2:]] == ["Done", "Done"]
    assert set(annas_rows(world).values()) == {0}


async def test_keeping_deletes_nothing(world: FakeWorld) -> None:
    await give_anna_data(world)
    chat, talk = RecordingChat(), conversation(world)
    await talk.delete_my_data(chat, ANNA)
    keep = next(d for d in chat.replies[-1].button_data() if d.startswith(buttons.KEEP_DATA))

    await talk.tap(chat, ANNA, keep)

    assert chat.replies[-1].text == "Nothing was deleted."
    assert annas_rows(world)["appointments"] == 1 and annas_rows(world)["calendar_links"] == 1


async def test_nothing_is_deleted_while_a_search_runs_and_the_calendar_stays_connected(world: FakeWorld) -> None:
    await give_anna_data(world)
    window = TimeWindow(NOW + timedelta(days=1), NOW + timedelta(days=1, hours=4))
    campaign = await create_campaign(world.ports, StartCampaign(ANNA.user_id, "dentist", [window], ALEXANDERPLATZ))
    await run_campaign(world.ports, campaign.id)  # the call to Smile is still talking
    disconnect = Disconnects(world)
    chat, talk = RecordingChat(), conversation(world, disconnect)
    await talk.delete_my_data(chat, ANNA)

    await talk.tap(chat, ANNA, confirm_data(chat.replies[-1]))

    assert chat.replies[-1].text.startswith("A search of yours is still running")
    assert "/cancel" in chat.replies[-1].text
    assert disconnect.users == []
    assert annas_rows(world)["campaigns"] == 1 and annas_rows(world)["calendar_links"] == 1
    stored = world.store.tables["campaigns"][campaign.id]
    assert stored.status is CampaignStatus.NEGOTIATING


async def test_a_confirmation_tapped_too_late_has_expired(world: FakeWorld) -> None:
    await give_anna_data(world)
    chat, talk = RecordingChat(), conversation(world)
    await talk.delete_my_data(chat, ANNA)
    world.clock.advance(timedelta(minutes=16))

    notice = await talk.tap(chat, ANNA, confirm_data(chat.replies[-1]))

    assert notice is not None and len(chat.replies) == 1
    assert annas_rows(world)["appointments"] == 1


async def test_help_names_the_command(world: FakeWorld) -> None:
    chat = RecordingChat()
    await conversation(world).help(chat, ANNA)
    assert "/delete_my_data – delete everything I keep about you" in chat.replies[-1].text
    assert "delete_my_data" in conversation(world).commands


async def test_the_terminal_chat_deletes_after_the_typed_confirmation(world: FakeWorld) -> None:
    await give_anna_data(world)
    shown: list[str] = []
    lines = iter(["/delete_my_data", "1", "/quit"])

    async def read() -> str | None:
        return next(lines)

    await run_terminal(conversation(world), TerminalChat(shown.append), ANNA, read)

    assert "[1] 🗑 Delete my data" in shown[1] and "[2] Keep my data" in shown[1]
    assert shown[-1].startswith("Done: I deleted everything I kept about you.")
    assert annas_rows(world)["appointments"] == 0
