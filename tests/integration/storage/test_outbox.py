"""The outbox and its dispatcher on SQLite and PostgreSQL: what is queued is delivered once it can be, in
order per user, retried after failures and Telegram's retry_after, kept as failed after the last try, and
never delivered twice by two dispatchers on two engines.

The dispatcher runs on a clock of the test's own (``WallClock``), so a retry that is due "in ten seconds"
is due when the test moves the clock, not after a sleep.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import random
from collections import defaultdict
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from benchmarks.seeding import RecordingVoiceGateway, seeding_ports
from domain.errors import DeliveryFailed
from domain.models import AppointmentStatus, OfferStatus, Reminder
from domain.notifications import (
    AppointmentCancelled,
    AppointmentReminder,
    Booked,
    CallsChanged,
    CampaignCancelled,
    CampaignFailed,
    CampaignProgress,
    ConfirmationRetrying,
    Notification,
    ShortlistReady,
    SlotGone,
)
from domain.ports import UnitOfWorkFactory
from domain.services.appointments import send_due_reminders
from integrations.clock import FixedClock
from nexus.notifications import Dispatcher
from storage.engine import create_engine
from storage.orm import OutboxRow
from storage.uow import make_uow_factory
from tests.integration.storage import builders
from tests.integration.storage.builders import NOW, USER_ID
from tests.support.db import Database

RETRY = timedelta(seconds=10)


class WallClock:
    def __init__(self) -> None:
        self.current = NOW

    def now(self) -> datetime:
        return self.current

    def advance(self, delta: timedelta) -> None:
        self.current += delta


class Sink:
    """Records what it is given; ``failures`` are raised, one per delivery, before anything is recorded."""

    def __init__(
        self, failures: list[DeliveryFailed] | None = None, *, shuffle: bool = False, failing_user: int | None = None
    ) -> None:
        self.received: list[tuple[int, Notification]] = []
        self.failures = list(failures or [])
        self._shuffle = shuffle
        self._failing_user = failing_user
        self.arrived = asyncio.Event()

    async def notify(self, user_id: int, notification: Notification) -> None:
        if self._shuffle:  # deliveries of different users interleave differently each time
            for _ in range(random.randint(0, 5)):
                await asyncio.sleep(0)
        if self.failures and self._failing_user in (None, user_id):
            raise self.failures.pop(0)
        self.received.append((user_id, notification))
        self.arrived.set()

    def of(self, user_id: int) -> list[Notification]:
        return [n for u, n in self.received if u == user_id]


def dispatcher(uow: UnitOfWorkFactory, sink: Sink, clock: WallClock, **options: object) -> Dispatcher:
    return Dispatcher(uow, sink, now=clock.now, retry_delay=lambda _: RETRY, **options)  # type: ignore[arg-type]


def cancelled(user_id: int = USER_ID) -> CampaignCancelled:
    return CampaignCancelled(builders.campaign(user_id=user_id))


async def queue(uow_factory: UnitOfWorkFactory, *messages: tuple[int, Notification]) -> None:
    async with uow_factory() as uow:
        for user_id, notification in messages:
            await uow.outbox.add(user_id, notification, NOW)
        await uow.commit()


async def stored(database: Database) -> list[OutboxRow]:
    async with database.engine.connect() as connection:
        return list((await connection.execute(select(OutboxRow).order_by(OutboxRow.seq))).all())  # type: ignore[arg-type]


async def test_every_kind_of_message_reads_back_as_it_was_queued(database: Database) -> None:
    campaign, offers = await builders.store_offers(database.uow_factory, 2)
    campaign.version = 3
    first, second = offers
    second.status = OfferStatus.UNAVAILABLE
    appointment = builders.appointment(campaign.id, first.id, first.start, calendar_event_id="evt-1")
    gone = builders.appointment(campaign.id, second.id, second.start, status=AppointmentStatus.CANCELLED)
    campaign.failure_reason = "Nobody had time – niemand hatte Zeit."
    messages: list[Notification] = [
        CallsChanged(campaign.id),
        ShortlistReady(campaign, offers),
        CampaignFailed(campaign),
        CampaignCancelled(campaign),
        Booked(campaign, appointment),
        SlotGone(campaign, second, [first]),
        ConfirmationRetrying(campaign, first, 2, NOW + timedelta(minutes=1)),
        AppointmentCancelled(gone),
        AppointmentReminder(appointment, timedelta(hours=24)),
    ]
    # One user each, so that every message is the head of its user's queue and claimed at once.
    await queue(database.uow_factory, *((USER_ID + i, message) for i, message in enumerate(messages)))

    async with database.uow_factory() as uow:
        claimed = await uow.outbox.claim(NOW, NOW + timedelta(minutes=1), 100)
    assert [entry.notification for entry in claimed] == messages


async def test_the_same_message_queued_twice_is_one(database: Database) -> None:
    message = cancelled()
    async with database.uow_factory() as uow:
        assert await uow.outbox.add(USER_ID, message, NOW) is True
        assert await uow.outbox.add(USER_ID, message, NOW) is False
        await uow.commit()
    await queue(database.uow_factory, (USER_ID, message))  # another transaction, later
    assert len(await stored(database)) == 1


async def test_a_failed_send_is_tried_again_and_delivered(database: Database) -> None:
    clock = WallClock()
    sink = Sink([DeliveryFailed("Telegram could not be reached: timed out")])
    message = cancelled()
    await queue(database.uow_factory, (USER_ID, message))
    dispatch = dispatcher(database.uow_factory, sink, clock)

    await dispatch.deliver_due()
    [row] = await stored(database)
    assert (row.status, row.attempts, row.last_error) == ("PENDING", 1, "Telegram could not be reached: timed out")
    assert row.not_before == NOW + RETRY

    clock.advance(RETRY - timedelta(seconds=1))
    assert await dispatch.deliver_due() == 0  # not yet
    clock.advance(timedelta(seconds=1))
    await dispatch.deliver_due()

    assert sink.received == [(USER_ID, message)]
    [row] = await stored(database)
    assert (row.status, row.delivered_at) == ("DELIVERED", clock.now())


async def test_telegram_retry_after_is_honoured(database: Database) -> None:
    clock = WallClock()
    sink = Sink([DeliveryFailed("Telegram asked to wait 37 s.", retry_after=37)])
    await queue(database.uow_factory, (USER_ID, cancelled()))
    dispatch = dispatcher(database.uow_factory, sink, clock)

    await dispatch.deliver_due()
    clock.advance(timedelta(seconds=36))
    await dispatch.deliver_due()
    assert sink.received == []
    clock.advance(timedelta(seconds=1))
    await dispatch.deliver_due()
    assert len(sink.received) == 1


async def test_after_the_last_try_a_message_is_kept_as_failed_and_the_next_one_goes_out(
    database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    clock = WallClock()
    sink = Sink([DeliveryFailed(f"try {n}") for n in range(1, 4)])
    doomed, after = cancelled(), cancelled()
    await queue(database.uow_factory, (USER_ID, doomed), (USER_ID, after))
    dispatch = dispatcher(database.uow_factory, sink, clock, max_attempts=3)

    with caplog.at_level(logging.WARNING, logger="nexus.notifications"):
        for _ in range(3):
            await dispatch.deliver_due()
            clock.advance(RETRY)
        await dispatch.deliver_due()

    first, second = await stored(database)
    assert (first.status, first.attempts, first.last_error) == ("FAILED", 3, "try 3")
    assert second.status == "DELIVERED"
    assert sink.received == [(USER_ID, after)]
    assert f"gave up on message {first.seq} (CampaignCancelled) to user {USER_ID} after 3 tries: try 3" in caplog.text


async def test_a_refusal_that_cannot_change_is_not_tried_again(database: Database) -> None:
    clock = WallClock()
    sink = Sink([DeliveryFailed("Telegram refused the message: bot was blocked by the user", permanent=True)])
    await queue(database.uow_factory, (USER_ID, cancelled()))
    await dispatcher(database.uow_factory, sink, clock).deliver_due()
    [row] = await stored(database)
    assert (row.status, row.attempts) == ("FAILED", 1)


async def test_messages_of_one_user_keep_their_order_while_users_are_served_at_once(database: Database) -> None:
    clock = WallClock()
    users = [USER_ID + n for n in range(4)]
    queued = {user: [cancelled(user) for _ in range(6)] for user in users}
    # Round robin, as several campaigns' messages interleave in the table.
    await queue(database.uow_factory, *((u, queued[u][i]) for i in range(6) for u in users))
    # The very first message fails once: the rest of its user's messages must wait for it.
    sink = Sink([DeliveryFailed("network")], shuffle=True, failing_user=users[0])
    dispatch = dispatcher(database.uow_factory, sink, clock)

    await dispatch.deliver_due()
    assert sink.of(users[0]) == []
    assert all(sink.of(u) == queued[u] for u in users[1:])
    clock.advance(RETRY)
    await dispatch.deliver_due()
    assert sink.of(users[0]) == queued[users[0]]


async def test_live_view_refreshes_queued_in_a_row_are_one_delivery(database: Database) -> None:
    campaign, _ = await builders.store_offers(database.uow_factory, 2)
    other = builders.campaign()  # another search of the same user
    refresh = CallsChanged(campaign.id)
    await queue(database.uow_factory, *[(USER_ID, refresh)] * 5, (USER_ID, CampaignFailed(other)), (USER_ID, refresh))
    sink = Sink()

    await dispatcher(database.uow_factory, sink, WallClock(), live_view_interval=timedelta(0)).deliver_due()

    kinds = [type(n) for n in sink.of(USER_ID)]
    assert kinds == [CampaignProgress, CampaignFailed, CampaignProgress]
    progress = sink.of(USER_ID)[0]
    assert isinstance(progress, CampaignProgress)
    assert [o.id for o in progress.offers] and progress.campaign.id == campaign.id
    assert {row.status for row in await stored(database)} == {"DELIVERED"}


async def test_a_refresh_right_before_the_end_of_its_search_is_not_sent(database: Database) -> None:
    campaign, _ = await builders.store_offers(database.uow_factory, 2)
    refresh, failed = CallsChanged(campaign.id), CampaignFailed(campaign)
    await queue(database.uow_factory, (USER_ID, refresh), (USER_ID, refresh), (USER_ID, failed))
    sink = Sink()

    await dispatcher(database.uow_factory, sink, WallClock(), drop_superseded=True).deliver_due()

    assert sink.of(USER_ID) == [failed]  # which shows how the calls ended itself
    assert {row.status for row in await stored(database)} == {"DELIVERED"}


async def test_a_message_claimed_by_a_dispatcher_that_died_is_delivered_once_its_claim_runs_out(
    database: Database,
) -> None:
    clock = WallClock()
    await queue(database.uow_factory, (USER_ID, cancelled()), (USER_ID, cancelled()))
    async with database.uow_factory() as uow:  # claimed, then the process died before sending
        [entry] = await uow.outbox.claim(NOW, NOW + timedelta(minutes=1), 10)
        await uow.commit()
    sink = Sink()
    survivor = dispatcher(database.uow_factory, sink, clock)

    assert await survivor.deliver_due() == 0  # neither the claimed message nor the one behind it
    clock.advance(timedelta(minutes=1))
    await survivor.deliver_due()
    assert sink.received[0][1] == entry.notification
    assert len(sink.received) == 2


async def test_two_dispatchers_on_two_engines_never_deliver_a_message_twice(database: Database) -> None:
    users = [USER_ID + n for n in range(20)]
    queued = {user: [cancelled(user) for _ in range(8)] for user in users}
    await queue(database.uow_factory, *((u, queued[u][i]) for i in range(8) for u in users))
    sink = Sink(shuffle=True)
    clock = WallClock()
    other_engine = create_engine(database.url)  # as a second process would have
    try:
        first = dispatcher(database.uow_factory, sink, clock, concurrency=8)
        second = dispatcher(make_uow_factory(other_engine), sink, clock, concurrency=8)
        await asyncio.gather(first.deliver_due(), second.deliver_due(), first.deliver_due())
    finally:
        await other_engine.dispose()

    counts: dict[str, int] = defaultdict(int)
    for _, notification in sink.received:
        assert isinstance(notification, CampaignCancelled)
        counts[notification.campaign.id] += 1
    assert set(counts.values()) == {1}
    assert len(counts) == 160
    assert all(sink.of(u) == queued[u] for u in users)


async def test_a_commit_that_queues_a_message_wakes_the_dispatcher_at_once(database: Database) -> None:
    sink = Sink()
    dispatchers: list[Dispatcher] = []
    uow_factory = make_uow_factory(database.engine, on_queued=lambda: [d.nudge() for d in dispatchers] and None)
    # Polling once an hour: only the nudge can bring the message out within the test's time.
    dispatch = Dispatcher(uow_factory, sink, poll_interval=3600)
    dispatchers.append(dispatch)
    dispatch.start()
    try:
        await asyncio.sleep(0)  # let it take its first (empty) look and wait
        await queue(uow_factory, (USER_ID, cancelled()))
        async with asyncio.timeout(10):
            await sink.arrived.wait()
    finally:
        await dispatch.stop()
    assert len(sink.received) == 1


async def test_a_due_reminder_whose_send_fails_is_not_lost(database: Database) -> None:
    campaign, offers = await builders.store_offers(database.uow_factory, 1)
    appointment = builders.appointment(campaign.id, offers[0].id, offers[0].start)
    reminder = Reminder(appointment.id, USER_ID, appointment.start - timedelta(hours=1), lead_minutes=60)
    async with database.uow_factory() as uow:
        await uow.appointments.add(appointment)
        await uow.reminders.add(reminder)
        await uow.commit()
    ports = dataclasses.replace(
        seeding_ports(database.uow_factory, RecordingVoiceGateway()), clock=FixedClock(reminder.due_at)
    )
    clock = WallClock()
    sink = Sink([DeliveryFailed("network"), DeliveryFailed("network")])
    dispatch = dispatcher(database.uow_factory, sink, clock)

    assert await send_due_reminders(ports) == 1
    await dispatch.deliver_due()
    assert await send_due_reminders(ports) == 0  # queued once, even though not delivered yet
    clock.advance(RETRY)
    await dispatch.deliver_due()
    assert sink.received == []
    clock.advance(RETRY)
    await dispatch.deliver_due()

    [(user_id, sent)] = sink.received
    assert user_id == USER_ID
    assert sent == AppointmentReminder(appointment, timedelta(hours=1))


async def test_delivered_messages_are_purged_and_the_rest_kept(database: Database) -> None:
    clock = WallClock()
    await queue(database.uow_factory, (USER_ID, cancelled()), (USER_ID + 1, cancelled(USER_ID + 1)))
    await dispatcher(database.uow_factory, Sink([DeliveryFailed("no", permanent=True)]), clock).deliver_due()
    async with database.uow_factory() as uow:
        assert await uow.outbox.purge_delivered(NOW + timedelta(seconds=1)) == 1
        await uow.commit()
    [kept] = await stored(database)
    assert kept.status == "FAILED"
