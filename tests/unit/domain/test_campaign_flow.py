"""The whole business with fakes: discover, rank, confirm, book, cancel, sweep."""

from datetime import UTC, datetime, timedelta

import pytest

from domain.errors import CallClosed, NotAllowed, NotAuthorized, NotFound, QuotaExceeded, SlotConflict
from domain.models import (
    AppointmentStatus,
    CallOutcome,
    CallStatus,
    CampaignStatus,
    OfferStatus,
    TimeWindow,
)
from domain.notifications import (
    AppointmentCancelled,
    AppointmentReminder,
    Booked,
    CampaignCancelled,
    CampaignFailed,
    ShortlistReady,
    SlotGone,
)
from domain.services.appointments import cancel_appointment, send_due_reminders
from domain.services.campaigns import StartCampaign, cancel_campaign, create_campaign, run_campaign
from domain.services.confirmation import choose_offer
from domain.services.context import Policy
from domain.services.sweeps import sweep
from domain.services.tool_calls import (
    AvailabilityStatus,
    OfferAnswerStatus,
    book_slot,
    check_availability,
    end_call,
    get_distance,
    open_call,
    report_offer,
)
from tests.factories import ALEXANDERPLATZ, make_provider
from tests.fakes import FakeClock, FakeWorld

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
DAY = datetime(2026, 12, 1, tzinfo=UTC)
WINDOW = TimeWindow(DAY.replace(hour=11), DAY.replace(hour=16))


def at(hour: int, minute: int = 0) -> datetime:
    return DAY.replace(hour=hour, minute=minute)


@pytest.fixture
def world() -> FakeWorld:
    return FakeWorld(
        clock=FakeClock(NOW),
        providers=[
            make_provider("near", rating=4.0, lat=52.5225, lng=13.4140, name="Near Dental"),
            make_provider("good", rating=4.9, lat=52.5300, lng=13.4000, name="Good Dental"),
            make_provider("far", rating=4.9, lat=52.6500, lng=13.4000, name="Far Dental"),
            make_provider("hair", service="hairdresser", name="Hair"),
        ],
    )


async def start(world: FakeWorld, **kwargs: object) -> str:
    command = StartCampaign(
        user_id=7,
        service="dentist",
        windows=[WINDOW],
        location=ALEXANDERPLATZ,
        **kwargs,  # type: ignore[arg-type]
    )
    campaign = await create_campaign(world.ports, command)
    await run_campaign(world.ports, campaign.id)
    return campaign.id


async def campaign_status(world: FakeWorld, campaign_id: str) -> CampaignStatus:
    async with world.ports.uow() as uow:
        campaign = await uow.campaigns.get(campaign_id)
    assert campaign is not None
    return campaign.status


async def test_running_a_campaign_calls_every_provider_in_radius(world: FakeWorld) -> None:
    campaign_id = await start(world)
    assert sorted(r.call.provider.id for r in world.voice.placed) == ["good", "near"]
    assert await campaign_status(world, campaign_id) is CampaignStatus.NEGOTIATING
    stored = world.store.tables["calls"].values()
    tokens = {r.token for r in world.voice.placed}
    assert all(call.token_hash not in tokens and len(call.token_hash) == 64 for call in stored)
    assert all(call.status is CallStatus.DIALING and call.conversation_id for call in stored)


async def test_no_provider_in_radius_fails_with_a_reason(world: FakeWorld) -> None:
    campaign = await create_campaign(world.ports, StartCampaign(7, "optician", [WINDOW], ALEXANDERPLATZ, radius_km=5))
    result = await run_campaign(world.ports, campaign.id)
    assert result.status is CampaignStatus.FAILED
    assert result.failure_reason == "I found no opticians within 5 km of Alexanderplatz."
    assert world.outbox.of_type(CampaignFailed)


async def test_unknown_token_is_refused(world: FakeWorld) -> None:
    await start(world)
    with pytest.raises(NotAuthorized):
        await open_call(world.ports, "forged")
    with pytest.raises(NotAuthorized):
        await open_call(world.ports, None)


async def test_check_availability_answers_each_case(world: FakeWorld) -> None:
    world.calendar.busy_times[7] = [TimeWindow(at(11), at(13))]
    await start(world)
    ctx = await open_call(world.ports, world.voice.token_for("near"), conversation_id="conv-x")

    busy = await check_availability(world.ports, ctx, at(12))
    assert busy.status is AvailabilityStatus.CONFLICT
    assert busy.next_free == at(13)
    assert busy.free_windows == [TimeWindow(at(13), at(16))]
    assert "busy" in busy.message and "at 14:00" in busy.message  # 13:00 UTC is 14:00 in Berlin

    outside = await check_availability(world.ports, ctx, at(17))
    assert outside.status is AvailabilityStatus.OUTSIDE_WINDOW

    free = await check_availability(world.ports, ctx, at(14))
    assert free.status is AvailabilityStatus.AVAILABLE
    assert [h.window for h in world.holds.holds] == [TimeWindow(at(14), at(14, 30))]

    world.calendar.unavailable = True
    assert (await check_availability(world.ports, ctx, at(15))).status is AvailabilityStatus.CANNOT_VERIFY

    async with world.ports.uow() as uow:
        call = await uow.calls.get(ctx.call.id)
    assert call is not None and call.status is CallStatus.IN_PROGRESS


async def test_another_campaigns_hold_is_a_soft_conflict(world: FakeWorld) -> None:
    await start(world)
    first = await open_call(world.ports, world.voice.token_for("near"))
    same_campaign = await open_call(world.ports, world.voice.token_for("good"))
    await check_availability(world.ports, first, at(14))
    await start(world)
    second = await open_call(world.ports, world.voice.token_for("near"))
    answer = await check_availability(world.ports, second, at(14))
    assert answer.status is AvailabilityStatus.SOFT_CONFLICT
    assert answer.next_free == at(14, 30)
    assert (await check_availability(world.ports, same_campaign, at(14))).status is AvailabilityStatus.AVAILABLE


async def test_hold_store_down_means_cannot_verify(world: FakeWorld) -> None:
    await start(world)
    ctx = await open_call(world.ports, world.voice.token_for("near"))
    world.holds.down = True
    assert (await check_availability(world.ports, ctx, at(14))).status is AvailabilityStatus.CANNOT_VERIFY


async def test_offers_are_scored_ranked_and_idempotent(world: FakeWorld) -> None:
    world.calendar.busy_times[7] = [TimeWindow(at(11), at(12))]
    campaign_id = await start(world)
    near = await open_call(world.ports, world.voice.token_for("near"))
    good = await open_call(world.ports, world.voice.token_for("good"))

    late = await report_offer(world.ports, near, at(15))
    early = await report_offer(world.ports, good, at(12))
    assert late.status is OfferAnswerStatus.RECORDED and late.rank == 1
    assert early.status is OfferAnswerStatus.RECORDED and early.rank == 1 and early.total == 2
    assert early.offer is not None and late.offer is not None and early.offer.score > late.offer.score

    again = await report_offer(world.ports, near, at(15))
    assert again.offer is not None and again.offer.id == late.offer.id
    assert len(world.store.tables["offers"]) == 2

    clash = await report_offer(world.ports, near, at(11, 30))
    assert clash.status is OfferAnswerStatus.REJECTED_CONFLICT
    outside = await report_offer(world.ports, near, at(18))
    assert outside.status is OfferAnswerStatus.REJECTED_OUTSIDE_WINDOW
    assert len(world.store.tables["offers"]) == 2
    assert await campaign_status(world, campaign_id) is CampaignStatus.NEGOTIATING


async def test_the_last_call_to_end_ranks_the_campaign(world: FakeWorld) -> None:
    campaign_id = await start(world)
    near = await open_call(world.ports, world.voice.token_for("near"))
    good = await open_call(world.ports, world.voice.token_for("good"))
    await report_offer(world.ports, near, at(12))
    await end_call(world.ports, near, CallOutcome.OFFER_MADE, "offered noon")
    assert await campaign_status(world, campaign_id) is CampaignStatus.NEGOTIATING
    with pytest.raises(CallClosed):
        await report_offer(world.ports, near, at(13))
    await end_call(world.ports, good, CallOutcome.NO_AVAILABILITY)
    assert await campaign_status(world, campaign_id) is CampaignStatus.RANKING
    [ready] = world.outbox.of_type(ShortlistReady)
    assert [o.provider_id for o in ready.shortlist] == ["near"]


async def test_no_offer_at_all_fails_the_campaign(world: FakeWorld) -> None:
    campaign_id = await start(world)
    for provider in ("near", "good"):
        ctx = await open_call(world.ports, world.voice.token_for(provider))
        await end_call(world.ports, ctx, CallOutcome.NO_AVAILABILITY)
    assert await campaign_status(world, campaign_id) is CampaignStatus.FAILED
    [failed] = world.outbox.of_type(CampaignFailed)
    assert "none had a time that fits you" in (failed.campaign.failure_reason or "")


async def _ranked(world: FakeWorld) -> tuple[str, str]:
    campaign_id = await start(world)
    near = await open_call(world.ports, world.voice.token_for("near"))
    good = await open_call(world.ports, world.voice.token_for("good"))
    answer = await report_offer(world.ports, near, at(12))
    await report_offer(world.ports, good, at(15))
    await end_call(world.ports, near, CallOutcome.OFFER_MADE)
    await end_call(world.ports, good, CallOutcome.OFFER_MADE)
    assert answer.offer is not None
    return campaign_id, answer.offer.id


async def test_confirm_and_book(world: FakeWorld) -> None:
    campaign_id, offer_id = await _ranked(world)
    discover = await open_call(world.ports, world.voice.token_for("good"))
    with pytest.raises(NotAllowed):
        await book_slot(world.ports, discover, at(15))

    await choose_offer(world.ports, 7, offer_id)
    assert await campaign_status(world, campaign_id) is CampaignStatus.CONFIRMING
    confirm = await open_call(world.ports, world.voice.token_for("near", "CONFIRM"))
    with pytest.raises(NotAllowed, match="book exactly that time"):
        await book_slot(world.ports, confirm, at(13))

    booked = await book_slot(world.ports, confirm, at(12))
    assert booked.appointment.start == at(12)
    assert await campaign_status(world, campaign_id) is CampaignStatus.CONFIRMED
    again = await book_slot(world.ports, confirm, at(12))
    assert again.appointment.id == booked.appointment.id
    assert len(world.store.tables["appointments"]) == 1
    assert world.store.tables["offers"][offer_id].status is OfferStatus.BOOKED
    assert list(world.calendar.events) == [f"event-{booked.appointment.id}"]
    assert world.outbox.of_type(Booked)
    assert world.holds.holds == []
    leads = sorted(r.lead_minutes for r in world.store.tables["reminders"].values())
    assert leads == [60, 1440]
    await end_call(world.ports, confirm, CallOutcome.BOOKED)
    assert await campaign_status(world, campaign_id) is CampaignStatus.CONFIRMED


async def test_book_slot_in_a_discovery_call_is_not_allowed(world: FakeWorld) -> None:
    await start(world)
    ctx = await open_call(world.ports, world.voice.token_for("near"))
    with pytest.raises(NotAllowed, match="has not chosen yet"):
        await book_slot(world.ports, ctx, at(12))


async def test_a_lost_slot_returns_the_campaign_to_ranking(world: FakeWorld) -> None:
    campaign_id, offer_id = await _ranked(world)
    await choose_offer(world.ports, 7, offer_id)
    confirm = await open_call(world.ports, world.voice.token_for("near", "CONFIRM"))
    await end_call(world.ports, confirm, CallOutcome.NO_AVAILABILITY, "slot was taken")
    assert await campaign_status(world, campaign_id) is CampaignStatus.RANKING
    assert world.store.tables["offers"][offer_id].status is OfferStatus.UNAVAILABLE
    [gone] = world.outbox.of_type(SlotGone)
    assert [o.provider_id for o in gone.shortlist] == ["good"]
    with pytest.raises(NotAllowed):
        await choose_offer(world.ports, 7, offer_id)


async def test_booking_refuses_an_overlap_with_an_existing_appointment(world: FakeWorld) -> None:
    _, offer_id = await _ranked(world)
    await choose_offer(world.ports, 7, offer_id)
    confirm = await open_call(world.ports, world.voice.token_for("near", "CONFIRM"))
    # Another campaign booked 12:15 meanwhile.
    _, other_offer = await _ranked(world)
    world.store.tables["offers"][other_offer].start = at(12, 15)
    world.store.tables["offers"][other_offer].end = at(12, 45)
    await choose_offer(world.ports, 7, other_offer)
    other_confirm = await open_call(world.ports, world.voice.token_for("near", "CONFIRM"))
    await book_slot(world.ports, other_confirm, at(12, 15))
    with pytest.raises(SlotConflict, match="already has an appointment"):
        await book_slot(world.ports, confirm, at(12))
    assert len(world.store.tables["appointments"]) == 1


async def test_choosing_a_foreign_offer_is_not_found(world: FakeWorld) -> None:
    _, offer_id = await _ranked(world)
    with pytest.raises(NotFound):
        await choose_offer(world.ports, 8, offer_id)


async def test_cancelling_hangs_up_releases_holds_and_closes_tokens(world: FakeWorld) -> None:
    campaign_id = await start(world)
    ctx = await open_call(world.ports, world.voice.token_for("near"))
    await check_availability(world.ports, ctx, at(14))
    assert world.holds.holds
    await cancel_campaign(world.ports, 7, campaign_id)
    assert await campaign_status(world, campaign_id) is CampaignStatus.CANCELLED
    assert len(world.voice.hung_up) == 2
    assert world.holds.holds == []
    assert world.outbox.of_type(CampaignCancelled)
    with pytest.raises(CallClosed):
        await check_availability(world.ports, ctx, at(14))
    await cancel_campaign(world.ports, 7, campaign_id)  # twice is harmless
    assert len(world.voice.hung_up) == 2
    assert len(world.outbox.of_type(CampaignCancelled)) == 1


async def test_a_call_that_cannot_be_placed_fails_alone(world: FakeWorld) -> None:
    world.voice.unreachable.add("near")
    campaign_id = await start(world)
    calls = {c.provider.id: c for c in world.store.tables["calls"].values()}
    assert calls["near"].status is CallStatus.FAILED
    assert calls["good"].status is CallStatus.DIALING
    assert await campaign_status(world, campaign_id) is CampaignStatus.NEGOTIATING


async def test_sweep_times_out_silent_calls(world: FakeWorld) -> None:
    campaign_id = await start(world)
    world.clock.advance(timedelta(minutes=10))
    report = await sweep(world.ports)
    assert report.calls_timed_out == 2
    assert await campaign_status(world, campaign_id) is CampaignStatus.FAILED
    assert all(c.failure_reason == "The call took too long." for c in world.store.tables["calls"].values())


async def test_sweep_settles_campaigns_past_their_deadline(world: FakeWorld) -> None:
    world.policy = Policy(call_timeout=timedelta(hours=1))
    campaign_id = await start(world)
    near = await open_call(world.ports, world.voice.token_for("near"))
    await report_offer(world.ports, near, at(13))
    world.clock.advance(timedelta(minutes=21))
    report = await sweep(world.ports)
    assert report.campaigns_settled == 1 and report.calls_timed_out == 0
    assert await campaign_status(world, campaign_id) is CampaignStatus.RANKING
    assert all(c.status.is_ended for c in world.store.tables["calls"].values())
    assert sorted(world.voice.hung_up) == sorted(world.store.tables["calls"])
    again = await sweep(world.ports)
    assert again.campaigns_settled == 0 and again.calls_timed_out == 0


async def test_quota_limits_campaigns_per_hour(world: FakeWorld) -> None:
    for _ in range(5):
        await create_campaign(world.ports, StartCampaign(7, "dentist", [WINDOW], ALEXANDERPLATZ))
    with pytest.raises(QuotaExceeded, match="5 searches in the last hour"):
        await create_campaign(world.ports, StartCampaign(7, "dentist", [WINDOW], ALEXANDERPLATZ))
    world.clock.advance(timedelta(hours=1, seconds=1))
    await create_campaign(world.ports, StartCampaign(7, "dentist", [WINDOW], ALEXANDERPLATZ))


async def test_cancel_an_appointment_by_phone_and_reminders(world: FakeWorld) -> None:
    _, offer_id = await _ranked(world)
    await choose_offer(world.ports, 7, offer_id)
    confirm = await open_call(world.ports, world.voice.token_for("near", "CONFIRM"))
    booking = await book_slot(world.ports, confirm, at(12))

    world.clock.current = at(11, 5)  # both reminders are due; only the nearer one is worth sending
    assert await send_due_reminders(world.ports) == 1
    assert await send_due_reminders(world.ports) == 0
    [reminder] = world.outbox.of_type(AppointmentReminder)
    assert reminder.lead == timedelta(hours=1)

    await cancel_appointment(world.ports, 7, booking.appointment.id)
    cancel = await open_call(world.ports, world.voice.token_for("near", "CANCEL"))
    await end_call(world.ports, cancel, CallOutcome.CANCELLED_APPOINTMENT)
    stored = world.store.tables["appointments"][booking.appointment.id]
    assert stored.status is AppointmentStatus.CANCELLED
    assert world.calendar.events == {}
    assert world.outbox.of_type(AppointmentCancelled)


async def test_distance_to_the_provider(world: FakeWorld) -> None:
    await start(world)
    ctx = await open_call(world.ports, world.voice.token_for("near"))
    answer = await get_distance(world.ports, ctx)
    assert answer.known and answer.km == pytest.approx(0.12, abs=0.05)
    unknown = await get_distance(world.ports, ctx, "Somewhere 1")
    assert not unknown.known and "unknown" in unknown.message


async def test_a_german_campaign_fails_with_a_german_reason(world: FakeWorld) -> None:
    campaign = await create_campaign(
        world.ports, StartCampaign(7, "optician", [WINDOW], ALEXANDERPLATZ, radius_km=5, language="de")
    )
    result = await run_campaign(world.ports, campaign.id)
    assert result.failure_reason == (
        "Ich habe im Umkreis von 5 km um Alexanderplatz keinen Anbieter für Optiker gefunden."
    )


async def test_calls_cut_short_by_the_deadline_count_as_reached(world: FakeWorld) -> None:
    world.policy = Policy(call_timeout=timedelta(hours=1))
    campaign_id = await start(world)
    await open_call(world.ports, world.voice.token_for("near"))
    near = await open_call(world.ports, world.voice.token_for("near"))
    await check_availability(world.ports, near, at(14))  # someone picked up and talked
    world.clock.advance(timedelta(minutes=21))
    await sweep(world.ports)
    [failed] = world.outbox.of_type(CampaignFailed)
    assert failed.campaign.failure_reason.startswith("I reached 1 of 2 providers")
    assert await campaign_status(world, campaign_id) is CampaignStatus.FAILED


async def test_cancelling_works_while_the_hold_store_is_down(world: FakeWorld) -> None:
    campaign_id = await start(world)
    world.holds.down = True
    await cancel_campaign(world.ports, 7, campaign_id)
    assert await campaign_status(world, campaign_id) is CampaignStatus.CANCELLED
    assert world.outbox.of_type(CampaignCancelled)
