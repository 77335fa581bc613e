"""A confirmation call that does not get through (busy, no answer, network) is tried again with backoff while
the chosen slot is still plausible; only an explicit "slot gone" or the last failed try gives the offer up."""

from datetime import timedelta

from domain.models import CallOutcome, CallPurpose, CallStatus, CampaignStatus, OfferStatus
from domain.notifications import ConfirmationRetrying, SlotGone
from domain.services.campaigns import end_call_task
from domain.services.confirmation import choose_offer
from domain.services.sweeps import sweep
from domain.services.tool_calls import book_slot, end_call, open_call
from tests.fakes import FakeWorld
from tests.unit.domain.test_campaign_flow import NOW, _ranked, at, campaign_status, world

__all__ = ["world"]  # the fixture, shared with the campaign flow tests


def confirm_calls(world: FakeWorld) -> list[CallStatus]:
    calls = sorted(world.store.tables["calls"].values(), key=lambda c: c.created_at)
    return [c.status for c in calls if c.purpose is CallPurpose.CONFIRM]


async def test_a_dial_that_fails_is_tried_again_and_the_user_hears_so(world: FakeWorld) -> None:
    campaign_id, offer_id = await _ranked(world)
    world.voice.unreachable.add("near")  # the network fails the first dial

    await choose_offer(world.ports, 7, offer_id)

    assert await campaign_status(world, campaign_id) is CampaignStatus.CONFIRMING
    assert world.store.tables["offers"][offer_id].status is OfferStatus.CHOSEN
    assert world.outbox.of_type(SlotGone) == []
    [retrying] = world.outbox.of_type(ConfirmationRetrying)
    assert (retrying.offer.id, retrying.attempt) == (offer_id, 2)
    assert retrying.retry_at == NOW + world.policy.confirm_backoff[0]

    await sweep(world.ports)  # not due yet
    assert confirm_calls(world) == [CallStatus.FAILED]
    assert len(world.outbox.of_type(ConfirmationRetrying)) == 1  # told once, not on every sweep

    world.voice.unreachable.clear()
    world.clock.advance(world.policy.confirm_backoff[0])
    report = await sweep(world.ports)

    assert report.confirmations_retried == 1
    assert confirm_calls(world) == [CallStatus.FAILED, CallStatus.DIALING]
    confirm = await open_call(world.ports, world.voice.token_for("near", "CONFIRM"))
    booked = await book_slot(world.ports, confirm, at(12))
    assert booked.appointment.offer_id == offer_id
    assert await campaign_status(world, campaign_id) is CampaignStatus.CONFIRMED
    assert (await sweep(world.ports)).confirmations_retried == 0


async def test_after_the_last_failed_try_the_offer_is_given_up(world: FakeWorld) -> None:
    campaign_id, offer_id = await _ranked(world)
    await choose_offer(world.ports, 7, offer_id)
    for attempt in range(world.policy.confirm_attempts):
        [current] = [c for c in world.store.tables["calls"].values() if c.purpose is CallPurpose.CONFIRM][-1:]
        await end_call_task(world.ports, current.id, CallStatus.NO_ANSWER, reason="Nobody answered.")
        if attempt < world.policy.confirm_attempts - 1:
            world.clock.advance(world.policy.confirm_backoff[attempt])
            await sweep(world.ports)

    assert confirm_calls(world) == [CallStatus.NO_ANSWER] * world.policy.confirm_attempts
    assert [r.attempt for r in world.outbox.of_type(ConfirmationRetrying)] == [2, 3]
    assert await campaign_status(world, campaign_id) is CampaignStatus.RANKING
    assert world.store.tables["offers"][offer_id].status is OfferStatus.UNAVAILABLE
    assert len(world.outbox.of_type(SlotGone)) == 1


async def test_an_explicit_slot_gone_gives_the_offer_up_at_once(world: FakeWorld) -> None:
    campaign_id, offer_id = await _ranked(world)
    await choose_offer(world.ports, 7, offer_id)
    confirm = await open_call(world.ports, world.voice.token_for("near", "CONFIRM"))

    await end_call(world.ports, confirm, CallOutcome.NO_AVAILABILITY, "The slot was taken.")

    assert world.outbox.of_type(ConfirmationRetrying) == []
    assert await campaign_status(world, campaign_id) is CampaignStatus.RANKING
    assert world.store.tables["offers"][offer_id].status is OfferStatus.UNAVAILABLE


async def test_no_retry_when_the_slot_would_be_over_before_a_retry_could_end(world: FakeWorld) -> None:
    campaign_id, offer_id = await _ranked(world)
    # The slot starts at 12:00; a retry after the backoff and a whole call would end after it.
    world.clock.current = at(12) - world.policy.call_timeout
    await choose_offer(world.ports, 7, offer_id)
    [current] = [c for c in world.store.tables["calls"].values() if c.purpose is CallPurpose.CONFIRM]

    await end_call_task(world.ports, current.id, CallStatus.BUSY, reason="The line was busy.")

    assert world.outbox.of_type(ConfirmationRetrying) == []
    assert await campaign_status(world, campaign_id) is CampaignStatus.RANKING
    assert world.store.tables["offers"][offer_id].status is OfferStatus.UNAVAILABLE


async def test_a_cancelled_search_is_not_dialled_again(world: FakeWorld) -> None:
    from domain.services.campaigns import cancel_campaign

    campaign_id, offer_id = await _ranked(world)
    world.voice.unreachable.add("near")
    await choose_offer(world.ports, 7, offer_id)
    await cancel_campaign(world.ports, 7, campaign_id)
    world.voice.unreachable.clear()
    world.clock.advance(timedelta(hours=1))

    assert (await sweep(world.ports)).confirmations_retried == 0
    assert confirm_calls(world) == [CallStatus.FAILED]
