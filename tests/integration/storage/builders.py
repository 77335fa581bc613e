"""Domain objects with sensible defaults for storage tests (every argument can be overridden), and the
committed parent rows most tests need."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from domain.models import (
    Appointment,
    CallPurpose,
    CallTask,
    Campaign,
    GeoPoint,
    Offer,
    Provider,
    TimeWindow,
    new_id,
)
from domain.ports import UnitOfWorkFactory

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2030, 3, 4, 9, 30, 15, 123456, tzinfo=BERLIN)
USER_ID = 7_000_000_001  # beyond 32 bits, as Telegram ids are


def provider(**overrides: Any) -> Provider:
    values: dict[str, Any] = {
        "id": "prov-1",
        "name": "Praxis Dr. Sommer",
        "service": "dentist",
        "phone": "+4930123456",
        "location": GeoPoint(52.5219, 13.4132, "Alexanderplatz"),
        "address": "Alexanderplatz 1, Berlin",
        "rating": 4.6,
        "review_count": 210,
    }
    return Provider(**(values | overrides))


def campaign(**overrides: Any) -> Campaign:
    values: dict[str, Any] = {
        "user_id": USER_ID,
        "service": "dentist",
        "windows": [TimeWindow(NOW + timedelta(days=1, hours=5), NOW + timedelta(days=1, hours=9))],
        "location": GeoPoint(52.5219, 13.4132, "Alexanderplatz"),
        "timezone": "Europe/Berlin",
        "created_at": NOW,
        "deadline_at": NOW + timedelta(minutes=20),
    }
    return Campaign(**(values | overrides))


def call(campaign_id: str, **overrides: Any) -> CallTask:
    values: dict[str, Any] = {
        "campaign_id": campaign_id,
        "provider": provider(),
        "purpose": CallPurpose.DISCOVER,
        "token_hash": new_id(),
        "created_at": NOW,
        "timeout_at": NOW + timedelta(minutes=10),
    }
    return CallTask(**(values | overrides))


def offer(campaign_id: str, call_task_id: str, start: datetime = NOW + timedelta(days=1), **overrides: Any) -> Offer:
    values: dict[str, Any] = {
        "campaign_id": campaign_id,
        "call_task_id": call_task_id,
        "provider_id": "prov-1",
        "provider_name": "Praxis Dr. Sommer",
        "start": start,
        "end": start + timedelta(minutes=30),
        "score": 0.8125,
        "rating": 4.6,
        "distance_km": 1.25,
        "created_at": NOW,
    }
    return Offer(**(values | overrides))


def appointment(campaign_id: str, offer_id: str, start: datetime, minutes: int = 30, **overrides: Any) -> Appointment:
    values: dict[str, Any] = {
        "user_id": USER_ID,
        "campaign_id": campaign_id,
        "offer_id": offer_id,
        "provider": provider(),
        "start": start,
        "end": start + timedelta(minutes=minutes),
        "created_at": NOW,
    }
    return Appointment(**(values | overrides))


async def store_campaign_with_call(uow_factory: UnitOfWorkFactory) -> tuple[Campaign, CallTask]:
    """A committed campaign and one call of it."""
    stored_campaign = campaign()
    stored_call = call(stored_campaign.id)
    async with uow_factory() as uow:
        await uow.campaigns.add(stored_campaign)
        await uow.calls.add(stored_call)
        await uow.commit()
    return stored_campaign, stored_call


async def store_offers(uow_factory: UnitOfWorkFactory, count: int) -> tuple[Campaign, list[Offer]]:
    """A committed campaign, one call and ``count`` offers of it, half an hour apart."""
    stored_campaign, stored_call = await store_campaign_with_call(uow_factory)
    offers = [
        offer(stored_campaign.id, stored_call.id, start=NOW + timedelta(days=1, minutes=30 * i)) for i in range(count)
    ]
    async with uow_factory() as uow:
        for each in offers:
            await uow.offers.add(each)
        await uow.commit()
    return stored_campaign, offers
