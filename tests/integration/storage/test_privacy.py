"""Personal data on a real database: the retention job forgets old transcripts and keeps the history, and
/delete_my_data removes everything of one user (twice, at once, or racing a new search) and nothing of anyone
else, but not while a search of theirs runs."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from domain.errors import ConcurrentUpdate
from domain.loop import Insurance, PatientStatus, UserProfile
from domain.models import (
    Appointment,
    CalendarLink,
    CallOutcome,
    CallStatus,
    CampaignStatus,
    ChatSession,
    Reminder,
    TimeWindow,
    Turn,
)
from domain.notifications import CallsChanged
from domain.ports import UnitOfWorkFactory
from domain.services.campaigns import StartCampaign, create_campaign, get_shortlist, record_transcript, run_campaign
from domain.services.context import Policy, Ports
from domain.services.privacy import Erasure, erase_user_data, forget_old_call_details
from domain.services.tool_calls import end_call, open_call, report_offer
from tests.factories import ALEXANDERPLATZ, make_provider
from tests.fakes import FakeCalendar, FakeCallSlots, FakeClock, FakeDirectory, FakeHoldStore, FakeVoiceGateway

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 30, 9, tzinfo=BERLIN)
WINDOW = TimeWindow(datetime(2026, 12, 1, 8, tzinfo=BERLIN), datetime(2026, 12, 1, 12, tzinfo=BERLIN))


def tomorrow(now: datetime) -> TimeWindow:
    return TimeWindow(now + timedelta(hours=23), now + timedelta(hours=27))


ANNA, BEN = 7, 8


def make_ports(uow_factory: UnitOfWorkFactory, clock: FakeClock) -> tuple[Ports, FakeVoiceGateway]:
    voice = FakeVoiceGateway()
    ports = Ports(
        uow=uow_factory,
        holds=FakeHoldStore(),
        calendar=FakeCalendar(),
        directory=FakeDirectory([make_provider("p1"), make_provider("p2", lng=13.42)]),
        voice=voice,
        clock=clock,
        slots=FakeCallSlots(),
        policy=Policy(transcript_retention=timedelta(days=30)),
    )
    return ports, voice


async def search_with_an_offer(ports: Ports, voice: FakeVoiceGateway, user_id: int) -> str:
    """A search of ``user_id`` that ends in a shortlist: p1 offers a slot, p2 has none; both calls transcribed."""
    window = tomorrow(ports.clock.now())
    campaign = await create_campaign(ports, StartCampaign(user_id, "dentist", [window], ALEXANDERPLATZ))
    await run_campaign(ports, campaign.id)
    for provider_id, offer in (("p1", window.start), ("p2", None)):
        ctx = await open_call(ports, voice.token_for(provider_id))
        words = [Turn("provider", "Anna Schmidt, born 1980? We have Tuesday at eight.", ports.clock.now())]
        await record_transcript(ports, ctx.call.id, words, summary="Spoke to the reception about Anna.")
        if offer is not None:
            await report_offer(ports, ctx, offer)
        await end_call(ports, ctx, CallOutcome.OFFER_MADE if offer else CallOutcome.NO_AVAILABILITY)
    return campaign.id


async def everything_of(ports: Ports, user_id: int, campaign_id: str) -> None:
    """Give ``user_id`` an appointment with a reminder, a calendar link, chat state and a message not yet sent."""
    (offer,) = await get_shortlist(ports, campaign_id)
    now = ports.clock.now()
    async with ports.uow() as uow:
        provider = (await uow.calls.get(offer.call_task_id)).provider  # type: ignore[union-attr]
        appointment = Appointment(user_id, campaign_id, offer.id, provider, offer.start, offer.end, now)
        await uow.appointments.add(appointment)
        await uow.reminders.add(Reminder(appointment.id, user_id, offer.start - timedelta(hours=1), 60))
        await uow.calendar_links.save(CalendarLink(user_id, "google", "secret-token", now))
        await uow.chat_sessions.save(ChatSession(user_id, {"step": "IDLE"}, now))
        await uow.outbox.add(user_id, CallsChanged(campaign_id), now)
        profile = UserProfile(user_id, "Anna", "+4915112345678", Insurance.PUBLIC, PatientStatus.NEW, True)
        await uow.profiles.save(profile)
        await uow.commit()


async def stored_of(ports: Ports, user_id: int, campaign_id: str) -> dict[str, object]:
    async with ports.uow() as uow:
        calls = await uow.calls.list_for_campaign(campaign_id)
        return {
            "user": await uow.users.get(user_id),
            "campaign": await uow.campaigns.get(campaign_id),
            "calls": calls,
            "turns": [turn for call in calls for turn in await uow.turns.list_for_call(call.id)],
            "profile": await uow.profiles.get(user_id),
            "offers": await uow.offers.list_for_campaign(campaign_id),
            "appointments": await uow.appointments.list_for_user(user_id),
            "calendar": await uow.calendar_links.get(user_id),
            "chat": await uow.chat_sessions.get(user_id),
        }


async def test_the_retention_job_forgets_old_transcripts_and_keeps_provider_slot_and_outcome(
    uow_factory: UnitOfWorkFactory,
) -> None:
    clock = FakeClock(NOW)
    ports, voice = make_ports(uow_factory, clock)
    old = await search_with_an_offer(ports, voice, ANNA)
    clock.advance(timedelta(days=20))
    ports_later, voice_later = make_ports(uow_factory, clock)
    recent = await search_with_an_offer(ports_later, voice_later, BEN)

    clock.advance(timedelta(days=11))  # the first search's calls are 31 days old, the second's 11
    assert await forget_old_call_details(ports) == 2
    assert await forget_old_call_details(ports) == 0  # done once

    async with uow_factory() as uow:
        old_calls = await uow.calls.list_for_campaign(old)
        recent_calls = await uow.calls.list_for_campaign(recent)
        old_offers = await uow.offers.list_for_campaign(old)
        old_turns = [await uow.turns.list_for_call(c.id) for c in old_calls]
        recent_turns = [await uow.turns.list_for_call(c.id) for c in recent_calls]
    assert [(c.transcript, c.summary, c.details_forgotten_at) for c in old_calls] == [([], None, clock.now())] * 2
    assert [(c.provider.id, c.status, c.outcome) for c in old_calls] == [
        ("p1", CallStatus.COMPLETED, CallOutcome.OFFER_MADE),
        ("p2", CallStatus.COMPLETED, CallOutcome.NO_AVAILABILITY),
    ]
    assert [(o.provider_id, o.start) for o in old_offers] == [("p1", tomorrow(NOW).start)]
    assert all(c.transcript and c.summary and c.details_forgotten_at is None for c in recent_calls)
    assert old_turns == [[], []] and all(recent_turns)  # the live turns go with the transcript


async def test_retention_jobs_in_several_processes_at_once_forget_each_call_once(
    uow_factory: UnitOfWorkFactory,
) -> None:
    clock = FakeClock(NOW)
    ports, voice = make_ports(uow_factory, clock)
    for user_id in (ANNA, BEN):
        await search_with_an_offer(ports, voice, user_id)
    clock.advance(timedelta(days=31))

    counts = await asyncio.gather(*(forget_old_call_details(ports) for _ in range(3)))

    assert sum(counts) == 4  # two calls of each search, each counted by the one job that cleared it


async def test_a_call_read_before_the_retention_job_ran_is_read_again_before_it_is_saved(
    uow_factory: UnitOfWorkFactory,
) -> None:
    clock = FakeClock(NOW)
    ports, voice = make_ports(uow_factory, clock)
    campaign_id = await search_with_an_offer(ports, voice, ANNA)
    async with uow_factory() as uow:
        stale = (await uow.calls.list_for_campaign(campaign_id))[0]
    clock.advance(timedelta(days=31))
    await forget_old_call_details(ports)

    async with uow_factory() as uow:  # the stale copy (with its transcript) cannot overwrite the forgotten call
        with pytest.raises(ConcurrentUpdate):
            await uow.calls.save(replace(stale, failure_reason="late"))


async def test_delete_my_data_removes_everything_of_the_user_and_nothing_of_anyone_else(
    uow_factory: UnitOfWorkFactory,
) -> None:
    ports, voice = make_ports(uow_factory, FakeClock(NOW))
    anna = await search_with_an_offer(ports, voice, ANNA)
    await everything_of(ports, ANNA, anna)
    ben_ports, ben_voice = make_ports(uow_factory, FakeClock(NOW))
    ben = await search_with_an_offer(ben_ports, ben_voice, BEN)
    await everything_of(ben_ports, BEN, ben)
    bens_before = await stored_of(ports, BEN, ben)

    assert await erase_user_data(ports, ANNA) is Erasure.ERASED

    assert await stored_of(ports, ANNA, anna) == {
        "user": None,
        "campaign": None,
        "calls": [],
        "turns": [],
        "profile": None,
        "offers": [],
        "appointments": [],
        "calendar": None,
        "chat": None,
    }
    async with uow_factory() as uow:
        pending = await uow.outbox.claim(NOW, NOW + timedelta(minutes=1), 100)
    assert {m.user_id for m in pending} == {BEN}  # Anna's undelivered messages went too
    assert await stored_of(ports, BEN, ben) == bens_before


async def test_deleting_twice_or_twice_at_once_is_harmless(uow_factory: UnitOfWorkFactory) -> None:
    ports, voice = make_ports(uow_factory, FakeClock(NOW))
    anna = await search_with_an_offer(ports, voice, ANNA)
    await everything_of(ports, ANNA, anna)

    results = await asyncio.gather(erase_user_data(ports, ANNA), erase_user_data(ports, ANNA))
    again = await erase_user_data(ports, ANNA)

    assert [*results, again] == [Erasure.ERASED] * 3
    assert (await stored_of(ports, ANNA, anna))["user"] is None


async def test_nothing_is_deleted_while_a_search_runs(uow_factory: UnitOfWorkFactory) -> None:
    ports, _ = make_ports(uow_factory, FakeClock(NOW))
    campaign = await create_campaign(ports, StartCampaign(ANNA, "dentist", [WINDOW], ALEXANDERPLATZ))
    await run_campaign(ports, campaign.id)  # both calls are still talking

    assert await erase_user_data(ports, ANNA) is Erasure.SEARCH_RUNNING

    stored = await stored_of(ports, ANNA, campaign.id)
    assert stored["user"] is not None and len(stored["calls"]) == 2  # type: ignore[arg-type]
    campaign_now = stored["campaign"]
    assert campaign_now is not None and campaign_now.status is CampaignStatus.NEGOTIATING  # type: ignore[attr-defined]


async def test_a_search_started_while_the_data_is_deleted_is_either_refused_or_kept_whole(
    uow_factory: UnitOfWorkFactory,
) -> None:
    ports, voice = make_ports(uow_factory, FakeClock(NOW))
    first = await search_with_an_offer(ports, voice, ANNA)
    command = StartCampaign(ANNA, "dentist", [WINDOW], ALEXANDERPLATZ)

    erased, started = await asyncio.gather(erase_user_data(ports, ANNA), create_campaign(ports, command))

    stored = await stored_of(ports, ANNA, started.id)
    if erased is Erasure.ERASED:  # the deletion went first: the new search and its user were written after it
        assert stored["campaign"] is not None and stored["user"] is not None
        assert (await stored_of(ports, ANNA, first))["campaign"] is None
    else:  # the search went first: nothing was deleted
        assert (await stored_of(ports, ANNA, first))["campaign"] is not None
