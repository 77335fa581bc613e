"""The ports and rules every use case is given."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from domain.ports import (
    Calendar,
    CallSlots,
    Clock,
    Geocoder,
    HoldStore,
    ProviderDirectory,
    UnitOfWorkFactory,
    VoiceGateway,
)
from domain.practices import NO_BUDGET, CallBudget, FactTtl
from domain.services.fanout import FanOut


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
    # A confirmation call that does not get through is tried this many times in all, waiting these long
    # between tries (the last wait repeats), while a retried call could still end before the slot starts.
    confirm_attempts: int = 3
    confirm_backoff: tuple[timedelta, ...] = (timedelta(minutes=1), timedelta(minutes=3))
    # a call that reached a voicemail box is tried again this much later, this many times, before the deadline
    voicemail_retry_after: timedelta = timedelta(minutes=10)
    voicemail_retries: int = 1
    # what a search costs: minutes a call takes on average (ringing included), the price of a minute
    expected_call_minutes: float = 2.5
    call_cost_per_minute: float = 0.10
    call_cost_currency: str = "EUR"
    call_minutes_per_month: int | None = 300  # per user; None: no limit
    # how long ask_user waits for the user's answer (below the tool's timeout), and how often it looks
    ask_user_wait: timedelta = timedelta(seconds=20)
    ask_user_poll: timedelta = timedelta(milliseconds=250)
    # how a search calls its providers (domain.services.fanout), and how many per adaptive wave
    fan_out: FanOut = FanOut.PARALLEL
    fan_out_wave: int = 3
    # transcripts and summaries of calls ended longer ago are deleted (domain.services.retention)
    transcript_retention: timedelta = timedelta(days=30)
    # keep looking / watch for an earlier slot: at most this many later rounds of calls per search
    follow_up_rounds: int = 5
    # a good citizen on the phone network: NEXUS calls to one practice per day and the gap between two, how
    # long a shared fact about a practice's availability is believed, and how many providers are looked up
    # beyond ``calls_per_campaign`` to call instead of skipped ones (opted out, over budget, known full)
    call_budget: CallBudget = NO_BUDGET  # settings give 3 a day (``nexus.bootstrap.policy_from``)
    fact_ttl: FactTtl = field(default_factory=FactTtl)
    spare_providers: int = 5


@dataclass(frozen=True, slots=True)
class Ports:
    """Everything a use case may touch. Built once by the composition root (or by a test with fakes)."""

    uow: UnitOfWorkFactory
    holds: HoldStore
    calendar: Calendar
    directory: ProviderDirectory
    voice: VoiceGateway
    clock: Clock
    slots: CallSlots
    geocoder: Geocoder | None = None
    policy: Policy = field(default_factory=Policy)
    # Runs work a use case starts and does not wait for (kept by reference, finished or cancelled at
    # shutdown); None: the use case does it before returning (tests, simple tools).
    background: Callable[[Coroutine[Any, Any, None], str], None] | None = None
