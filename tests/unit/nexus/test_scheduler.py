"""One round of the scheduled jobs: quiet calls reconciled, overdue work swept, due reminders sent."""

from datetime import UTC, datetime, timedelta

from domain.models import CallOutcome, CallStatus, CampaignStatus, TimeWindow
from domain.services.campaigns import StartCampaign, create_campaign, run_campaign
from domain.services.reconcile import ConversationInfo
from nexus.scheduler import run_jobs
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
