"""Recovery after a restart: open calls no living process claims are ended (simulated) or asked about (live)."""

from datetime import timedelta

import pytest

from domain.errors import DependencyUnavailable, NotFound
from domain.models import CallOutcome, CallStatus, CampaignStatus
from domain.notifications import CallsChanged, CampaignFailed
from domain.services.reconcile import ConversationInfo
from domain.services.recovery import RESTARTED, recover_open_calls
from tests.fakes import FakeCallSlots, FakeWorld
from tests.unit.domain.test_campaign_flow import campaign_status, start, world

__all__ = ["world"]

GRACE = timedelta(seconds=30)


def calls(world: FakeWorld) -> dict[str, CallStatus]:
    return {c.provider.id: c.status for c in world.store.tables["calls"].values()}


def restarted(world: FakeWorld) -> None:
    """The process that placed the calls died: a new one starts with no place under the limit."""
    world.slots = FakeCallSlots()
    world.clock.advance(GRACE + timedelta(seconds=1))


async def test_simulated_calls_of_a_dead_process_end_and_their_campaign_moves_on(world: FakeWorld) -> None:
    campaign_id = await start(world)
    restarted(world)

    report = await recover_open_calls(world.ports, None, GRACE)

    assert (report.orphaned, report.ended) == (2, 2)
    assert set(calls(world).values()) == {CallStatus.FAILED}
    assert {c.failure_reason for c in world.store.tables["calls"].values()} == {RESTARTED}
    assert await campaign_status(world, campaign_id) is CampaignStatus.FAILED
    assert len(world.outbox.of_type(CampaignFailed)) == 1
    again = await recover_open_calls(world.ports, None, GRACE)
    assert (again.orphaned, again.ended) == (0, 0)


async def test_calls_a_living_process_claims_or_just_created_are_left_alone(world: FakeWorld) -> None:
    campaign_id = await start(world)  # this process holds the places of both calls

    assert (await recover_open_calls(world.ports, None, GRACE)).orphaned == 0
    world.slots = FakeCallSlots()  # ...and now nobody does, but the calls are younger than the grace
    assert (await recover_open_calls(world.ports, None, GRACE)).orphaned == 0
    assert set(calls(world).values()) == {CallStatus.DIALING}
    assert await campaign_status(world, campaign_id) is CampaignStatus.NEGOTIATING


async def test_live_calls_are_asked_about_and_those_still_running_take_their_places_again(
    world: FakeWorld,
) -> None:
    await start(world)
    conversations = {c.provider.id: c.conversation_id for c in world.store.tables["calls"].values()}
    answers = {
        conversations["near"]: ConversationInfo(conversations["near"] or "", over=False),
        conversations["good"]: ConversationInfo(
            conversations["good"] or "", over=True, summary="No time.", outcome=CallOutcome.NO_AVAILABILITY
        ),
    }

    async def fetch(conversation_id: str) -> ConversationInfo:
        return answers[conversation_id]

    restarted(world)
    report = await recover_open_calls(world.ports, fetch, GRACE)

    assert (report.orphaned, report.ended, report.still_running) == (2, 1, 1)
    assert calls(world) == {"near": CallStatus.DIALING, "good": CallStatus.COMPLETED}
    near = next(c for c in world.store.tables["calls"].values() if c.provider.id == "near")
    assert await world.slots.claimed([near.id]) == {near.id}
    assert world.outbox.of_type(CallsChanged)


@pytest.mark.parametrize(
    ("failure", "status"), [(NotFound("unknown"), CallStatus.FAILED), (DependencyUnavailable("down"), None)]
)
async def test_a_call_the_provider_does_not_know_ends_and_one_it_cannot_say_waits(
    world: FakeWorld, failure: Exception, status: CallStatus | None
) -> None:
    await start(world)

    async def fetch(conversation_id: str) -> ConversationInfo:
        raise failure

    restarted(world)
    await recover_open_calls(world.ports, fetch, GRACE)

    expected = status or CallStatus.DIALING
    assert set(calls(world).values()) == {expected}
