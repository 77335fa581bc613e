"""The shared conversation with fakes behind the ports: intake, summary, campaign, shortlist, safety rules."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot import buttons
from bot.conversation import Conversation
from bot.replies import MAX_CALLBACK_BYTES, Person, RecordingChat, Reply
from domain.models import CallOutcome, CampaignStatus, OfferStatus
from domain.notifications import CampaignCancelled, ShortlistReady
from domain.services.context import Policy
from domain.services.tool_calls import end_call, open_call, report_offer
from integrations.directory import GazetteerGeocoder
from integrations.intent import OfflineIntentParser
from tests.factories import make_provider
from tests.fakes import FakeClock, FakeWorld

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 26, 9, 0, tzinfo=BERLIN)  # a Thursday
ANNA = Person(7, "Anna", "en")
REQUEST = "I need a dentist next Tuesday afternoon near Alexanderplatz"


@pytest.fixture
def world() -> FakeWorld:
    return FakeWorld(
        clock=FakeClock(NOW),
        providers=[
            make_provider("smile", name="Smile <Dental> Mitte", rating=4.7, lat=52.5250, lng=13.4090),
            make_provider("teeth", name="Teeth & Co", rating=4.1, lat=52.5200, lng=13.4200),
        ],
    )


def conversation(world: FakeWorld, **options: object) -> Conversation:
    return Conversation(world.ports, OfflineIntentParser(), GazetteerGeocoder(), **options)  # type: ignore[arg-type]


def last(chat: RecordingChat) -> Reply:
    return chat.replies[-1]


def data_of(reply: Reply, action: str) -> str:
    return next(d for d in reply.button_data() if d.startswith(f"{action}:"))


async def summary(world: FakeWorld, chat: RecordingChat, talk: Conversation) -> Reply:
    await talk.text(chat, ANNA, REQUEST)
    return last(chat)


async def test_a_complete_request_gets_a_summary_card(world: FakeWorld) -> None:
    chat = RecordingChat()
    card = await summary(world, chat, conversation(world))
    assert "<b>Dentist</b>" in card.text
    assert "Tuesday 1 December between 12:00 and 17:00" in card.text
    assert "Alexanderplatz" in card.text and "within 10 km" in card.text
    assert "soonest 50% · rating 30% · distance 20%" in card.text
    # the card's own buttons first, then the dentist expert's first question, with a way to skip it
    labels = [b.label for row in card.buttons for b in row]
    assert labels == ["📞 Call providers", "✏️ Change", "Cancel", "Check-up", "Cleaning", "Pain", "Skip"]
    assert all(len(d.encode()) <= MAX_CALLBACK_BYTES for d in card.button_data())
    assert chat.typing_shown == 1


async def test_only_missing_pieces_are_asked_for(world: FakeWorld) -> None:
    chat, talk = RecordingChat(), conversation(world)
    await talk.text(chat, ANNA, "tomorrow afternoon please")
    assert last(chat).text.startswith("Which kind of provider should I call?")
    await talk.text(chat, ANNA, "a dentist")
    question = last(chat)
    assert question.text.startswith("Where should I search?")
    assert question.keys[0].shares_location
    await talk.text(chat, ANNA, "Narnia")
    assert "I could not find <b>Narnia</b>" in last(chat).text
    await talk.location(chat, ANNA, 52.5219, 13.4132)
    card = last(chat)
    assert "Friday 27 November between 12:00 and 17:00" in card.text
    assert "your location" in card.text


async def test_the_conversation_state_lives_in_the_database(world: FakeWorld) -> None:
    chat = RecordingChat()
    await conversation(world).text(chat, ANNA, "dentist tomorrow")
    await conversation(world).text(chat, ANNA, "Marienplatz")  # a new process picks the chat up
    assert "Marienplatz" in last(chat).text and "Call providers" in last(chat).buttons[0][0].label


async def test_a_german_request_gets_german_questions_and_summary(world: FakeWorld) -> None:
    chat, talk = RecordingChat(), conversation(world)
    await talk.text(chat, ANNA, "Zahnarzt morgen nachmittag")
    assert last(chat).text.startswith("Wo soll ich suchen?")
    assert last(chat).keys[0].label == "📍 Standort teilen"
    await talk.text(chat, ANNA, "Alexanderplatz")
    card = last(chat)
    assert "<b>Zahnarzt</b>" in card.text
    assert "Freitag, 27. November zwischen 12:00 und 17:00" in card.text
    assert "Soll ich Anbieter für dich anrufen?" in card.text
    assert card.buttons[0][0].label == "📞 Anbieter anrufen"


async def test_user_text_is_escaped(world: FakeWorld) -> None:
    chat = RecordingChat()
    await conversation(world).text(chat, ANNA, "dentist tomorrow near <b>nowhere</b>")
    assert "&lt;b&gt;nowhere&lt;/b&gt;" in last(chat).text


async def test_calling_providers_starts_the_campaign_once(world: FakeWorld) -> None:
    chat, talk = RecordingChat(), conversation(world)
    card = await summary(world, chat, talk)
    go = data_of(card, buttons.GO)
    assert await talk.tap(chat, ANNA, go) is None
    assert last(chat).replace and "Calling providers now" in last(chat).text
    await talk.background.drain()  # the campaign runs outside the tap
    assert sorted(r.call.provider.id for r in world.voice.placed) == ["smile", "teeth"]
    assert await talk.tap(chat, ANNA, go) == "This button has expired."
    assert len(world.store.tables["campaigns"]) == 1


async def test_changing_one_field_keeps_the_rest_and_expires_the_old_card(world: FakeWorld) -> None:
    chat, talk = RecordingChat(), conversation(world)
    card = await summary(world, chat, talk)
    await talk.tap(chat, ANNA, data_of(card, buttons.CHANGE))
    await talk.tap(chat, ANNA, buttons.draft(buttons.EDIT, card.button_data()[0].split(":")[1], "t"))
    await talk.text(chat, ANNA, "next Wednesday morning")
    new_card = last(chat)
    assert "Wednesday 2 December between 08:00 and 12:00" in new_card.text
    assert "Alexanderplatz" in new_card.text
    assert await talk.tap(chat, ANNA, data_of(card, buttons.GO)) == "This button has expired."
    assert not world.store.tables["campaigns"]


async def test_quota_stops_the_next_campaign_with_a_clear_message(world: FakeWorld) -> None:
    world.policy = Policy(campaigns_per_hour=1)
    chat, talk = RecordingChat(), conversation(world)
    await talk.tap(chat, ANNA, data_of(await summary(world, chat, talk), buttons.GO))
    await talk.background.drain()  # the campaign runs outside the tap
    await talk.tap(chat, ANNA, data_of(await summary(world, chat, talk), buttons.GO))
    await talk.background.drain()  # the campaign runs outside the tap
    assert last(chat).text.startswith("You have started 1 searches in the last hour")
    assert len(world.store.tables["campaigns"]) == 1


async def test_only_allowed_users_may_start_campaigns(world: FakeWorld) -> None:
    chat = RecordingChat()
    await conversation(world, allowed_users=[99]).text(chat, ANNA, REQUEST)
    assert "only places calls for the people it was set up for" in last(chat).text
    assert "(7)" in last(chat).text


async def offers_in(world: FakeWorld, chat: RecordingChat, talk: Conversation) -> ShortlistReady:
    """Run a campaign in which both providers offer a slot (the test plays their agents)."""
    await talk.tap(chat, ANNA, data_of(await summary(world, chat, talk), buttons.GO))
    await talk.background.drain()  # the campaign runs outside the tap
    for provider, hour in (("smile", 14), ("teeth", 15)):
        ctx = await open_call(world.ports, world.voice.token_for(provider))
        await report_offer(world.ports, ctx, datetime(2026, 12, 1, hour, 0, tzinfo=BERLIN))
        await end_call(world.ports, ctx, CallOutcome.OFFER_MADE)
    ready: ShortlistReady = world.outbox.of_type(ShortlistReady)[0]
    return ready


async def test_book_asks_the_provider_to_confirm(world: FakeWorld) -> None:
    chat, talk = RecordingChat(), conversation(world)
    ready = await offers_in(world, chat, talk)
    best = ready.shortlist[0]
    assert await talk.tap(chat, ANNA, buttons.offer(buttons.BOOK, best.id)) is None
    assert "Calling <b>Smile &lt;Dental&gt; Mitte</b> to book Tue 1 Dec 14:00–14:30" in last(chat).text
    assert world.voice.placed[-1].call.purpose == "CONFIRM"
    assert world.store.tables["offers"][best.id].status is OfferStatus.CHOSEN
    # Tapping Book again (or another offer) while confirming changes nothing.
    assert await talk.tap(chat, ANNA, buttons.offer(buttons.BOOK, ready.shortlist[1].id)) == "This button has expired."


async def test_forged_and_foreign_buttons_expire_and_change_nothing(world: FakeWorld) -> None:
    chat, talk = RecordingChat(), conversation(world)
    ready = await offers_in(world, chat, talk)
    mallory = Person(666, "Mallory")
    offer_id, campaign_id = ready.shortlist[0].id, ready.campaign.id
    for data in (
        buttons.offer(buttons.BOOK, offer_id),
        buttons.offer(buttons.TRANSCRIPT, offer_id),
        buttons.campaign(buttons.STOP, campaign_id),
        buttons.campaign(buttons.DISMISS, campaign_id),
        buttons.campaign(buttons.AGAIN, campaign_id),
    ):
        assert await talk.tap(RecordingChat(), mallory, data) == "This button has expired.", data
    for data in ("book:" + "0" * 32, "nonsense", "w:gold", "go:deadbeef"):
        assert await talk.tap(chat, ANNA, data) == "This button has expired.", data
    assert world.store.tables["campaigns"][campaign_id].status is CampaignStatus.RANKING
    assert all(o.status is OfferStatus.OFFERED for o in world.store.tables["offers"].values())


async def test_transcript_shows_the_call(world: FakeWorld) -> None:
    chat, talk = RecordingChat(), conversation(world)
    ready = await offers_in(world, chat, talk)
    await talk.tap(chat, ANNA, buttons.offer(buttons.TRANSCRIPT, ready.shortlist[0].id))
    assert last(chat).text == "There is no transcript of that call."


async def test_cancel_stops_the_running_campaign(world: FakeWorld) -> None:
    chat, talk = RecordingChat(), conversation(world)
    await talk.tap(chat, ANNA, data_of(await summary(world, chat, talk), buttons.GO))
    await talk.background.drain()  # the campaign runs outside the tap
    await talk.cancel(chat, ANNA)
    assert world.outbox.of_type(CampaignCancelled)
    assert len(world.voice.hung_up) == 2
    await talk.cancel(chat, ANNA)
    assert last(chat).text == "There is nothing to cancel right now."


async def test_settings_change_the_users_weights(world: FakeWorld) -> None:
    chat, talk = RecordingChat(), conversation(world)
    await talk.settings(chat, ANNA)
    assert "(Balanced)" in last(chat).text
    assert await talk.tap(chat, ANNA, buttons.setting(buttons.PRESET, "closest")) is None
    assert "(Closest)" in last(chat).text and last(chat).replace
    assert world.store.tables["users"][7].weights.distance == pytest.approx(0.7)


async def test_appointments_list_is_empty_at_first(world: FakeWorld) -> None:
    chat = RecordingChat()
    await conversation(world).appointments(chat, ANNA)
    assert last(chat).text == "You have no upcoming appointments."


async def test_past_times_are_asked_again(world: FakeWorld) -> None:
    chat, talk = RecordingChat(), conversation(world)
    card = await summary(world, chat, talk)
    world.clock.advance(timedelta(days=10))
    await talk.tap(chat, ANNA, data_of(card, buttons.GO))
    await talk.background.drain()  # the campaign runs outside the tap
    assert last(chat).text.startswith("Every time you gave is already in the past.")


async def test_connect_calendar_sends_the_link_or_says_it_is_not_set_up(world: FakeWorld) -> None:
    chat = RecordingChat()
    await conversation(world).connect_calendar(chat, ANNA)
    assert "not set up" in last(chat).text
    links: list[int] = []

    def link(user_id: int) -> str:
        links.append(user_id)
        return f"https://nexus.example/oauth/google/start?state=s{user_id}"

    await conversation(world, calendar_link=link).connect_calendar(chat, ANNA)
    assert links == [ANNA.user_id]
    assert 'href="https://nexus.example/oauth/google/start?state=s7"' in last(chat).text


async def test_disconnect_calendar_forgets_the_link(world: FakeWorld) -> None:
    from domain.models import CalendarLink

    chat = RecordingChat()
    async with world.ports.uow() as uow:
        await uow.calendar_links.save(CalendarLink(ANNA.user_id, "google", "secret", NOW))
        await uow.commit()
    await conversation(world).disconnect_calendar(chat, ANNA)
    assert "disconnected" in last(chat).text
    assert world.store.tables["calendar_links"] == {}
    await conversation(world).disconnect_calendar(chat, ANNA)
    assert "No calendar is connected" in last(chat).text
