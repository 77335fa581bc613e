"""One round of the scheduled jobs: quiet calls reconciled, overdue work swept, due reminders sent."""

import asyncio
import logging
from datetime import UTC, datetime, timedelta

import pytest

from domain.models import CallOutcome, CallStatus, CampaignStatus, TimeWindow
from domain.services.campaigns import StartCampaign, create_campaign, run_campaign
from domain.services.reconcile import ConversationInfo
from nexus.scheduler import Scheduler, run_jobs
from tests.factories import ALEXANDERPLATZ, make_provider
from tests.fakes import FakeClock, FakeWorld

NOW = datetime(2026, 11, 30, 9, tzinfo=UTC)
WINDOW = TimeWindow(datetime(2026, 12, 1, 11, tzinfo=UTC), datetime(2026, 12, 1, 16, tzinfo=UTC))


async def test_a_round_asks_about_quiet_calls_and_ends_those_that_are_over() -> None:
    world = FakeWorld(clock=FakeClock(NOW), providers=[make_provider("a"), make_provider("b", lat=52.53)])
    campaign = await create_campaign(world.ports, StartCampaign(7, "dentist", [WINDOW], ALEXANDERPLATZ))
    await run_campaign(world.ports, campaign.id)
    calls = {c.conversation_id: c for c in world.store.tables["calls"].values()}
    asked: list[str] = []

    async def fetch(conversation_id: str) -> ConversationInfo:
        asked.append(conversation_id)
        return ConversationInfo(conversation_id, over=True, outcome=CallOutcome.NO_AVAILABILITY)

    await run_jobs(world.ports, fetch)
    assert asked == []  # the calls are not quiet yet

    world.clock.advance(timedelta(minutes=4))
    await run_jobs(world.ports, fetch)
    assert sorted(asked) == sorted(calls)
    assert all(c.status is CallStatus.COMPLETED for c in world.store.tables["calls"].values())
    assert world.store.tables["campaigns"][campaign.id].status is CampaignStatus.FAILED


async def test_a_failing_job_does_not_stop_the_others() -> None:
    world = FakeWorld(clock=FakeClock(NOW), providers=[make_provider("a")])
    campaign = await create_campaign(world.ports, StartCampaign(7, "dentist", [WINDOW], ALEXANDERPLATZ))
    await run_campaign(world.ports, campaign.id)

    async def broken(conversation_id: str) -> ConversationInfo:
        raise RuntimeError("provider API down")

    world.clock.advance(timedelta(minutes=30))
    await run_jobs(world.ports, broken)
    assert world.store.tables["campaigns"][campaign.id].status is CampaignStatus.FAILED  # the sweep still ran


async def test_stopping_during_a_round_ends_it_without_an_error_in_the_log(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = FakeWorld(clock=FakeClock(NOW), providers=[make_provider("a")])
    started, ended = asyncio.Event(), asyncio.Event()

    async def slow_recovery() -> None:
        started.set()
        try:
            await asyncio.Event().wait()  # a round still busy when the process stops
        finally:
            ended.set()

    monkeypatch.setattr("nexus.scheduler.STOP_GRACE_SECONDS", 0.01)
    scheduler = Scheduler(world.ports, 30, recover=slow_recovery)
    scheduler.start()
    await started.wait()
    with caplog.at_level(logging.WARNING):
        await scheduler.stop()

    assert ended.is_set()  # stop() waited for the round instead of leaving it to the loop's teardown
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


async def test_stopping_lets_a_short_round_finish_instead_of_cutting_it_off() -> None:
    world = FakeWorld(clock=FakeClock(NOW), providers=[make_provider("a")])
    started, release = asyncio.Event(), asyncio.Event()
    finished: list[bool] = []

    async def short_recovery() -> None:
        started.set()
        await release.wait()
        finished.append(True)

    scheduler = Scheduler(world.ports, 30, recover=short_recovery)
    scheduler.start()
    await started.wait()
    stopping = asyncio.create_task(scheduler.stop())
    await asyncio.sleep(0)  # stop() is now waiting for the round
    release.set()
    await stopping

    assert finished == [True]
