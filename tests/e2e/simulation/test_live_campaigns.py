"""Campaigns caught while their calls still run: cancelled by the user, or cut short by the deadline sweep.

The slow receptionists' calls last an hour of simulated time; at ``TIME_SCALE`` their first tool call would
come only seconds of wall time after dialling, so while a test acts they are surely still talking. The
quick ones are over within milliseconds; the test waits for them through the notifications, not a sleep.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Collection
from contextlib import AbstractAsyncContextManager
from datetime import timedelta

import pytest

from domain.models import CallStatus, CallTask, Campaign, CampaignStatus
from domain.notifications import CampaignProgress, Notification
from domain.services.campaigns import StartCampaign, cancel_campaign, create_campaign, run_campaign, save_user
from domain.services.sweeps import SweepReport, sweep
from integrations.clock import FixedClock
from integrations.directory import BundledDirectory
from integrations.offline_calendar import StaticCalendar
from integrations.simulation.world import World, load_world
from nexus.simulation import SIMULATED_USER, SimulationRun, describe, offline_nexus
from tests.e2e.simulation.conftest import WORLDS

TIME_SCALE = 0.005  # an hour-long call takes 18 s of wall time, a quick one a few milliseconds
SETTLE_SECONDS = 5.0
QUICK = {"quick1", "quick2"}
SLOW = {"slow1", "slow2"}
WORLD = load_world(WORLDS / "slow_receptionists.json")


class CallsEnded:
    """A notification sink that wakes the test once the calls to some providers have all ended."""

    def __init__(self, provider_ids: Collection[str]) -> None:
        self._provider_ids = set(provider_ids)
        self._done = asyncio.Event()

    async def notify(self, user_id: int, notification: Notification) -> None:
        if isinstance(notification, CampaignProgress):
            ended = {c.provider.id for c in notification.calls if c.status.is_ended}
            if self._provider_ids <= ended:
                self._done.set()

    async def wait(self) -> None:
        async with asyncio.timeout(SETTLE_SECONDS):
            await self._done.wait()


@pytest.fixture(autouse=True)
def deadline_before_call_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    """A 5-minute campaign deadline, ahead of the calls' own 10-minute timeout, so the sweep meets the deadline."""
    monkeypatch.setenv("CAMPAIGN_DEADLINE_MINUTES", "5")


@pytest.fixture
async def run() -> AsyncIterator[SimulationRun]:
    async with _offline(WORLD) as running:
        yield running


def _offline(world: World) -> AbstractAsyncContextManager[SimulationRun]:
    return offline_nexus(
        now=world.now,
        providers=BundledDirectory(world.directory_providers()),
        calendar=StaticCalendar({SIMULATED_USER: world.busy()}),
        timezone=world.timezone,
        behaviours=world.behaviours(),
        time_scale=TIME_SCALE,
    )


async def _start(run: SimulationRun, world: World, watcher: CallsEnded | None = None) -> Campaign:
    """What the user does: ask for the world's request; returns once every call is placed."""
    ports = run.nexus.ports
    user = world.user_profile(SIMULATED_USER)
    await save_user(ports, user)
    parsed = await run.nexus.intent.parse(world.request, world.now, world.timezone)
    assert parsed.service is not None
    campaign = await create_campaign(
        ports,
        StartCampaign(
            user_id=user.id,
            service=parsed.service,
            windows=parsed.windows,
            location=world.user.location.point(),
            weights=user.weights,
            radius_km=user.radius_km,
            timezone=world.timezone,
        ),
    )
    if watcher is not None:
        run.nexus.notifications.subscribe(watcher)
    return await run_campaign(ports, campaign.id)


async def _calls(run: SimulationRun, campaign: Campaign) -> dict[str, CallTask]:
    async with run.nexus.ports.uow() as uow:
        return {c.provider.id: c for c in await uow.calls.list_for_campaign(campaign.id)}


async def _all_hung_up(run: SimulationRun) -> None:
    """Every simulated call is over at once: the slow ones were hung up, not left to talk for an hour."""
    async with asyncio.timeout(SETTLE_SECONDS):
        await run.gateway.wait_idle()


async def _reloaded(run: SimulationRun, campaign: Campaign) -> Campaign:
    async with run.nexus.ports.uow() as uow:
        stored = await uow.campaigns.get(campaign.id)
    assert stored is not None
    return stored


def _advance(run: SimulationRun, delta: timedelta) -> None:
    clock = run.nexus.ports.clock
    assert isinstance(clock, FixedClock)
    clock.advance(delta)


async def _held(run: SimulationRun, campaign: Campaign) -> bool:
    span = campaign.span
    others = await run.nexus.ports.holds.conflicting(SIMULATED_USER, span, "another-campaign", WORLD.now)
    return any(h.campaign_id == campaign.id for h in others)


async def test_cancelling_mid_campaign_hangs_up_the_running_calls_and_releases_the_holds(run: SimulationRun) -> None:
    quick_done = CallsEnded(QUICK)
    campaign = await _start(run, WORLD, quick_done)
    await quick_done.wait()
    assert await _held(run, campaign)  # the quick calls checked their slots: the campaign holds them

    cancelled = await cancel_campaign(run.nexus.ports, SIMULATED_USER, campaign.id)

    assert cancelled.status is CampaignStatus.CANCELLED
    await _all_hung_up(run)
    calls = await _calls(run, campaign)
    assert {p: (c.status, c.failure_reason) for p, c in calls.items()} == {
        "quick1": (CallStatus.COMPLETED, None),
        "quick2": (CallStatus.COMPLETED, None),
        "slow1": (CallStatus.CANCELLED, "The search was cancelled."),
        "slow2": (CallStatus.CANCELLED, "The search was cancelled."),
    }
    assert not await _held(run, campaign)
    # The quick calls said goodbye (in German: the world's practices are in Berlin); the slow ones were cut
    # off mid-call, after the first words.
    said = {p: [t.text for t in run.gateway.transcripts[c.id]] for p, c in calls.items()}
    assert all("auf Wiederhören" in said[p][-1] for p in QUICK), said
    assert all(len(said[p]) == 1 and "Wiederhören" not in said[p][0] for p in SLOW), said


async def test_the_deadline_sweep_ranks_the_offers_so_far_and_hangs_up_the_rest(run: SimulationRun) -> None:
    quick_done = CallsEnded(QUICK)
    campaign = await _start(run, WORLD, quick_done)
    await quick_done.wait()

    _advance(run, run.nexus.ports.policy.campaign_deadline + timedelta(minutes=1))
    report = await sweep(run.nexus.ports)

    assert report == SweepReport(calls_timed_out=0, campaigns_settled=1, holds_purged=0)
    await _all_hung_up(run)
    calls = await _calls(run, campaign)
    assert {p: (calls[p].status, calls[p].failure_reason) for p in SLOW} == {
        p: (CallStatus.FAILED, "The search reached its deadline.") for p in SLOW
    }
    settled = await describe(run.nexus.ports, await _reloaded(run, campaign), WORLD.timezone)
    assert settled["campaign"]["status"] == "RANKING"
    assert [(s["provider_id"], s["start"]) for s in settled["shortlist"]] == [
        ("quick2", "2026-11-27T12:30:00+01:00"),
        ("quick1", "2026-11-27T13:00:00+01:00"),
    ]
    assert await sweep(run.nexus.ports) == SweepReport(0, 0, 0)  # sweeping again changes nothing


async def test_the_deadline_sweep_fails_a_campaign_without_any_offer() -> None:
    world = WORLD.model_copy(update={"providers": [p for p in WORLD.providers if p.id in SLOW]})
    async with _offline(world) as run:
        campaign = await _start(run, world)
        assert campaign.status is CampaignStatus.NEGOTIATING

        _advance(run, run.nexus.ports.policy.campaign_deadline + timedelta(minutes=1))
        report = await sweep(run.nexus.ports)

        assert report.campaigns_settled == 1
        await _all_hung_up(run)
        settled = await describe(run.nexus.ports, await _reloaded(run, campaign), world.timezone)
        assert settled["campaign"]["status"] == "FAILED"
        # The calls were picked up but the deadline cut them short before any offer: not "nobody answered".
        assert settled["campaign"]["failure_reason"].startswith("I called 2 providers, but none offered a time")
        assert settled["shortlist"] == []
        assert {c["status"] for c in settled["calls"]} == {"FAILED"}
