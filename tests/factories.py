"""Small builders for domain objects in tests."""

from __future__ import annotations

import zlib
from datetime import datetime, timedelta
from typing import Any

from domain.models import Campaign, GeoPoint, Provider, TimeWindow

ALEXANDERPLATZ = GeoPoint(52.5219, 13.4132, "Alexanderplatz")


def make_provider(
    provider_id: str,
    *,
    rating: float | None = 4.5,
    lat: float = 52.5250,
    lng: float = 13.4090,
    service: str = "dentist",
    name: str | None = None,
) -> Provider:
    return Provider(
        id=provider_id,
        name=name or f"Provider {provider_id}",
        service=service,
        # stable across runs (str hashes are not): a practice's records are kept by its number
        phone=f"+4930555{zlib.crc32(provider_id.encode()) % 1_000_000:06d}",
        location=GeoPoint(lat, lng),
        address=f"Street {provider_id}, Berlin",
        rating=rating,
    )


def make_campaign(now: datetime, **overrides: Any) -> Campaign:
    window = TimeWindow(now + timedelta(days=1), now + timedelta(days=1, hours=5))
    values: dict[str, Any] = {
        "user_id": 7,
        "service": "dentist",
        "windows": [window],
        "location": ALEXANDERPLATZ,
        "timezone": "Europe/Berlin",
        "created_at": now,
        "deadline_at": now + timedelta(minutes=20),
    }
    values.update(overrides)
    return Campaign(**values)
