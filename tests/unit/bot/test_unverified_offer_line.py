"""The shortlist says, under its line, that an offer is not supported by the receptionist's words (EN/DE)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.views import shortlist
from domain.models import Offer, OfferGrounding
from tests.factories import make_campaign

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def _offer(campaign_id: str, name: str, hour: int, grounding: OfferGrounding) -> Offer:
    start = NOW.replace(hour=hour) + timedelta(days=1)
    offer = Offer(campaign_id, "call", name, name, start, start + timedelta(minutes=30), 0.5, 4.0, 1.0, NOW)
    offer.grounding = grounding
    return offer


@pytest.mark.parametrize(
    ("language", "warning"),
    [("en", "⚠️ unverified: the receptionist never named this time"), ("de", "⚠️ nicht belegt: die Praxis")],
)
def test_only_the_unverified_offer_carries_the_warning(language: str, warning: str) -> None:
    campaign = make_campaign(NOW, language=language)
    offers = [
        _offer(campaign.id, "Said Dental", 10, OfferGrounding.VERIFIED),
        _offer(campaign.id, "Unchecked Dental", 11, OfferGrounding.PENDING),
        _offer(campaign.id, "Made Up Dental", 12, OfferGrounding.UNVERIFIED),
    ]

    lines = shortlist(campaign, offers).text.splitlines()

    assert sum(warning in line for line in lines) == 1
    flagged = next(i for i, line in enumerate(lines) if warning in line)
    assert "Made Up Dental" in lines[flagged - 2]  # right under its own two lines
