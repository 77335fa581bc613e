"""What the bot shows of costs and opening hours: the estimate on the summary card, the refusal once the month's
call minutes are used up (in the user's language), and the live view's line about providers that open later."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot import buttons, views
from bot.conversation import Conversation
from bot.replies import Person, RecordingChat, Reply
from domain.models import CallOutcome, CallPurpose, CallStatus, CallTask, CampaignStatus
from domain.notifications import CampaignProgress
from domain.services.context import Policy
from integrations.directory import GazetteerGeocoder
from integrations.intent import OfflineIntentParser
from tests.factories import make_campaign, make_provider
from tests.fakes import FakeClock, FakeWorld

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 26, 9, 0, tzinfo=BERLIN)
ANNA = Person(7, "Anna", "en")
REQUEST = "I need a dentist next Tuesday afternoon near Alexanderplatz"
GERMAN = "Zahnarzt nächsten Dienstag nachmittag am Alexanderplatz"


def world(policy: Policy) -> FakeWorld:
    return FakeWorld(clock=FakeClock(NOW), providers=[make_provider("smile"), make_provider("teeth")], policy=policy)


def talk(fakes: FakeWorld) -> Conversation:
    return Conversation(fakes.ports, OfflineIntentParser(), GazetteerGeocoder(), calls_per_campaign=8)


def go_of(card: Reply) -> str:
    return next(d for d in card.button_data() if d.startswith(f"{buttons.GO}:"))


async def test_the_summary_card_shows_what_the_search_may_cost_before_it_starts() -> None:
    fakes = world(Policy(expected_call_minutes=2.0, call_cost_per_minute=0.15, call_cost_currency="EUR"))
    chat = RecordingChat()

    await talk(fakes).text(chat, ANNA, REQUEST)
    english = chat.replies[-1].text
    await talk(fakes).text(chat, Person(8, "Jonas", "de"), GERMAN)
    german = chat.replies[-1].text

    # the cost, then what the agent may share about the user (nothing, without a profile), then the expert's
    # question, then the card's own question
    assert "💶 About 18 call minutes (≈ 2.70 EUR) for up to 8 calls.\n🤝 The agent shares nothing" in english
    assert "wants to know.\n\nThe dentist will likely ask" in english
    assert english.endswith("\n\nShall I call providers for you?")
    assert "💶 Etwa 18 Anrufminuten (≈ 2,70 EUR) für bis zu 8 Anrufe.\n🤝 Der Agent gibt nichts" in german
    assert "etwas wissen will.\n\nDanach wird man beim" in german
    assert german.endswith("\n\nSoll ich Anbieter für dich anrufen?")


async def test_used_up_minutes_stop_the_search_with_a_sentence_in_the_users_language() -> None:
    fakes = world(Policy(call_minutes_per_month=3, campaigns_per_hour=50))
    chat, conversation = RecordingChat(), talk(fakes)
    await conversation.text(chat, ANNA, REQUEST)
    await conversation.tap(chat, ANNA, go_of(chat.replies[-1]))
    await conversation.background.drain()  # the campaign runs outside the tap
    assert len(fakes.voice.placed) == 2
    for request in fakes.voice.placed:  # both calls talk for two minutes
        async with fakes.ports.uow() as uow:
            call = await uow.calls.get(request.call.id)
            assert call is not None
            call.advance(CallStatus.IN_PROGRESS, NOW)
            call.end(CallStatus.COMPLETED, NOW + timedelta(minutes=2))
            await uow.calls.save(call)
            await uow.commit()

    await conversation.text(chat, ANNA, REQUEST)
    await conversation.tap(chat, ANNA, go_of(chat.replies[-1]))
    refused = chat.replies[-1].text
    jonas = Person(7, "Jonas", "de")
    await conversation.text(chat, jonas, GERMAN)
    await conversation.tap(chat, jonas, go_of(chat.replies[-1]))

    assert refused == (
        "Your 3 call minutes for this month are used up (4 used), so I cannot start a new search until the 1st of "
        "next month."
    )
    assert chat.replies[-1].text.startswith("Deine 3 Anrufminuten für diesen Monat sind aufgebraucht (4 verbraucht)")
    assert len(fakes.store.tables["campaigns"]) == 1


def _call(provider_id: str, campaign_id: str, *, status: CallStatus, not_before: datetime | None = None) -> CallTask:
    return CallTask(
        campaign_id=campaign_id,
        provider=make_provider(provider_id, name=f"Praxis {provider_id}"),
        purpose=CallPurpose.DISCOVER,
        token_hash=provider_id,
        created_at=NOW,
        timeout_at=NOW + timedelta(minutes=10),
        status=status,
        not_before=not_before,
    )


def test_the_live_view_says_who_opens_when_who_is_tried_again_and_who_is_closed() -> None:
    eight = NOW.replace(hour=8) + timedelta(days=1)
    for language, opening, one, states in (
        (
            "en",
            "2 providers open at 08:00: I call them then.",
            "Praxis d opens at 08:30: I call then.",
            [
                "talking",
                "opens at 08:00",
                "opens at 08:00",
                "opens at 08:30",
                "voicemail, calling again at 08:00",
                "closed until after the search",
            ],
        ),
        (
            "de",
            "2 Anbieter öffnen um 08:00: Ich rufe sie dann an.",
            "Praxis d öffnet um 08:30: Ich rufe dann an.",
            [
                "im Gespräch",
                "öffnet um 08:00",
                "öffnet um 08:00",
                "öffnet um 08:30",
                "Mailbox, neuer Versuch um 08:00",
                "geschlossen, bis die Suche vorbei ist",
            ],
        ),
    ):
        campaign = make_campaign(NOW, language=language, status=CampaignStatus.NEGOTIATING)
        voicemail = _call("e", campaign.id, status=CallStatus.COMPLETED)
        voicemail.outcome = CallOutcome.VOICEMAIL
        closed = _call("f", campaign.id, status=CallStatus.CANCELLED)
        closed.outcome = CallOutcome.CLOSED
        calls = [
            _call("a", campaign.id, status=CallStatus.IN_PROGRESS),
            _call("b", campaign.id, status=CallStatus.QUEUED, not_before=eight),
            _call("c", campaign.id, status=CallStatus.QUEUED, not_before=eight),
            _call("d", campaign.id, status=CallStatus.QUEUED, not_before=eight + timedelta(minutes=30)),
            voicemail,
            _call("e", campaign.id, status=CallStatus.QUEUED, not_before=eight),  # its retry
            closed,
        ]

        text = views.live_view(CampaignProgress(campaign, calls, [])).text

        lines = text.splitlines()
        assert [line.split(" – ")[1] for line in lines if line.startswith("• ")] == states
        assert opening in lines and one in lines
        assert sum(line.startswith("• Praxis e") for line in lines) == 1  # one line per provider
