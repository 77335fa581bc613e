"""Keep looking, widen, watch for an earlier slot, swap and reschedule, as the user sees and taps them."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot import buttons, views
from bot.conversation import Conversation
from bot.replies import MAX_CALLBACK_BYTES, Person, RecordingChat, Reply
from domain.models import CallOutcome, CallPurpose, CampaignStatus, User
from domain.notifications import Booked, CampaignFailed, Notification, RoundEvent, RoundNews, ShortlistReady
from domain.services.sweeps import sweep
from domain.services.tool_calls import book_slot, end_call, open_call, report_offer
from integrations.directory import GazetteerGeocoder
from integrations.intent import OfflineIntentParser
from tests.factories import make_provider
from tests.fakes import FakeClock, FakeWorld

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 26, 9, 0, tzinfo=BERLIN)  # a Thursday
ANNA = Person(7, "Anna", "en")
REQUEST = "I need a dentist next Tuesday afternoon near Alexanderplatz"
TUESDAY_AT_3 = datetime(2026, 12, 1, 15, 0, tzinfo=BERLIN)


@pytest.fixture
def world() -> FakeWorld:
    return FakeWorld(
        clock=FakeClock(NOW),
        providers=[
            make_provider("smile", name="Smile Dental", rating=4.9, lat=52.5250, lng=13.4090),
            make_provider("teeth", name="Teeth & Co", rating=3.9, lat=52.5300, lng=13.4000),
        ],
    )


def conversation(world: FakeWorld) -> Conversation:
    return Conversation(world.ports, OfflineIntentParser(), GazetteerGeocoder())


def shown(world: FakeWorld, notification: Notification) -> Reply:
    reply = views.notification_reply(notification, User(7), world.clock.now())
    assert reply is not None
    assert all(len(d.encode()) <= MAX_CALLBACK_BYTES for d in reply.button_data())
    return reply


def data_of(reply: Reply, action: str) -> list[str]:
    return [d for d in reply.button_data() if d.startswith(f"{action}:")]


async def searched(world: FakeWorld, chat: RecordingChat, talk: Conversation) -> None:
    await talk.text(chat, ANNA, REQUEST)
    await talk.tap(chat, ANNA, next(d for d in chat.replies[-1].button_data() if d.startswith("go:")))
    await talk.background.drain()


async def end(world: FakeWorld, provider: str, outcome: CallOutcome, offer: datetime | None = None) -> None:
    ctx = await open_call(world.ports, world.voice.token_for(provider))
    if offer is not None:
        await report_offer(world.ports, ctx, offer)
    await end_call(world.ports, ctx, outcome)


async def test_nothing_fits_offers_keep_looking_and_widening_and_says_who_may_phone(world: FakeWorld) -> None:
    chat, talk = RecordingChat(), conversation(world)
    await searched(world, chat, talk)
    await end(world, "smile", CallOutcome.WAITLISTED)
    await end(world, "teeth", CallOutcome.NO_AVAILABILITY)
    [failed] = world.outbox.of_type(CampaignFailed)

    reply = shown(world, failed)
    assert [b.label for row in reply.buttons for b in row] == [
        "🔎 Keep looking",
        "Widen: +1 week",
        "Widen: +5 km",
        "Widen: any time of day",
    ]
    assert await talk.tap(chat, ANNA, data_of(reply, buttons.WIDEN)[0]) is None  # +1 week

    async with world.ports.uow() as uow:
        campaign = await uow.campaigns.get(failed.campaign.id)
    assert campaign is not None and campaign.status is CampaignStatus.WAITING
    assert campaign.windows[-1].start == failed.campaign.windows[-1].start + timedelta(days=7)
    [looking] = [n for n in world.outbox.of_type(RoundNews) if n.event is RoundEvent.LOOKING]
    text = shown(world, looking).text
    assert "keep looking" in text and "Next round of calls: Fri 27 Nov 08:00." in text
    assert "waiting list of Smile Dental, +49" in text and "may phone you directly" in text
    looking.campaign.language = "de"  # a search asked for in German is told in German
    german = shown(world, looking).text
    assert "Ich suche weiter" in german and "Warteliste von Smile Dental" in german


async def booked_at_teeth(world: FakeWorld, chat: RecordingChat, talk: Conversation) -> Booked:
    await searched(world, chat, talk)
    await end(world, "teeth", CallOutcome.OFFER_MADE, offer=datetime(2026, 12, 1, 16, 0, tzinfo=BERLIN))
    await end(world, "smile", CallOutcome.NO_AVAILABILITY)
    [shortlist] = world.outbox.of_type(ShortlistReady)
    offer = shortlist.shortlist[0]
    assert await talk.tap(chat, ANNA, f"{buttons.BOOK}:{offer.id}") is None
    ctx = await open_call(world.ports, world.voice.token_for("teeth", "CONFIRM"))
    await book_slot(world.ports, ctx, offer.start)
    [booked] = world.outbox.of_type(Booked)
    return booked


async def test_after_booking_the_user_can_watch_for_an_earlier_slot_and_swap_it_in(world: FakeWorld) -> None:
    chat, talk = RecordingChat(), conversation(world)
    booked = await booked_at_teeth(world, chat, talk)
    reply = shown(world, booked)
    [watch] = data_of(reply, buttons.WATCH)
    assert "🔔 Tell me if something earlier opens" in [b.label for row in reply.buttons for b in row]

    assert await talk.tap(chat, ANNA, watch) is None
    choices = chat.replies[-1]
    assert "Until when" in choices.text
    labels = [b.label for row in choices.buttons for b in row]
    assert labels == ["For 1 day(s)", "For 3 day(s)", "Until the appointment"]
    assert await talk.tap(chat, ANNA, data_of(choices, buttons.WATCH_UNTIL)[-1]) is None

    world.clock.current = datetime(2026, 11, 27, 8, 0, tzinfo=BERLIN)
    await sweep(world.ports)
    await end(world, "smile", CallOutcome.OFFER_MADE, offer=TUESDAY_AT_3)
    [earlier] = [n for n in world.outbox.of_type(RoundNews) if n.event is RoundEvent.EARLIER]
    offered = shown(world, earlier)
    assert "Earlier slot:</b> Smile Dental" in offered.text and "Yours: Teeth &amp; Co" in offered.text
    assert [b.label for row in offered.buttons for b in row] == ["Swap", "Keep mine"]

    assert await talk.tap(chat, ANNA, data_of(offered, buttons.SWAP)[0]) is None

    assert "cancelled once that is booked" in chat.replies[-1].text
    assert [r.call.provider.id for r in world.voice.placed if r.call.purpose is CallPurpose.CONFIRM][-1] == "smile"
    assert not [r for r in world.voice.placed if r.call.purpose is CallPurpose.CANCEL]


async def test_reschedule_asks_for_new_times_in_words_and_calls_the_same_provider(world: FakeWorld) -> None:
    chat, talk = RecordingChat(), conversation(world)
    await booked_at_teeth(world, chat, talk)
    await talk.appointments(chat, ANNA)
    [reschedule] = data_of(chat.replies[-1], buttons.RESCHEDULE)

    assert await talk.tap(chat, ANNA, reschedule) is None
    assert chat.replies[-1].text.startswith("When would suit you instead of")
    await talk.text(chat, ANNA, "blue")
    assert "could not read a time" in chat.replies[-1].text
    await talk.text(chat, ANNA, "Wednesday afternoon")

    assert "Calling Teeth &amp; Co to move your appointment" in chat.replies[-1].text
    call = world.voice.placed[-1]
    assert call.call.purpose is CallPurpose.RESCHEDULE and call.call.provider.id == "teeth"
    assert call.campaign.windows[0].start.astimezone(BERLIN).strftime("%a %H:%M") == "Wed 12:00"
    await talk.text(chat, ANNA, "Thursday afternoon")  # the question was answered: a new request now
    assert [r.call.purpose for r in world.voice.placed].count(CallPurpose.RESCHEDULE) == 1
