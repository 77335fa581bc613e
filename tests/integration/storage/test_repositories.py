"""Round trips of every entity, and the queries the use cases rely on, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.exc import StatementError

from domain.errors import ConcurrentUpdate
from domain.models import (
    AppointmentStatus,
    CalendarLink,
    CallOutcome,
    CallPurpose,
    CallStatus,
    CampaignStatus,
    ChatSession,
    GeoPoint,
    OfferStatus,
    Reminder,
    TimeWindow,
    Turn,
    User,
    Weights,
)
from domain.opening_hours import opening_hours_from_spec
from domain.ports import UnitOfWorkFactory
from domain.scoring import rank
from storage.types import NaiveDatetimeError
from tests.integration.storage import builders
from tests.integration.storage.builders import BERLIN, NOW, USER_ID


async def test_user_round_trips_and_save_replaces(uow_factory: UnitOfWorkFactory) -> None:
    user = User(
        id=USER_ID,
        timezone="America/New_York",
        home=GeoPoint(40.7128, -74.006, "Home"),
        weights=Weights(0.1, 0.2, 0.7),
        radius_km=4.5,
        reminders_enabled=False,
        language="de",
        display_name="Ada",
    )
    async with uow_factory() as uow:
        await uow.users.save(user)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.users.get(USER_ID) == user
        user.home = None
        user.display_name = "Ada L."
        await uow.users.save(user)
        assert await uow.users.get(USER_ID) == user
        assert await uow.users.get(USER_ID + 1) is None


async def test_campaign_round_trips_with_windows_and_weights(uow_factory: UnitOfWorkFactory) -> None:
    campaign = builders.campaign(
        windows=[
            TimeWindow(NOW + timedelta(days=2), NOW + timedelta(days=2, hours=3)),
            TimeWindow(NOW + timedelta(days=1), NOW + timedelta(days=1, hours=2)),
        ],
        request_text="dentist next Tuesday afternoon near Alexanderplatz",
        weights=Weights(0.8, 0.1, 0.1),
        language="de",
        max_calls=3,
        radius_km=2.5,
        duration_minutes=45,
    )
    async with uow_factory() as uow:
        await uow.campaigns.add(campaign)
        await uow.commit()
    async with uow_factory() as uow:
        loaded = await uow.campaigns.get(campaign.id)
    assert loaded == campaign
    assert loaded is not None
    assert [w.start.utcoffset() for w in loaded.windows] == [timedelta(0), timedelta(0)]


async def test_campaign_save_keeps_every_change(uow_factory: UnitOfWorkFactory) -> None:
    campaign = builders.campaign()
    async with uow_factory() as uow:
        await uow.campaigns.add(campaign)
        campaign.transition(CampaignStatus.PROVIDER_LOOKUP, NOW)
        campaign.transition(CampaignStatus.FAILED, NOW + timedelta(seconds=5), "No dentist answered.")
        campaign.chosen_offer_id = "offer-1"
        await uow.campaigns.save(campaign)
        await uow.commit()
    assert campaign.version == 1
    async with uow_factory() as uow:
        assert await uow.campaigns.get(campaign.id) == campaign


async def test_campaign_lists_and_counts(uow_factory: UnitOfWorkFactory) -> None:
    old = builders.campaign(created_at=NOW - timedelta(hours=2), deadline_at=NOW + timedelta(minutes=5))
    new = builders.campaign(created_at=NOW, deadline_at=NOW + timedelta(minutes=30))
    other_user = builders.campaign(user_id=USER_ID + 1, deadline_at=NOW + timedelta(minutes=1))
    new.transition(CampaignStatus.PROVIDER_LOOKUP, NOW)
    async with uow_factory() as uow:
        for campaign in (old, new, other_user):
            await uow.campaigns.add(campaign)
        await uow.commit()
    async with uow_factory() as uow:
        assert [c.id for c in await uow.campaigns.list_for_user(USER_ID)] == [new.id, old.id]
        assert [c.id for c in await uow.campaigns.list_for_user(USER_ID, limit=1)] == [new.id]
        created = await uow.campaigns.list_for_user(USER_ID, statuses=[CampaignStatus.CREATED])
        assert [c.id for c in created] == [old.id]
        by_deadline = await uow.campaigns.list_by_status([CampaignStatus.CREATED, CampaignStatus.PROVIDER_LOOKUP])
        assert [c.id for c in by_deadline] == [other_user.id, old.id, new.id]
        overdue = await uow.campaigns.list_by_status(
            [CampaignStatus.CREATED, CampaignStatus.PROVIDER_LOOKUP], deadline_before=NOW + timedelta(minutes=5)
        )
        assert [c.id for c in overdue] == [other_user.id]
        assert await uow.campaigns.count_created_since(USER_ID, NOW - timedelta(hours=1)) == 1
        assert await uow.campaigns.count_created_since(USER_ID, NOW - timedelta(hours=2)) == 2


async def test_call_round_trips_with_provider_and_transcript(uow_factory: UnitOfWorkFactory) -> None:
    campaign, _ = await builders.store_campaign_with_call(uow_factory)
    call = builders.call(
        campaign.id,
        provider=builders.provider(rating=None, review_count=0, location=GeoPoint(52.5, 13.4)),
        purpose=CallPurpose.CONFIRM,
        target_offer_id="offer-9",
    )
    async with uow_factory() as uow:
        await uow.calls.add(call)
        call.advance(CallStatus.DIALING, NOW)
        call.conversation_id = "conv-123"
        call.call_sid = "CA123"
        call.advance(CallStatus.IN_PROGRESS, NOW + timedelta(seconds=3))
        call.transcript = [
            Turn("agent", "Guten Tag, ich rufe für Ada an.", NOW + timedelta(seconds=4)),
            Turn("provider", "Dienstag um 15 Uhr ginge.", NOW + timedelta(seconds=9, microseconds=17)),
        ]
        call.end(CallStatus.COMPLETED, NOW + timedelta(minutes=2), CallOutcome.OFFER_MADE, "Offered Tuesday 15:00.")
        await uow.calls.save(call)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.calls.get(call.id) == call
        assert await uow.calls.get_by_token_hash(call.token_hash) == call
        assert await uow.calls.get_by_conversation_id("conv-123") == call
        assert await uow.calls.get_by_token_hash("unknown") is None
        assert await uow.calls.get_by_conversation_id("unknown") is None


async def test_calls_of_a_campaign_come_in_creation_order(uow_factory: UnitOfWorkFactory) -> None:
    campaign, first = await builders.store_campaign_with_call(uow_factory)
    # Created in the same instant, as a campaign's calls are.
    later = [builders.call(campaign.id, provider=builders.provider(id=f"prov-{i}")) for i in range(2, 8)]
    async with uow_factory() as uow:
        for call in later:
            await uow.calls.add(call)
        await uow.commit()
    async with uow_factory() as uow:
        listed = await uow.calls.list_for_campaign(campaign.id)
    assert [c.id for c in listed] == [first.id] + [c.id for c in later]


async def test_open_calls_and_timeouts(uow_factory: UnitOfWorkFactory) -> None:
    campaign, early = await builders.store_campaign_with_call(uow_factory)
    late = builders.call(campaign.id, created_at=NOW + timedelta(minutes=1), timeout_at=NOW + timedelta(minutes=20))
    ended = builders.call(campaign.id, timeout_at=NOW)
    ended.end(CallStatus.NO_ANSWER, NOW)
    async with uow_factory() as uow:
        await uow.calls.add(late)
        await uow.calls.add(ended)
        await uow.commit()
    async with uow_factory() as uow:
        assert [c.id for c in await uow.calls.list_open()] == [early.id, late.id]
        assert [c.id for c in await uow.calls.list_open(started_before=NOW + timedelta(seconds=30))] == [early.id]
        assert [c.id for c in await uow.calls.list_open(limit=1)] == [early.id]
        assert [c.id for c in await uow.calls.list_open_past_timeout(NOW + timedelta(minutes=10))] == [early.id]
        assert await uow.calls.list_open_past_timeout(NOW + timedelta(minutes=9)) == []


async def test_offer_round_trips_and_is_found_by_call_and_start(uow_factory: UnitOfWorkFactory) -> None:
    campaign, call = await builders.store_campaign_with_call(uow_factory)
    start = datetime(2030, 3, 5, 15, 0, tzinfo=BERLIN)
    offer = builders.offer(campaign.id, call.id, start=start, rating=None, notes="Bring your insurance card.")
    async with uow_factory() as uow:
        await uow.offers.add(offer)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.offers.get(offer.id) == offer
        assert await uow.offers.find(call.id, start.astimezone(UTC)) == offer
        assert await uow.offers.find(call.id, start + timedelta(minutes=1)) is None
        offer.status = OfferStatus.CHOSEN
        offer.score = 0.25
        await uow.offers.save(offer)
        assert await uow.offers.list_for_campaign(campaign.id) == [offer]


async def test_standing_ranks_open_offers_as_the_scoring_does(uow_factory: UnitOfWorkFactory) -> None:
    campaign, call = await builders.store_campaign_with_call(uow_factory)
    day = datetime(2030, 3, 5, 9, 0, tzinfo=UTC)
    offers = [
        builders.offer(campaign.id, call.id, start=day, score=0.7, rating=4.0, provider_name="Zeta"),
        builders.offer(
            campaign.id, call.id, start=day + timedelta(hours=1), score=0.7, rating=4.0, provider_name="Alpha"
        ),
        builders.offer(campaign.id, call.id, start=day + timedelta(hours=2), score=0.9, rating=None),
        builders.offer(campaign.id, call.id, start=day + timedelta(hours=3), score=0.7, rating=None),
        builders.offer(
            campaign.id, call.id, start=day + timedelta(hours=4), score=0.95, status=OfferStatus.UNAVAILABLE
        ),
    ]
    async with uow_factory() as uow:
        for offer in offers:
            await uow.offers.add(offer)
        await uow.commit()
    async with uow_factory() as uow:
        standings = [await uow.offers.standing(o) for o in offers[:4]]
        expected = [(i, 4) for i in (2, 3, 1, 4)]  # rank(...) of the open ones, best first
        assert standings == expected
        assert [o.id for o in rank(o for o in offers if o.status is OfferStatus.OFFERED)] == [
            offers[2].id,
            offers[0].id,
            offers[1].id,
            offers[3].id,
        ]


async def test_a_new_offer_has_the_same_standing_before_it_is_stored_as_after(uow_factory: UnitOfWorkFactory) -> None:
    # report-slot-offer reads a new offer's standing ahead of the transaction that stores it.
    campaign, offers = await builders.store_offers(uow_factory, 3)
    newcomer = builders.offer(
        campaign.id, offers[0].call_task_id, start=offers[0].start + timedelta(days=1), score=offers[1].score
    )
    async with uow_factory() as uow:
        before = await uow.offers.standing(newcomer)
        await uow.offers.add(newcomer)
        after = await uow.offers.standing(newcomer)
        await uow.commit()
    async with uow_factory() as uow:
        stored = await uow.offers.standing(newcomer)
    assert before == after == stored
    assert before == (4, 4)  # the same score, the latest start: last of four


async def test_a_call_reports_one_offer_per_start(uow_factory: UnitOfWorkFactory) -> None:
    campaign, offers = await builders.store_offers(uow_factory, 1)
    duplicate = builders.offer(campaign.id, offers[0].call_task_id, start=offers[0].start)
    async with uow_factory() as uow:
        with pytest.raises(ConcurrentUpdate, match="already reported an offer"):
            await uow.offers.add(duplicate)
        # The refused insert left the transaction usable.
        assert [o.id for o in await uow.offers.list_for_campaign(campaign.id)] == [offers[0].id]


async def test_appointment_round_trips_and_lists(uow_factory: UnitOfWorkFactory) -> None:
    campaign, offers = await builders.store_offers(uow_factory, 3)
    tomorrow = NOW + timedelta(days=1)
    later = builders.appointment(campaign.id, offers[1].id, tomorrow + timedelta(hours=3), calendar_event_id="ev-1")
    sooner = builders.appointment(campaign.id, offers[0].id, tomorrow)
    cancelled = builders.appointment(
        campaign.id, offers[2].id, tomorrow + timedelta(minutes=10), status=AppointmentStatus.CANCELLED
    )
    async with uow_factory() as uow:
        for appointment in (later, sooner, cancelled):
            await uow.appointments.add(appointment)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.appointments.get(later.id) == later
        assert await uow.appointments.get_by_offer(offers[0].id) == sooner
        assert await uow.appointments.list_for_user(USER_ID) == [sooner, cancelled, later]
        booked = await uow.appointments.list_for_user(USER_ID, statuses=[AppointmentStatus.BOOKED])
        assert booked == [sooner, later]
        ending = await uow.appointments.list_for_user(USER_ID, ending_after=tomorrow + timedelta(minutes=30))
        assert ending == [cancelled, later]
        window = TimeWindow(tomorrow + timedelta(minutes=20), tomorrow + timedelta(hours=4))
        assert await uow.appointments.overlapping(USER_ID, window) == [sooner, later]
        assert await uow.appointments.overlapping(USER_ID + 1, window) == []
        later.status = AppointmentStatus.CANCELLED
        await uow.appointments.save(later)
        assert await uow.appointments.overlapping(USER_ID, window) == [sooner]


async def test_reminders_are_claimed_once_when_due(uow_factory: UnitOfWorkFactory) -> None:
    campaign, offers = await builders.store_offers(uow_factory, 1)
    appointment = builders.appointment(campaign.id, offers[0].id, offers[0].start)
    due = [Reminder(appointment.id, USER_ID, NOW + timedelta(minutes=m), lead_minutes=60 - m) for m in (5, 1, 3)]
    not_yet = Reminder(appointment.id, USER_ID, NOW + timedelta(hours=1), lead_minutes=60)
    async with uow_factory() as uow:
        await uow.appointments.add(appointment)
        for reminder in [*due, not_yet]:
            await uow.reminders.add(reminder)
        await uow.commit()
    claim_at = NOW + timedelta(minutes=5)
    async with uow_factory() as uow:
        first = await uow.reminders.claim_due(claim_at, limit=2)
        rest = await uow.reminders.claim_due(claim_at)
        again = await uow.reminders.claim_due(claim_at)
        await uow.commit()
    for reminder in due:
        reminder.sent_at = claim_at
    assert first == [due[1], due[2]]  # earliest due first
    assert rest == [due[0]]
    assert again == []


async def test_cancelled_reminders_are_never_claimed(uow_factory: UnitOfWorkFactory) -> None:
    campaign, offers = await builders.store_offers(uow_factory, 1)
    appointment = builders.appointment(campaign.id, offers[0].id, offers[0].start)
    reminders = [Reminder(appointment.id, USER_ID, NOW, lead_minutes=m) for m in (60, 1440)]
    async with uow_factory() as uow:
        await uow.appointments.add(appointment)
        for reminder in reminders:
            await uow.reminders.add(reminder)
        assert len(await uow.reminders.claim_due(NOW, limit=1)) == 1
        assert await uow.reminders.cancel_for_appointment(appointment.id) == 1
        assert await uow.reminders.cancel_for_appointment(appointment.id) == 0
        assert await uow.reminders.claim_due(NOW + timedelta(days=1)) == []


async def test_calendar_link_is_saved_replaced_and_deleted(uow_factory: UnitOfWorkFactory) -> None:
    link = CalendarLink(USER_ID, "google", "gAAAA-encrypted", NOW)
    async with uow_factory() as uow:
        await uow.calendar_links.save(link)
        await uow.commit()
    replacement = CalendarLink(USER_ID, "google", "gAAAA-newer", NOW + timedelta(days=1), calendar_id="work")
    async with uow_factory() as uow:
        assert await uow.calendar_links.get(USER_ID) == link
        await uow.calendar_links.save(replacement)
        assert await uow.calendar_links.get(USER_ID) == replacement
        assert await uow.calendar_links.delete(USER_ID) is True
        assert await uow.calendar_links.delete(USER_ID) is False
        assert await uow.calendar_links.get(USER_ID) is None


async def test_chat_session_state_round_trips_exactly(uow_factory: UnitOfWorkFactory) -> None:
    state: dict[str, object] = {
        "asking": "location",
        "draft": {"service": "dentist", "windows": [["2030-03-05T13:00:00+00:00", "2030-03-05T17:00:00+00:00"]]},
        "live_message_id": 4242,
        "weights": [0.5, 0.3, 0.2],
        "confirmed": False,
        "note": None,
        "umlaut": "Zahnärztin in Köln",
    }
    session = ChatSession(USER_ID, state, NOW)
    async with uow_factory() as uow:
        await uow.chat_sessions.save(session)
        await uow.commit()
    assert session.version == 1
    async with uow_factory() as uow:
        assert await uow.chat_sessions.get(USER_ID) == session
        updated = ChatSession(USER_ID, {"asking": None}, NOW + timedelta(minutes=1), version=1)
        await uow.chat_sessions.save(updated)
        assert await uow.chat_sessions.get(USER_ID) == updated
        await uow.chat_sessions.delete(USER_ID)
        assert await uow.chat_sessions.get(USER_ID) is None


async def test_a_stale_chat_session_is_refused(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        await uow.chat_sessions.save(ChatSession(USER_ID, {"step": "idle"}, NOW))
        await uow.commit()
    async with uow_factory() as uow:
        with pytest.raises(ConcurrentUpdate):  # a second first write: someone else created it meanwhile
            await uow.chat_sessions.save(ChatSession(USER_ID, {"step": "time"}, NOW))
    async with uow_factory() as uow:
        fresh = await uow.chat_sessions.get(USER_ID)
        assert fresh is not None
        stale = ChatSession(USER_ID, {"step": "place"}, NOW, version=fresh.version)
        fresh.state = {"step": "time"}
        await uow.chat_sessions.save(fresh)
        with pytest.raises(ConcurrentUpdate):
            await uow.chat_sessions.save(stale)


async def test_leaving_without_commit_rolls_back(uow_factory: UnitOfWorkFactory) -> None:
    campaign = builders.campaign()
    async with uow_factory() as uow:
        await uow.campaigns.add(campaign)
        await uow.events.remember("webhook-1", NOW)
    async with uow_factory() as uow:
        await uow.campaigns.add(builders.campaign())
        await uow.rollback()
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.campaigns.get(campaign.id) is None
        assert await uow.campaigns.list_for_user(USER_ID) == []
        assert await uow.events.remember("webhook-1", NOW) is True


async def test_an_error_inside_the_block_rolls_back(uow_factory: UnitOfWorkFactory) -> None:
    campaign = builders.campaign()

    async def add_then_fail() -> None:
        async with uow_factory() as uow:
            await uow.campaigns.add(campaign)
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        await add_then_fail()
    async with uow_factory() as uow:
        assert await uow.campaigns.get(campaign.id) is None


async def test_naive_datetimes_are_refused(uow_factory: UnitOfWorkFactory) -> None:
    naive = datetime(2030, 3, 4, 9, 30)  # noqa: DTZ001 - the point of the test
    async with uow_factory() as uow:
        with pytest.raises(StatementError) as caught:
            await uow.events.remember("webhook-naive", naive)
    assert isinstance(caught.value.orig, NaiveDatetimeError)
    assert "naive datetime 2030-03-04T09:30:00" in str(caught.value.orig)


async def test_scheduled_calls_keep_their_time_and_the_providers_hours_and_come_due_in_order(
    uow_factory: UnitOfWorkFactory,
) -> None:
    campaign, placed_now = await builders.store_campaign_with_call(uow_factory)
    hours = opening_hours_from_spec({"mon": ["08:00-12:00", "14:00-18:00"], "wed": ["08:00-12:00"]})
    at_ten = builders.call(
        campaign.id,
        provider=builders.provider(id="prov-2", opening_hours=hours),
        not_before=NOW + timedelta(minutes=10),
    )
    at_five = builders.call(campaign.id, provider=builders.provider(id="prov-3"), not_before=NOW + timedelta(minutes=5))
    closed = builders.call(campaign.id, provider=builders.provider(id="prov-4"))
    closed.end(CallStatus.CANCELLED, NOW, CallOutcome.CLOSED, reason="closed")
    async with uow_factory() as uow:
        for call in (at_ten, at_five, closed):
            await uow.calls.add(call)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.calls.get(at_ten.id) == at_ten  # the hours and the time round-trip
        assert await uow.calls.get(closed.id) == closed  # an outcome without a conversation
        assert await uow.calls.list_due(NOW + timedelta(minutes=4)) == []
        assert [c.id for c in await uow.calls.list_due(NOW + timedelta(minutes=10))] == [at_five.id, at_ten.id]
        assert placed_now.not_before is None


async def test_talk_seconds_count_the_users_ended_calls_since_a_moment(uow_factory: UnitOfWorkFactory) -> None:
    mine, first = await builders.store_campaign_with_call(uow_factory)
    others = builders.campaign(user_id=USER_ID + 1)
    second = builders.call(mine.id, provider=builders.provider(id="prov-2"))
    someone_elses = builders.call(others.id)
    still_open = builders.call(mine.id, provider=builders.provider(id="prov-3"))
    async with uow_factory() as uow:
        await uow.campaigns.add(others)
        for call in (second, someone_elses, still_open):
            await uow.calls.add(call)
        for call, start, minutes in (
            (first, NOW - timedelta(days=2), 3),
            (second, NOW + timedelta(minutes=1), 2),
            (someone_elses, NOW, 7),
            (still_open, NOW, 0),
        ):
            stored = await uow.calls.get(call.id)
            assert stored is not None
            stored.advance(CallStatus.DIALING, start)
            stored.advance(CallStatus.IN_PROGRESS, start)
            if minutes:
                stored.end(CallStatus.COMPLETED, start + timedelta(minutes=minutes, seconds=30))
            await uow.calls.save(stored)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.calls.talk_seconds_since(USER_ID, NOW) == 150.0
        assert await uow.calls.talk_seconds_since(USER_ID, NOW - timedelta(days=3)) == 360.0
        assert await uow.calls.talk_seconds_since(USER_ID + 2, NOW) == 0.0
