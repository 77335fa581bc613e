"""The live view and the shortlist say which practices were not called and why, in English and German."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot import views
from domain.models import CallOutcome, CallPurpose, CallStatus, CallTask, CampaignStatus, Offer
from domain.notifications import CampaignProgress, PassedOver, ShortlistReady
from domain.services.provider_gate import Skipped, SkipReason, passed_over, skip_note
from domain.services.tokens import hash_token
from storage.messages import from_json, to_json
from tests.factories import make_campaign, make_provider

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 26, 9, 0, tzinfo=BERLIN)
FULL_UNTIL = datetime(2026, 12, 14, 8, 0, tzinfo=BERLIN)


def _call(name: str, campaign_id: str, status: CallStatus, outcome: CallOutcome | None = None) -> CallTask:
    provider = make_provider(name, name=f"Praxis {name}")
    timeout = NOW + timedelta(minutes=10)
    return CallTask(
        campaign_id, provider, CallPurpose.DISCOVER, hash_token(name), NOW, timeout, status=status, outcome=outcome
    )


def _skipped(name: str, campaign_id: str, reason: SkipReason, until: datetime | None = None) -> CallTask:
    outcome = CallOutcome.OPTED_OUT if reason is SkipReason.OPTED_OUT else CallOutcome.SKIPPED
    call = _call(name, campaign_id, CallStatus.CANCELLED, outcome)
    call.failure_reason = skip_note(Skipped(call.provider, reason, until))
    return call


@pytest.mark.parametrize(
    ("language", "states", "note", "counts"),
    [
        (
            "en",
            [
                "talking",
                "did not want automated calls",
                "did not want automated calls",
                "called often enough today, not called",
                "called a moment ago, not called",
                "known: nothing free before Mon 14 Dec",
                "asked to be called after 20:00",
            ],
            "5 not called; I called the next ones in the ranking instead.",
            "0 offers · 1 talking · 1 of 2 calls ended",
        ),
        (
            "de",
            [
                "im Gespräch",
                "möchte keine automatischen Anrufe",
                "möchte keine automatischen Anrufe",
                "heute schon oft genug angerufen, nicht angerufen",
                "gerade erst angerufen, nicht angerufen",
                "bekannt: vor Mo 14. Dez nichts frei",
                "möchte erst nach 20:00 angerufen werden",
            ],
            "5 nicht angerufen; ich habe stattdessen die nächsten der Rangliste angerufen.",
            "0 Angebote · 1 im Gespräch · 1 von 2 Anrufen beendet",
        ),
    ],
)
def test_the_live_view_says_why_a_practice_was_not_called(
    language: str, states: list[str], note: str, counts: str
) -> None:
    campaign = make_campaign(NOW, language=language, status=CampaignStatus.NEGOTIATING)
    calls = [
        _call("a", campaign.id, CallStatus.IN_PROGRESS),
        _call("b", campaign.id, CallStatus.COMPLETED, CallOutcome.OPTED_OUT),  # said so in this call
        _skipped("c", campaign.id, SkipReason.OPTED_OUT),
        _skipped("d", campaign.id, SkipReason.OVER_BUDGET),
        _skipped("e", campaign.id, SkipReason.TOO_SOON),
        _skipped("f", campaign.id, SkipReason.KNOWN_FULL, FULL_UNTIL),
        _skipped("g", campaign.id, SkipReason.CALL_BACK_LATER, NOW.replace(hour=20)),
    ]

    lines = views.live_view(CampaignProgress(campaign, calls, [])).text.splitlines()

    assert [line.split(" – ")[1] for line in lines if line.startswith("• ")] == states
    assert note in lines
    assert lines[-1] == counts  # the providers not called are no calls


def test_the_shortlist_names_the_practices_it_did_not_call_and_survives_the_outbox() -> None:
    campaign = make_campaign(NOW, language="de", status=CampaignStatus.RANKING)
    calls = [
        _call("a", campaign.id, CallStatus.COMPLETED, CallOutcome.OFFER_MADE),
        _call("b", campaign.id, CallStatus.COMPLETED, CallOutcome.OPTED_OUT),
        _skipped("f", campaign.id, SkipReason.KNOWN_FULL, FULL_UNTIL),
    ]
    offer = Offer(
        campaign.id,
        calls[0].id,
        "a",
        "Praxis a",
        NOW + timedelta(days=1),
        NOW + timedelta(days=1, minutes=30),
        0.8,
        4.5,
        1.2,
        NOW,
    )
    ready = ShortlistReady(campaign, [offer], passed_over(calls))
    assert ready.passed_over == (
        PassedOver("Praxis b", "opted_out"),
        PassedOver("Praxis f", "known_full", FULL_UNTIL),
    )
    kind, payload = to_json(ready)
    stored = from_json(kind, payload)
    assert isinstance(stored, ShortlistReady)
    assert stored.passed_over == ready.passed_over

    text = views.shortlist(campaign, stored.shortlist, passed_over=stored.passed_over).text

    assert text.splitlines()[-1] == (
        "<i>Nicht angerufen: Praxis b (möchte keine automatischen Anrufe), "
        "Praxis f (bekannt: vor Mo 14. Dez nichts frei)</i>"
    )
    assert "Nicht angerufen" not in views.shortlist(campaign, [offer]).text
