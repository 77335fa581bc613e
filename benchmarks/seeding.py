"""Campaigns put in a known state through the real use cases, with the plain call tokens kept for an agent.

The voice gateway here places no call: it records each request's token, so a load generator or a test can
then act as the agent of any call over HTTP, exactly as a live voice agent would.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from domain.models import CallOutcome, CallPurpose, CallTask, GeoPoint, TimeWindow
from domain.ports import CallRequest, PlacedCall, UnitOfWorkFactory
from domain.services import tool_calls
from domain.services.campaigns import StartCampaign, create_campaign, run_campaign
from domain.services.confirmation import choose_offer
from domain.services.context import Policy, Ports
from integrations.clock import SystemClock
from integrations.directory import BundledDirectory, load_bundled_providers
from integrations.offline_calendar import StaticCalendar
from storage.holds import InMemoryHoldStore
from storage.slots import InMemoryCallSlots

ALEXANDERPLATZ = GeoPoint(52.5219, 13.4132, "Alexanderplatz")
TIMEZONE = "Europe/Berlin"
# Seeding creates many campaigns per user at once; the hourly quota and the monthly call minutes are product
# rules, not load limits.
UNLIMITED = Policy(campaigns_per_hour=1_000_000, call_minutes_per_month=None)


def always_open_directory() -> BundledDirectory:
    """The bundled providers without their opening hours: a load benchmark measures the call path at any hour
    of the day, not which practices happen to be open when it runs."""
    return BundledDirectory([replace(p, opening_hours=None) for p in load_bundled_providers()])


class RecordingVoiceGateway:
    """Places no call; keeps every call's plain token so the caller can speak for its agent."""

    def __init__(self) -> None:
        self.tokens: dict[str, str] = {}
        self.requests: dict[str, CallRequest] = {}

    async def place_call(self, request: CallRequest) -> PlacedCall:
        self.tokens[request.call.id] = request.token
        self.requests[request.call.id] = request
        return PlacedCall(conversation_id=f"seed_{request.call.id[:12]}")

    async def hang_up(self, call: CallTask) -> None:
        return None


@dataclass(frozen=True, slots=True)
class SeededCall:
    """One open call an agent can act for: its token is the only thing the tool server needs."""

    campaign_id: str
    call_id: str
    user_id: int
    token: str


def seeding_ports(uow: UnitOfWorkFactory, gateway: RecordingVoiceGateway) -> Ports:
    """Ports for seeding: the real unit of work, the recording gateway, no calendar entries, no quota."""
    return Ports(
        uow=uow,
        holds=InMemoryHoldStore(),
        calendar=StaticCalendar(),
        directory=always_open_directory(),
        voice=gateway,
        clock=SystemClock(),
        slots=InMemoryCallSlots(1_000_000),
        policy=UNLIMITED,
    )


def search_window(now: datetime, days_ahead: int = 1, days: int = 5) -> TimeWindow:
    """Weekday-agnostic office hours from ``days_ahead`` days on, ``days`` long, in Berlin time."""
    zone = ZoneInfo(TIMEZONE)
    first = now.astimezone(zone).date() + timedelta(days=days_ahead)
    start = datetime.combine(first, time(8), tzinfo=zone)
    end = datetime.combine(first + timedelta(days=days - 1), time(18), tzinfo=zone)
    return TimeWindow(start, end)


async def negotiating_calls(
    ports: Ports,
    gateway: RecordingVoiceGateway,
    user_ids: Sequence[int],
    calls_per_campaign: int,
    window: TimeWindow,
) -> list[SeededCall]:
    """One campaign per user, dialled and ``NEGOTIATING``; returns every discovery call with its token."""

    async def one(user_id: int) -> list[SeededCall]:
        campaign = await create_campaign(
            ports,
            StartCampaign(
                user_id=user_id,
                service="dentist",
                windows=[window],
                location=ALEXANDERPLATZ,
                max_calls=calls_per_campaign,
                timezone=TIMEZONE,
            ),
        )
        await run_campaign(ports, campaign.id)
        return [
            SeededCall(campaign.id, call_id, user_id, gateway.tokens[call_id])
            for call_id, request in gateway.requests.items()
            if request.campaign.id == campaign.id and request.call.purpose is CallPurpose.DISCOVER
        ]

    seeded = await asyncio.gather(*(one(user_id) for user_id in user_ids))
    return [call for calls in seeded for call in calls]


async def confirming_calls(
    ports: Ports, gateway: RecordingVoiceGateway, user_id: int, slots: Sequence[TimeWindow]
) -> list[tuple[SeededCall, TimeWindow]]:
    """One campaign of ``user_id`` per slot, each ``CONFIRMING`` that slot: its provider offered it, the user
    chose it, and the confirmation call waits to book it. Returns each confirmation call with its slot."""
    span = TimeWindow(min(s.start for s in slots), max(s.end for s in slots))
    discovery = await negotiating_calls(ports, gateway, [user_id] * len(slots), 1, span)

    async def one(call: SeededCall, slot: TimeWindow) -> tuple[SeededCall, TimeWindow]:
        ctx = await tool_calls.open_call(ports, call.token)
        minutes = int(slot.duration.total_seconds() // 60)
        answer = await tool_calls.report_offer(ports, ctx, slot.start, minutes)
        if answer.offer is None:
            raise RuntimeError(f"The seeded offer was not recorded: {answer.message}")
        await tool_calls.end_call(ports, ctx, CallOutcome.OFFER_MADE)
        _, _, confirm = await choose_offer(ports, user_id, answer.offer.id)
        return SeededCall(call.campaign_id, confirm.id, user_id, gateway.tokens[confirm.id]), slot

    return list(await asyncio.gather(*(one(call, slot) for call, slot in zip(discovery, slots, strict=True))))
