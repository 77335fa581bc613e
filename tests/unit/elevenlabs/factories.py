"""Domain objects for the ElevenLabs adapter tests, built directly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from domain.models import CallPurpose, CallTask, Campaign, GeoPoint, Provider, TimeWindow
from domain.ports import CallRequest

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
BERLIN = GeoPoint(52.5219, 13.4132, "Alexanderplatz")
TOKEN = "tok_3f9c2a77e1b84d0c9a55d2e6b1c0f4aa"
# Tuesday 1 December 2026, 12:00-17:00 and Wednesday 2 December, 09:00-12:00, Berlin time (UTC+1).
TUESDAY_AFTERNOON = TimeWindow(datetime(2026, 12, 1, 11, 0, tzinfo=UTC), datetime(2026, 12, 1, 16, 0, tzinfo=UTC))
WEDNESDAY_MORNING = TimeWindow(datetime(2026, 12, 2, 8, 0, tzinfo=UTC), datetime(2026, 12, 2, 11, 0, tzinfo=UTC))
SLOT = TimeWindow(datetime(2026, 12, 1, 13, 30, tzinfo=UTC), datetime(2026, 12, 1, 14, 0, tzinfo=UTC))


def provider(name: str = "Praxis Dr. Weiss", phone: str = "+4930111222333") -> Provider:
    return Provider(id=f"p-{name}", name=name, service="dentist", phone=phone, location=BERLIN, rating=4.6)


def campaign(language: str = "en") -> Campaign:
    return Campaign(
        user_id=7,
        service="dentist",
        windows=[WEDNESDAY_MORNING, TUESDAY_AFTERNOON],
        location=BERLIN,
        timezone="Europe/Berlin",
        created_at=NOW,
        deadline_at=NOW + timedelta(minutes=20),
        language=language,
        duration_minutes=30,
    )


def call_request(
    purpose: CallPurpose = CallPurpose.DISCOVER,
    *,
    to: Provider | None = None,
    language: str = "en",
    target_slot: TimeWindow | None = None,
    token: str = TOKEN,
) -> CallRequest:
    the_campaign = campaign(language)
    call = CallTask(
        campaign_id=the_campaign.id,
        provider=to or provider(),
        purpose=purpose,
        token_hash="0" * 64,
        created_at=NOW,
        timeout_at=NOW + timedelta(minutes=10),
    )
    return CallRequest(call=call, campaign=the_campaign, token=token, target_slot=target_slot)
