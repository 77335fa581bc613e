"""What the user reads when a confirmation call did not get through and NEXUS tries again."""

from datetime import UTC, datetime, timedelta

import pytest

from bot.views import notification_reply
from domain.models import Offer, User
from domain.notifications import ConfirmationRetrying
from tests.factories import make_campaign

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
SLOT_START = datetime(2026, 12, 1, 13, 30, tzinfo=UTC)  # 14:30 in Berlin


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        (
            "en",
            "📞 I could not get through to Praxis <Weiss> to book Tue 1 Dec 14:30–15:00. I will try again at 10:03.",
        ),
        (
            "de",
            "📞 Ich habe Praxis <Weiss> nicht erreicht, um Di 1. Dez 14:30–15:00 zu buchen. "
            "Ich versuche es um 10:03 Uhr noch einmal.",
        ),
    ],
)
def test_the_user_hears_that_the_booking_call_is_tried_again(language: str, expected: str) -> None:
    campaign = make_campaign(NOW, language=language)
    offer = Offer(
        campaign_id=campaign.id,
        call_task_id="call-1",
        provider_id="p1",
        provider_name="Praxis <Weiss>",
        start=SLOT_START,
        end=SLOT_START + timedelta(minutes=30),
        score=0.7,
        rating=4.5,
        distance_km=1.0,
        created_at=NOW,
    )
    notification = ConfirmationRetrying(campaign, offer, 2, NOW + timedelta(minutes=3))

    reply = notification_reply(notification, User(id=7, language=language), NOW)

    assert reply is not None
    assert reply.text == expected.replace("<Weiss>", "&lt;Weiss&gt;")
