"""The ports and rules every use case is given."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from domain.ports import (
    Calendar,
    Clock,
    Geocoder,
    HoldStore,
    ProviderDirectory,
    UnitOfWorkFactory,
    VoiceGateway,
)


@dataclass(frozen=True, slots=True)
class Policy:
    """The business rules that are settings, not code."""

    hold_ttl: timedelta = timedelta(minutes=30)
    buffer: timedelta = timedelta(0)
    call_timeout: timedelta = timedelta(minutes=10)
    campaign_deadline: timedelta = timedelta(minutes=20)
    shortlist_size: int = 5
    calls_per_campaign: int = 15
    campaigns_per_hour: int = 5
    reminder_leads: tuple[timedelta, ...] = (timedelta(hours=24), timedelta(hours=1))


@dataclass(frozen=True, slots=True)
class Ports:
    """Everything a use case may touch. Built once by the composition root (or by a test with fakes)."""

    uow: UnitOfWorkFactory
    holds: HoldStore
    calendar: Calendar
    directory: ProviderDirectory
    voice: VoiceGateway
    clock: Clock
    geocoder: Geocoder | None = None
    policy: Policy = field(default_factory=Policy)
