"""Reading a call brings its campaign and the user's booked appointments along (one statement), and finding
an offer brings its standing: the next read of the same transaction gets what the database would have said,
and a write in between is seen. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from domain.models import AppointmentStatus, TimeWindow
from domain.ports import UnitOfWorkFactory
from tests.integration.storage import builders
from tests.integration.storage.builders import NOW, USER_ID


async def _booked(uow_factory: UnitOfWorkFactory, starts_after_creation: list[timedelta]) -> list[str]:
    """A second campaign of the user with one offer per start and each booked; returns the appointment ids."""
    other, offers = await builders.store_offers(uow_factory, len(starts_after_creation))
    ids = []
    async with uow_factory() as uow:
        for offer, delta in zip(offers, starts_after_creation, strict=True):
            appointment = builders.appointment(other.id, offer.id, NOW + delta)
            await uow.appointments.add(appointment)
            ids.append(appointment.id)
        await uow.commit()
    return ids


async def test_a_call_read_brings_its_campaign_and_the_users_appointments(uow_factory: UnitOfWorkFactory) -> None:
    campaign, call = await builders.store_campaign_with_call(uow_factory)
    early, inside, late = await _booked(uow_factory, [timedelta(hours=-3), timedelta(days=1), timedelta(days=9)])
    window = TimeWindow(NOW, NOW + timedelta(days=2))
    async with uow_factory() as uow:
        assert await uow.calls.get(call.id) == call
        assert await uow.campaigns.get(campaign.id) == campaign
        assert [a.id for a in await uow.appointments.overlapping(USER_ID, window)] == [inside]
        # Asked again, the database answers: the same.
        assert await uow.campaigns.get(campaign.id) == campaign
        assert [a.id for a in await uow.appointments.overlapping(USER_ID, window)] == [inside]
    # A window that starts before the campaign was created is not covered by what was read ahead.
    before = TimeWindow(NOW - timedelta(hours=4), NOW + timedelta(days=10))
    async with uow_factory() as uow:
        assert await uow.calls.get_by_token_hash(call.token_hash) == call
        assert [a.id for a in await uow.appointments.overlapping(USER_ID, before)] == [early, inside, late]


async def test_a_write_in_the_same_transaction_is_seen_by_the_next_read(uow_factory: UnitOfWorkFactory) -> None:
    campaign, call = await builders.store_campaign_with_call(uow_factory)
    (inside,) = await _booked(uow_factory, [timedelta(days=1)])
    window = TimeWindow(NOW, NOW + timedelta(days=2))
    async with uow_factory() as uow:
        await uow.calls.get(call.id)
        appointment = await uow.appointments.get(inside)
        assert appointment is not None
        appointment.status = AppointmentStatus.CANCELLED
        await uow.appointments.save(appointment)
        assert await uow.appointments.overlapping(USER_ID, window) == []
        changed = await uow.campaigns.get(campaign.id)
        assert changed is not None
        changed.radius_km = 3.5
        await uow.campaigns.save(changed)
        await uow.calls.get(call.id)  # reads the campaign ahead again, as it now stands
        again = await uow.campaigns.get(campaign.id)
        assert again is not None and again.radius_km == 3.5 and again.version == changed.version


async def test_finding_an_offer_brings_its_standing(uow_factory: UnitOfWorkFactory) -> None:
    _, offers = await builders.store_offers(uow_factory, 3)
    offers[2].score = 0.99
    async with uow_factory() as uow:
        await uow.offers.save(offers[2])
        await uow.commit()
    async with uow_factory() as uow:
        found = [await uow.offers.find(o.call_task_id, o.start) for o in offers]
        assert [await uow.offers.standing(o) for o in found if o is not None] == [(2, 3), (3, 3), (1, 3)]
        # Changed after it was found, the offer is counted again as it now stands.
        first = await uow.offers.find(offers[0].call_task_id, offers[0].start)
        assert first is not None
        first.score = 0.995
        await uow.offers.save(first)
        assert await uow.offers.standing(first) == (1, 3)
