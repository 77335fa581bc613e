"""Races the database must decide: versions, double bookings, reminder claims, webhook replays.

Every concurrent actor has its own unit of work (own session, own connection), as separate requests or
processes would.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from domain.errors import ConcurrentUpdate, SlotConflict
from domain.models import Appointment, AppointmentStatus, CallStatus, CampaignStatus, Reminder, TimeWindow
from domain.ports import UnitOfWorkFactory
from tests.integration.storage import builders
from tests.integration.storage.builders import NOW, USER_ID
from tests.support.db import Database


async def test_a_stale_campaign_is_not_saved(uow_factory: UnitOfWorkFactory) -> None:
    campaign = builders.campaign()
    async with uow_factory() as uow:
        await uow.campaigns.add(campaign)
        await uow.commit()
    # Two requests read the same version; one writes first. (Separate transactions, one after the other:
    # two open units of work in one task would wait on each other's SQLite write lock.)
    async with uow_factory() as uow:
        mine = await uow.campaigns.get(campaign.id)
    async with uow_factory() as uow:
        theirs = await uow.campaigns.get(campaign.id)
    assert mine is not None
    assert theirs is not None
    async with uow_factory() as uow:
        mine.transition(CampaignStatus.PROVIDER_LOOKUP, NOW)
        await uow.campaigns.save(mine)
        await uow.commit()
    async with uow_factory() as uow:
        theirs.transition(CampaignStatus.CANCELLED, NOW)
        with pytest.raises(ConcurrentUpdate, match="changed by someone else"):
            await uow.campaigns.save(theirs)
    assert (mine.version, theirs.version) == (1, 0)
    async with uow_factory() as uow:
        assert await uow.campaigns.get(campaign.id) == mine


async def test_a_stale_call_is_not_saved(uow_factory: UnitOfWorkFactory) -> None:
    _, call = await builders.store_campaign_with_call(uow_factory)
    async with uow_factory() as uow:
        stale = await uow.calls.get(call.id)
        assert stale is not None
        call.advance(CallStatus.DIALING, NOW)
        await uow.calls.save(call)
        await uow.calls.save(call)  # each save moves the version on
        await uow.commit()
    assert call.version == 2
    stale.end(CallStatus.CANCELLED, NOW)
    async with uow_factory() as uow:
        with pytest.raises(ConcurrentUpdate):
            await uow.calls.save(stale)
        assert await uow.calls.get(call.id) == call


async def _book(uow_factory: UnitOfWorkFactory, appointment: Appointment) -> bool:
    async with uow_factory() as uow:
        try:
            await uow.appointments.add(appointment)
        except SlotConflict:
            return False
        await uow.commit()
        return True


@pytest.mark.parametrize("contenders", [2, 10])
async def test_concurrent_overlapping_bookings_give_one_appointment(
    uow_factory: UnitOfWorkFactory, contenders: int
) -> None:
    campaign, offers = await builders.store_offers(uow_factory, contenders)
    start = NOW + timedelta(days=1)
    # Every candidate overlaps every other: they start five minutes apart and last an hour.
    candidates = [
        builders.appointment(campaign.id, offer.id, start + timedelta(minutes=5 * i), minutes=60)
        for i, offer in enumerate(offers)
    ]
    results = await asyncio.gather(*(_book(uow_factory, a) for a in candidates))
    assert sorted(results) == [False] * (contenders - 1) + [True]
    async with uow_factory() as uow:
        booked = await uow.appointments.list_for_user(USER_ID, statuses=[AppointmentStatus.BOOKED])
    assert [a.id for a in booked] == [a.id for a, won in zip(candidates, results, strict=True) if won]


async def test_back_to_back_and_cancelled_appointments_do_not_clash(uow_factory: UnitOfWorkFactory) -> None:
    campaign, offers = await builders.store_offers(uow_factory, 4)
    start = NOW + timedelta(days=1)
    first = builders.appointment(campaign.id, offers[0].id, start)
    cancelled = builders.appointment(campaign.id, offers[1].id, start, status=AppointmentStatus.CANCELLED)
    following = builders.appointment(campaign.id, offers[2].id, first.end)
    other_user = builders.appointment(campaign.id, offers[3].id, start, user_id=USER_ID + 1)
    results = await asyncio.gather(*(_book(uow_factory, a) for a in (first, cancelled, following, other_user)))
    assert results == [True, True, True, True]


async def test_rebooking_a_cancelled_appointment_over_another_is_refused(uow_factory: UnitOfWorkFactory) -> None:
    campaign, offers = await builders.store_offers(uow_factory, 2)
    start = NOW + timedelta(days=1)
    cancelled = builders.appointment(campaign.id, offers[0].id, start, status=AppointmentStatus.CANCELLED)
    booked = builders.appointment(campaign.id, offers[1].id, start + timedelta(minutes=15))
    assert await _book(uow_factory, cancelled)
    assert await _book(uow_factory, booked)
    async with uow_factory() as uow:
        cancelled.status = AppointmentStatus.BOOKED
        with pytest.raises(SlotConflict, match="already have an appointment at that time"):
            await uow.appointments.save(cancelled)


@pytest.mark.postgres
async def test_postgres_refuses_an_overlap_the_check_could_not_see(postgres_database: Database) -> None:
    # (SQLite serialises writers, so there its check always sees the other booking.)
    uow_factory = postgres_database.uow_factory
    campaign, offers = await builders.store_offers(uow_factory, 2)
    start = NOW + timedelta(days=1)
    # ``first`` is entered last so that it is closed first: should anything below fail, its rollback frees
    # the row the second booking waits on, and closing ``second`` (which needs its connection back from the
    # waiting insert) can finish instead of waiting for ``first`` forever.
    async with uow_factory() as second, uow_factory() as first:
        await first.appointments.add(builders.appointment(campaign.id, offers[0].id, start))
        # The watch takes its first look before the second booking starts, so it must see a wait that
        # begins after that look (the busy machine's order, made certain).
        looked = asyncio.Event()
        watch = asyncio.create_task(_until_a_session_waits_on_a_lock(postgres_database, looked))
        await looked.wait()
        # The second booking's check cannot see the first, uncommitted one; its insert waits on it.
        pending = asyncio.create_task(
            second.appointments.add(builders.appointment(campaign.id, offers[1].id, start + timedelta(minutes=10)))
        )
        await watch
        await first.commit()
        with pytest.raises(SlotConflict, match="already have an appointment"):
            await pending
        # Only the savepoint was lost: the second transaction carries on.
        assert len(await second.appointments.overlapping(USER_ID, TimeWindow(start, start + timedelta(hours=1)))) == 1


# How long a test waits for a session to start waiting on a lock before it fails.
LOCK_WAIT_BOUND_SECONDS = 10


async def _until_a_session_waits_on_a_lock(database: Database, looked: asyncio.Event | None = None) -> None:
    """Return once a session of the test database waits on a lock; ``looked`` is set after every look.

    PostgreSQL answers ``pg_stat_activity`` from a snapshot taken at a transaction's first look, so each
    look is a transaction of its own: looks within one transaction would never see a wait begin.
    """
    query = text(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    try:
        async with asyncio.timeout(LOCK_WAIT_BOUND_SECONDS), database.engine.connect() as connection:
            while True:
                waiting = (await connection.execute(query)).scalar_one()
                await connection.rollback()  # ends the snapshot
                if looked is not None:
                    looked.set()
                if waiting:
                    return
    except TimeoutError:
        raise AssertionError(
            f"The second booking did not wait for the first within {LOCK_WAIT_BOUND_SECONDS} seconds."
        ) from None


@pytest.mark.postgres
async def test_postgres_constraint_refuses_raw_overlapping_rows(postgres_database: Database) -> None:
    database = postgres_database
    campaign, offers = await builders.store_offers(database.uow_factory, 2)
    insert = text(
        "INSERT INTO appointments (id, user_id, campaign_id, offer_id, provider, start_at, end_at, created_at, status)"
        " VALUES (:id, 1, :campaign, :offer, '{}', :start, :end, :start, 'BOOKED')"
    )
    start = NOW + timedelta(days=1)
    async with database.engine.begin() as connection:
        await connection.execute(
            insert,
            {
                "id": "a1",
                "campaign": campaign.id,
                "offer": offers[0].id,
                "start": start,
                "end": start + timedelta(hours=1),
            },
        )
    with pytest.raises(IntegrityError, match="appointments_no_overlap"):
        async with database.engine.begin() as connection:
            await connection.execute(
                insert,
                {
                    "id": "a2",
                    "campaign": campaign.id,
                    "offer": offers[1].id,
                    "start": start + timedelta(minutes=59),
                    "end": start + timedelta(hours=2),
                },
            )


async def test_concurrent_claimers_never_share_a_reminder(uow_factory: UnitOfWorkFactory) -> None:
    campaign, offers = await builders.store_offers(uow_factory, 1)
    appointment = builders.appointment(campaign.id, offers[0].id, offers[0].start)
    reminders = [Reminder(appointment.id, USER_ID, NOW + timedelta(seconds=i), lead_minutes=60) for i in range(30)]
    async with uow_factory() as uow:
        await uow.appointments.add(appointment)
        for reminder in reminders:
            await uow.reminders.add(reminder)
        await uow.commit()

    async def claim() -> list[str]:
        async with uow_factory() as uow:
            claimed = await uow.reminders.claim_due(NOW + timedelta(minutes=1), limit=7)
            await uow.commit()
            return [r.id for r in claimed]

    batches = await asyncio.gather(*(claim() for _ in range(8)))
    claimed = [reminder_id for batch in batches for reminder_id in batch]
    assert sorted(claimed) == sorted(r.id for r in reminders)


async def test_a_replayed_event_is_recognised_without_breaking_the_transaction(uow_factory: UnitOfWorkFactory) -> None:
    campaign = builders.campaign()
    async with uow_factory() as uow:
        assert await uow.events.remember("post-call:conv-1", NOW) is True
        assert await uow.events.remember("post-call:conv-1", NOW) is False
        await uow.campaigns.add(campaign)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.events.remember("post-call:conv-1", NOW + timedelta(hours=1)) is False
        assert await uow.campaigns.get(campaign.id) == campaign


async def test_concurrent_deliveries_of_one_event_are_processed_once(uow_factory: UnitOfWorkFactory) -> None:
    async def deliver() -> bool:
        async with uow_factory() as uow:
            first_time = await uow.events.remember("telegram:update:991", NOW)
            await uow.commit()
            return first_time

    assert sorted(await asyncio.gather(*(deliver() for _ in range(5)))) == [False, False, False, False, True]
