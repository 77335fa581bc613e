"""Keep looking, waiting lists, watching for an earlier slot, swapping and rescheduling, with fakes."""

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from domain.errors import NotAllowed
from domain.follow_ups import FollowUpKind, FollowUpStatus, PlanReason
from domain.models import AppointmentStatus, CallOutcome, CallPurpose, Campaign, CampaignStatus, TimeWindow
from domain.notifications import Booked, CampaignFailed, RoundEvent, RoundNews
from domain.services import watch
from domain.services.campaigns import StartCampaign, create_campaign, run_campaign
from domain.services.confirmation import choose_offer
from domain.services.reschedule import reschedule_appointment
from domain.services.rounds import KeepLooking, Widen, keep_looking, stop_looking
from domain.services.sweeps import sweep
from domain.services.tool_calls import book_slot, end_call, open_call, report_offer
from domain.services.watch import keep_mine, watch_for_earlier
from tests.factories import ALEXANDERPLATZ, make_provider
from tests.fakes import FakeClock, FakeWorld

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)  # Monday, 10:00 in Berlin
NEXT_WEEK = TimeWindow(datetime(2026, 12, 7, 9, 0, tzinfo=UTC), datetime(2026, 12, 11, 16, 0, tzinfo=UTC))
TUESDAY_8_BERLIN = datetime(2026, 12, 1, 7, 0, tzinfo=UTC)
USER = 7


@pytest.fixture
def world() -> FakeWorld:
    return FakeWorld(
        clock=FakeClock(NOW),
        providers=[
            make_provider("adler", rating=4.0, lat=52.5300, lng=13.3850, name="Adler Dental"),
            make_provider("berg", rating=4.9, lat=52.5226, lng=13.4100, name="Berg Dental"),
            make_provider("claus", rating=3.5, lat=52.5096, lng=13.3760, name="Claus Dental"),
        ],
    )


async def start(world: FakeWorld) -> str:
    command = StartCampaign(user_id=USER, service="dentist", windows=[NEXT_WEEK], location=ALEXANDERPLATZ)
    campaign = await create_campaign(world.ports, command)
    await run_campaign(world.ports, campaign.id)
    return campaign.id


async def answer(
    world: FakeWorld,
    provider_id: str,
    outcome: CallOutcome,
    *,
    offer: datetime | None = None,
    call_back_at: datetime | None = None,
    purpose: str = "DISCOVER",
) -> None:
    """Act as the agent of the provider's latest call: maybe report an offer, then end the call."""
    ctx = await open_call(world.ports, world.voice.token_for(provider_id, purpose))
    if offer is not None:
        await report_offer(world.ports, ctx, offer)
    await end_call(world.ports, ctx, outcome, call_back_at=call_back_at)


async def status(world: FakeWorld, campaign_id: str) -> CampaignStatus:
    async with world.ports.uow() as uow:
        campaign = await uow.campaigns.get(campaign_id)
    assert campaign is not None
    return campaign.status


def news(world: FakeWorld, event: RoundEvent) -> list[RoundNews]:
    return [n for n in world.outbox.of_type(RoundNews) if n.event is event]


def placed(world: FakeWorld, purpose: str = "DISCOVER") -> list[str]:
    return [r.call.provider.id for r in world.voice.placed if r.call.purpose == purpose]


async def nothing_fits_on_day_one(world: FakeWorld) -> str:
    """Adler: nothing; Berg: waiting list; Claus: call back tomorrow at 14:00 Berlin."""
    campaign_id = await start(world)
    await answer(world, "adler", CallOutcome.NO_AVAILABILITY)
    await answer(world, "berg", CallOutcome.WAITLISTED)
    await answer(world, "claus", CallOutcome.CALL_BACK_LATER, call_back_at=datetime(2026, 12, 1, 13, 0, tzinfo=UTC))
    assert await status(world, campaign_id) is CampaignStatus.FAILED
    return campaign_id


async def test_keep_looking_calls_back_when_asked_waitlisted_first_and_the_others_next_morning(
    world: FakeWorld,
) -> None:
    campaign_id = await nothing_fits_on_day_one(world)

    follow_up = await keep_looking(world.ports, KeepLooking(USER, campaign_id))

    assert await status(world, campaign_id) is CampaignStatus.WAITING
    plan = {p.provider.id: p for p in follow_up.plan}
    assert plan["claus"].due_at == datetime(2026, 12, 1, 13, 0, tzinfo=UTC)
    assert plan["claus"].reason is PlanReason.CALL_BACK
    assert plan["berg"].due_at == plan["adler"].due_at == TUESDAY_8_BERLIN
    assert plan["berg"].waitlisted and not plan["adler"].waitlisted
    [looking] = news(world, RoundEvent.LOOKING)
    assert looking.at == TUESDAY_8_BERLIN
    assert looking.waitlisted == ["Berg Dental, " + plan["berg"].provider.phone]

    placed_before = len(world.voice.placed)
    await sweep(world.ports)  # still Monday: nothing is due
    assert len(world.voice.placed) == placed_before

    world.clock.current = TUESDAY_8_BERLIN
    await asyncio.gather(sweep(world.ports), sweep(world.ports))  # two processes sweep at once
    assert placed(world)[placed_before:] == ["berg", "adler"]  # the waitlisted provider first, each once
    assert await status(world, campaign_id) is CampaignStatus.NEGOTIATING

    await answer(world, "berg", CallOutcome.WAITLISTED)
    await answer(world, "adler", CallOutcome.NO_AVAILABILITY)
    assert await status(world, campaign_id) is CampaignStatus.WAITING
    assert news(world, RoundEvent.FOUND) == []  # nothing new fits: the user hears nothing
    assert len(world.outbox.of_type(CampaignFailed)) == 1

    world.clock.current = datetime(2026, 12, 1, 13, 0, tzinfo=UTC)
    await sweep(world.ports)
    assert placed(world)[-1] == "claus"
    await answer(world, "claus", CallOutcome.OFFER_MADE, offer=datetime(2026, 12, 8, 10, 0, tzinfo=UTC))

    assert await status(world, campaign_id) is CampaignStatus.RANKING
    [found] = news(world, RoundEvent.FOUND)
    assert [o.provider_id for o in found.offers] == ["claus"]
    async with world.ports.uow() as uow:
        calls = await uow.calls.list_for_campaign(campaign_id)
    assert sorted({c.round_no for c in calls}) == [0, 1, 2]


async def test_the_outcomes_record_why_and_when_to_call_again(world: FakeWorld) -> None:
    campaign_id = await nothing_fits_on_day_one(world)
    async with world.ports.uow() as uow:
        calls = {c.provider.id: c for c in await uow.calls.list_for_campaign(campaign_id)}
    assert calls["claus"].outcome is CallOutcome.CALL_BACK_LATER
    assert calls["claus"].call_back_at == datetime(2026, 12, 1, 13, 0, tzinfo=UTC)
    assert calls["berg"].outcome is CallOutcome.WAITLISTED and calls["berg"].call_back_at is None
    assert calls["adler"].outcome is CallOutcome.NO_AVAILABILITY


async def test_rounds_stop_when_the_windows_have_passed_and_say_so_once(world: FakeWorld) -> None:
    campaign_id = await nothing_fits_on_day_one(world)
    await keep_looking(world.ports, KeepLooking(USER, campaign_id))

    world.clock.current = NEXT_WEEK.end + timedelta(hours=1)
    await sweep(world.ports)
    await sweep(world.ports)

    assert await status(world, campaign_id) is CampaignStatus.FAILED
    [stopped] = news(world, RoundEvent.STOPPED)
    assert "passed" in stopped.reason


async def test_rounds_respect_the_minutes_budget(world: FakeWorld) -> None:
    campaign_id = await nothing_fits_on_day_one(world)
    await keep_looking(world.ports, KeepLooking(USER, campaign_id))
    world.policy = replace(world.policy, call_minutes_per_month=0)
    placed_before = len(world.voice.placed)

    world.clock.current = TUESDAY_8_BERLIN
    await sweep(world.ports)

    assert len(world.voice.placed) == placed_before
    [stopped] = news(world, RoundEvent.STOPPED)
    assert "call minutes" in stopped.reason
    assert await status(world, campaign_id) is CampaignStatus.FAILED


async def test_widening_by_a_week_adds_the_same_times_a_week_later(world: FakeWorld) -> None:
    campaign_id = await nothing_fits_on_day_one(world)
    await keep_looking(world.ports, KeepLooking(USER, campaign_id, Widen.WEEK))
    async with world.ports.uow() as uow:
        campaign = await uow.campaigns.get(campaign_id)
    assert campaign is not None
    assert campaign.windows[-1].end == NEXT_WEEK.end + timedelta(days=7)


async def test_keep_looking_twice_is_one_plan_and_stopping_ends_it(world: FakeWorld) -> None:
    campaign_id = await nothing_fits_on_day_one(world)
    first = await keep_looking(world.ports, KeepLooking(USER, campaign_id))
    second = await keep_looking(world.ports, KeepLooking(USER, campaign_id))
    assert second.version == first.version
    assert len(news(world, RoundEvent.LOOKING)) == 1

    await stop_looking(world.ports, USER, campaign_id)
    world.clock.current = TUESDAY_8_BERLIN
    placed_before = len(world.voice.placed)
    await sweep(world.ports)
    assert len(world.voice.placed) == placed_before
    assert await status(world, campaign_id) is CampaignStatus.CANCELLED


# --- watch for an earlier slot, swap ---------------------------------------------------------------


async def booked_at(world: FakeWorld, provider_id: str = "adler") -> tuple[str, str]:
    """Day 1: only ``provider_id`` offers Thursday 10 December; the user books it. Returns (campaign id,
    appointment id)."""
    campaign_id = await start(world)
    for other in ("adler", "berg", "claus"):
        if other == provider_id:
            await answer(world, other, CallOutcome.OFFER_MADE, offer=datetime(2026, 12, 10, 9, 0, tzinfo=UTC))
        else:
            await answer(world, other, CallOutcome.NO_AVAILABILITY)
    async with world.ports.uow() as uow:
        [offer] = await uow.offers.list_for_campaign(campaign_id)
    await choose_offer(world.ports, USER, offer.id)
    ctx = await open_call(world.ports, world.voice.token_for(provider_id, "CONFIRM"))
    booking = await book_slot(world.ports, ctx, offer.start)
    await end_call(world.ports, ctx, CallOutcome.BOOKED)
    return campaign_id, booking.appointment.id


async def earlier_slot_found(world: FakeWorld) -> tuple[str, Campaign, RoundNews]:
    """Booked at Adler, watching; next morning Berg has Tuesday 8 December. Returns (the old appointment's id,
    the watching search, the news of the earlier slot)."""
    _, old_id = await booked_at(world)
    watching = await watch_for_earlier(world.ports, USER, old_id, datetime(2026, 12, 9, tzinfo=UTC))
    world.clock.current = TUESDAY_8_BERLIN
    await sweep(world.ports)
    await answer(world, "berg", CallOutcome.OFFER_MADE, offer=datetime(2026, 12, 8, 14, 0, tzinfo=UTC))
    [earlier] = news(world, RoundEvent.EARLIER)
    return old_id, watching, earlier


async def test_watch_calls_only_better_ranked_providers_daily_and_a_swap_books_before_it_cancels(
    world: FakeWorld,
) -> None:
    _, old_id = await booked_at(world)

    watching = await watch_for_earlier(world.ports, USER, old_id, datetime(2026, 12, 9, tzinfo=UTC))

    async with world.ports.uow() as uow:
        follow_up = await uow.follow_ups.get(watching.id)
    assert follow_up is not None and follow_up.kind is FollowUpKind.WATCH
    assert [p.provider.id for p in follow_up.plan] == ["berg"]  # Claus ranks below Adler at the same time
    assert follow_up.plan[0].due_at == TUESDAY_8_BERLIN
    with pytest.raises(NotAllowed, match="already watching"):
        await watch_for_earlier(world.ports, USER, old_id, datetime(2026, 12, 9, tzinfo=UTC))

    world.clock.current = TUESDAY_8_BERLIN
    await sweep(world.ports)
    await answer(world, "berg", CallOutcome.OFFER_MADE, offer=datetime(2026, 12, 8, 14, 0, tzinfo=UTC))
    [earlier] = news(world, RoundEvent.EARLIER)
    assert earlier.appointment is not None and earlier.appointment.id == old_id
    assert placed(world, "CANCEL") == []

    await choose_offer(world.ports, USER, earlier.offers[0].id)  # "Swap"
    assert placed(world, "CANCEL") == []  # never cancel first
    ctx = await open_call(world.ports, world.voice.token_for("berg", "CONFIRM"))
    booking = await book_slot(world.ports, ctx, earlier.offers[0].start)

    assert placed(world, "CANCEL") == ["adler"]  # once the new one is booked
    cancel = next(r.call for r in world.voice.placed if r.call.purpose is CallPurpose.CANCEL)
    assert cancel.target_appointment_id == old_id
    assert booking.appointment.status is AppointmentStatus.BOOKED
    async with world.ports.uow() as uow:
        done = await uow.follow_ups.get(watching.id)
    assert done is not None and done.status is FollowUpStatus.DONE
    await sweep(world.ports)
    assert placed(world, "CANCEL") == ["adler"]  # the sweep does not cancel twice


async def test_a_swap_cut_short_by_a_crash_is_finished_by_the_sweep(
    world: FakeWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, watching, earlier = await earlier_slot_found(world)
    await choose_offer(world.ports, USER, earlier.offers[0].id)

    async def crash(*_: object) -> None:
        return None

    monkeypatch.setattr(watch, "after_booking", crash)  # the process dies right after booking
    ctx = await open_call(world.ports, world.voice.token_for("berg", "CONFIRM"))
    await book_slot(world.ports, ctx, earlier.offers[0].start)
    assert placed(world, "CANCEL") == []
    monkeypatch.undo()

    await sweep(world.ports)  # any process, later

    assert placed(world, "CANCEL") == ["adler"]
    assert await status(world, watching.id) is CampaignStatus.CONFIRMED


async def test_keep_mine_sets_the_earlier_slot_aside_and_goes_on_watching(world: FakeWorld) -> None:
    _, watching, _ = await earlier_slot_found(world)

    await keep_mine(world.ports, USER, watching.id)

    assert await status(world, watching.id) is CampaignStatus.WAITING
    world.clock.current = TUESDAY_8_BERLIN + timedelta(days=1)
    await sweep(world.ports)
    assert placed(world).count("berg") == 3  # day 1, and once on each of the next two days
    assert placed(world, "CANCEL") == []


async def test_nothing_to_watch_when_the_booked_provider_ranks_best(world: FakeWorld) -> None:
    _, appointment_id = await booked_at(world, "berg")

    with pytest.raises(NotAllowed, match="ranks above"):
        await watch_for_earlier(world.ports, USER, appointment_id, datetime(2026, 12, 9, tzinfo=UTC))


# --- reschedule ------------------------------------------------------------------------------------


async def test_a_reschedule_call_moves_the_appointment_with_its_reminders_and_event(world: FakeWorld) -> None:
    _, appointment_id = await booked_at(world)
    new_windows = [TimeWindow(datetime(2026, 12, 9, 11, 0, tzinfo=UTC), datetime(2026, 12, 9, 16, 0, tzinfo=UTC))]
    discovered = len(placed(world))

    campaign, call = await reschedule_appointment(world.ports, USER, appointment_id, new_windows)

    assert call.purpose is CallPurpose.RESCHEDULE and call.provider.id == "adler"
    ctx = await open_call(world.ports, world.voice.token_for("adler", "RESCHEDULE"))
    moved = await book_slot(world.ports, ctx, datetime(2026, 12, 9, 13, 0, tzinfo=UTC))
    await end_call(world.ports, ctx, CallOutcome.BOOKED)

    assert moved.appointment.id == appointment_id
    assert moved.appointment.sequence == 1
    async with world.ports.uow() as uow:
        stored = await uow.appointments.get(appointment_id)
        calls = await uow.calls.list_for_campaign(campaign.id)
    assert stored is not None and stored.start == datetime(2026, 12, 9, 13, 0, tzinfo=UTC)
    assert stored.status is AppointmentStatus.BOOKED
    assert len(calls) == 1  # one call moved it
    assert len(placed(world)) == discovered  # no search among others
    assert await status(world, campaign.id) is CampaignStatus.CONFIRMED
    reminders = [r for r in world.store.tables["reminders"].values() if r.appointment_id == appointment_id]
    live = sorted(r.due_at for r in reminders if not r.cancelled)
    assert live == [stored.start - timedelta(hours=24), stored.start - timedelta(hours=1)]
    assert [e.start for e in world.calendar.events.values() if e.id == appointment_id] == [stored.start]
    [moved_news] = news(world, RoundEvent.MOVED)
    assert moved_news.appointment is not None and moved_news.appointment.sequence == 1


async def test_when_the_provider_cannot_move_it_a_search_keeps_the_old_one_until_a_new_one_is_booked(
    world: FakeWorld,
) -> None:
    _, appointment_id = await booked_at(world)
    new_windows = [TimeWindow(datetime(2026, 12, 9, 11, 0, tzinfo=UTC), datetime(2026, 12, 9, 16, 0, tzinfo=UTC))]
    campaign, _ = await reschedule_appointment(world.ports, USER, appointment_id, new_windows)

    await answer(world, "adler", CallOutcome.NO_AVAILABILITY, purpose="RESCHEDULE")

    [searching] = news(world, RoundEvent.RESCHEDULE_SEARCH)
    assert searching.appointment is not None and searching.appointment.id == appointment_id
    assert await status(world, campaign.id) is CampaignStatus.NEGOTIATING
    await answer(world, "berg", CallOutcome.OFFER_MADE, offer=datetime(2026, 12, 9, 12, 0, tzinfo=UTC))
    await answer(world, "claus", CallOutcome.NO_AVAILABILITY)
    await answer(world, "adler", CallOutcome.NO_AVAILABILITY)
    async with world.ports.uow() as uow:
        old = await uow.appointments.get(appointment_id)
        [offer] = [o for o in await uow.offers.list_for_campaign(campaign.id) if o.provider_id == "berg"]
    assert old is not None and old.status is AppointmentStatus.BOOKED  # kept while nothing new is booked
    assert placed(world, "CANCEL") == []

    await choose_offer(world.ports, USER, offer.id)
    ctx = await open_call(world.ports, world.voice.token_for("berg", "CONFIRM"))
    await book_slot(world.ports, ctx, offer.start)

    assert placed(world, "CANCEL") == ["adler"]
    assert len(world.outbox.of_type(Booked)) == 2


async def test_widening_by_five_km_plans_the_providers_now_in_reach(world: FakeWorld) -> None:
    world.providers.append(make_provider("far", rating=4.2, lat=52.5219 + 0.11, lng=13.4132, name="Far Dental"))
    campaign_id = await nothing_fits_on_day_one(world)
    assert "far" not in placed(world)  # about 12 km away: outside the first 10 km

    follow_up = await keep_looking(world.ports, KeepLooking(USER, campaign_id, Widen.KM))

    far = next(p for p in follow_up.plan if p.provider.id == "far")
    assert far.due_at == NOW  # never called yet: at once
    await sweep(world.ports)
    assert placed(world)[-1] == "far"
    async with world.ports.uow() as uow:
        campaign = await uow.campaigns.get(campaign_id)
    assert campaign is not None and campaign.radius_km == 15


async def test_widening_to_any_time_of_day_covers_the_whole_days(world: FakeWorld) -> None:
    campaign_id = await nothing_fits_on_day_one(world)
    await keep_looking(world.ports, KeepLooking(USER, campaign_id, Widen.ANY_TIME))
    async with world.ports.uow() as uow:
        campaign = await uow.campaigns.get(campaign_id)
    assert campaign is not None
    assert campaign.windows[0].start == datetime(2026, 12, 7, 6, 0, tzinfo=UTC)  # 07:00 in Berlin
    assert campaign.windows[-1].end == datetime(2026, 12, 11, 19, 0, tzinfo=UTC)  # 20:00 in Berlin


async def test_a_watch_stops_when_its_appointment_is_cancelled(world: FakeWorld) -> None:
    _, old_id = await booked_at(world)
    watching = await watch_for_earlier(world.ports, USER, old_id, datetime(2026, 12, 9, tzinfo=UTC))
    async with world.ports.uow() as uow:
        appointment = await uow.appointments.get(old_id)
        assert appointment is not None
        appointment.status = AppointmentStatus.CANCELLED
        await uow.appointments.save(appointment)
        await uow.commit()

    world.clock.current = TUESDAY_8_BERLIN
    await sweep(world.ports)

    assert "berg" not in placed(world)[3:]
    [stopped] = news(world, RoundEvent.STOPPED)
    assert "cancelled" in stopped.reason
    assert await status(world, watching.id) is CampaignStatus.FAILED
