"""Messages leave the outbox here: the dispatcher, and the hub that hands them to listeners in this process.

Use cases queue every message to a user in ``uow.outbox``, in the transaction of the change that causes
it. A ``Dispatcher`` runs in each process that can reach users (the Telegram bot's token; the terminal
chat for its own user): it claims the oldest due message of each user, gives it to its sink (a
``domain.ports.Notifier``) and marks it delivered. The guarantee is *at least once*: a process that dies
between sending and marking leaves the message to be sent again when its claim runs out, so a crash may
repeat one message; the live view is an edit of one message, which repeats harmlessly.

- Per user, messages go out in the order they were queued: only a user's oldest undelivered message can
  be claimed, and a failed one holds the user's later messages back until it is delivered or given up.
- A failed send (``DeliveryFailed``) is tried again after ``backoff`` (1 s, 2 s, 4 s, … up to 5 minutes),
  or exactly when the messenger says (Telegram's 429 ``retry_after``); after ``max_attempts`` tries, or at
  once when trying again cannot help, the message is kept as ``FAILED`` with the reason and logged.
- Refreshes of one live view queued one after another are folded into one edit, drawn from the calls as
  they stand at delivery, and one chat's live view is redrawn at most every ``live_view_interval``. With
  ``drop_superseded`` (a sink that redraws the calls with the shortlist, as Telegram's does) a refresh
  queued right before its search's shortlist, failure or cancellation is not sent at all.
- ``nudge()`` (called after every commit that queued messages in this process) wakes the dispatcher at
  once; messages queued by other processes are found by polling every ``poll_interval``.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Collection
from datetime import UTC, datetime, timedelta

from domain.errors import DeliveryFailed
from domain.notifications import CallsChanged, CallTranscript, CampaignProgress, Notification, TranscriptChanged
from domain.ports import Notifier, OutboxEntry, UnitOfWorkFactory

log = logging.getLogger(__name__)

MAX_BACKOFF = timedelta(minutes=5)
# One chat's live view is redrawn at most this often: 100 searches at once would otherwise want 100
# edits a second of Telegram's 30.
LIVE_VIEW_INTERVAL = timedelta(seconds=2)


# Refreshes redrawn from the database at delivery, at most one per ``live_view_interval`` per chat.
_THROTTLED = (CallsChanged, TranscriptChanged)


def wall_clock() -> datetime:
    return datetime.now(UTC)


def backoff(attempts: int) -> timedelta:
    """How long to wait after the ``attempts``-th failed try: doubling from 1 s, at most 5 minutes, with
    a little jitter so that many failed messages do not all come back at once."""
    seconds = min(2.0 ** (attempts - 1), MAX_BACKOFF.total_seconds())
    return timedelta(seconds=seconds * random.uniform(1.0, 1.2))


class NotificationHub:
    """Fans notifications out to subscribed listeners of this process (a watcher, the demo's live table).

    A sink for a dispatcher in processes that show messages themselves (``nexus demo``, ``simulate``);
    a failing listener is logged and never stops the others.
    """

    def __init__(self) -> None:
        self._sinks: list[Notifier] = []

    def subscribe(self, sink: Notifier) -> None:
        self._sinks.append(sink)

    def unsubscribe(self, sink: Notifier) -> None:
        if sink in self._sinks:
            self._sinks.remove(sink)

    async def notify(self, user_id: int, notification: Notification) -> None:
        for sink in list(self._sinks):
            try:
                await sink.notify(user_id, notification)
            except Exception:
                log.exception("a notification listener failed on %s", type(notification).__name__)


class Dispatcher:
    """Delivers the outbox's messages (of ``users`` only, when given) to ``sink``; see the module docs."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        sink: Notifier,
        *,
        users: Collection[int] | None = None,
        concurrency: int = 16,
        max_attempts: int = 6,
        poll_interval: float = 1.0,
        lease: timedelta = timedelta(minutes=1),
        live_view_interval: timedelta = LIVE_VIEW_INTERVAL,
        now: Callable[[], datetime] = wall_clock,
        retry_delay: Callable[[int], timedelta] = backoff,
        drop_superseded: bool = False,
    ) -> None:
        self._uow = uow
        self._sink = sink
        self._users = None if users is None else frozenset(users)
        self._concurrency = concurrency
        self._max_attempts = max_attempts
        self._poll_interval = poll_interval
        self._lease = lease
        self._live_view_interval = live_view_interval
        self._now = now
        self._retry_delay = retry_delay
        self._drop_superseded = drop_superseded
        self._wake = asyncio.Event()
        self._in_flight: set[asyncio.Task[None]] = set()
        self._last_live_view: dict[int, datetime] = {}
        self._task: asyncio.Task[None] | None = None

    # --- running ----------------------------------------------------------------------------------

    def nudge(self) -> None:
        """Messages were just committed: look at once instead of at the next poll."""
        self._wake.set()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="outbox-dispatcher")

    async def stop(self) -> None:
        """Stop claiming and let the messages being sent finish (their claims are marked either way)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        await asyncio.gather(*self._in_flight, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            try:
                await self.deliver_due()
            except Exception:
                log.exception("the outbox dispatcher failed; it tries again shortly")
            try:
                async with asyncio.timeout(self._poll_interval):
                    await self._wake.wait()
            except TimeoutError:
                pass

    async def deliver_due(self) -> int:
        """Deliver every message that is due now, up to ``concurrency`` at once; returns how many were
        handed to the sink (delivered or not). Returns when nothing due is left."""
        handled = 0
        while True:
            # A nudge from here on is seen by this claim or, if it comes later, ends the wait below.
            self._wake.clear()
            free = self._concurrency - len(self._in_flight)
            entries = await self._claim(free) if free > 0 else []
            for entry in entries:
                task = asyncio.get_running_loop().create_task(self._deliver(entry), name=f"outbox-{entry.id}")
                self._in_flight.add(task)
                task.add_done_callback(self._in_flight.discard)
            handled += len(entries)
            if not self._in_flight:
                return handled
            # A delivery that ends frees its user's next message, and a nudge brings new ones: look again
            # at whichever comes first.
            nudged = asyncio.get_running_loop().create_task(self._wake.wait())
            try:
                await asyncio.wait({*self._in_flight, nudged}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                nudged.cancel()
                await asyncio.gather(nudged, return_exceptions=True)

    async def _claim(self, limit: int) -> list[OutboxEntry]:
        now = self._now()
        async with self._uow() as uow:
            entries = await uow.outbox.claim(now, now + self._lease, limit, self._users)
            await uow.commit()
        return entries

    # --- one message ------------------------------------------------------------------------------

    async def _deliver(self, entry: OutboxEntry) -> None:
        try:
            await self._deliver_once(entry)
        except Exception:
            # The database failed while the outcome was being recorded: the claim runs out and the
            # message is taken again (it may be sent twice; see the guarantee above).
            log.exception("recording the delivery of message %s to user %s failed", entry.id, entry.user_id)

    async def _deliver_once(self, entry: OutboxEntry) -> None:
        try:
            if entry.superseded and self._drop_superseded:
                pass  # the sink draws how the calls ended with the message queued after it
            elif isinstance(entry.notification, CallsChanged | TranscriptChanged) and await self._live_view_waits(
                entry
            ):
                return
            else:
                notification = await self._content(entry.notification)
                if notification is not None:
                    await self._sink.notify(entry.user_id, notification)
        except DeliveryFailed as exc:
            await self._failed(entry, exc)
        except Exception as exc:
            log.exception("delivering outbox message %s to user %s failed", entry.id, entry.user_id)
            await self._failed(entry, DeliveryFailed(f"{type(exc).__name__}: {exc}"))
        else:
            async with self._uow() as uow:
                await uow.outbox.delivered(entry.ids, self._now())
                await uow.commit()

    async def _live_view_waits(self, entry: OutboxEntry) -> bool:
        """Hold a live-view refresh back until the chat's last one is ``live_view_interval`` old; more
        refreshes queued meanwhile are folded into it."""
        now = self._now()
        last = self._last_live_view.get(entry.user_id)
        if last is not None and now - last < self._live_view_interval:
            async with self._uow() as uow:
                await uow.outbox.retry_later(
                    entry.id, last + self._live_view_interval, "waiting for the live view's turn", count=False
                )
                await uow.commit()
            self._wake_at(last + self._live_view_interval)
            return True
        self._last_live_view[entry.user_id] = now
        return False

    def _wake_at(self, moment: datetime) -> None:
        delay = max(0.0, (moment - self._now()).total_seconds())
        asyncio.get_running_loop().call_later(delay, self._wake.set)

    async def _content(self, notification: Notification) -> Notification | None:
        """What the sink is given: a live-view refresh becomes the calls as they stand now, a "Listen" refresh
        the call's transcript as it stands now."""
        if isinstance(notification, TranscriptChanged):
            async with self._uow() as uow:
                call = await uow.calls.get(notification.call_id)
                campaign = await uow.campaigns.get(call.campaign_id) if call is not None else None
                listener = await uow.turns.listener(notification.call_id)
                turns = await uow.turns.list_for_call(notification.call_id)
            if call is None or campaign is None:
                return None
            return CallTranscript(campaign, call, turns or list(call.transcript), listener[1] if listener else None)
        if not isinstance(notification, CallsChanged):
            return notification
        async with self._uow() as uow:
            campaign = await uow.campaigns.get(notification.campaign_id)
            if campaign is None:
                return None
            calls = await uow.calls.list_for_campaign(campaign.id)
            offers = await uow.offers.list_for_campaign(campaign.id)
        if any(c.round_no for c in calls):
            return None  # later rounds (keep looking, watch) run quietly: their news says what is new
        return CampaignProgress(campaign, calls, offers)

    async def _failed(self, entry: OutboxEntry, error: DeliveryFailed) -> None:
        attempts = entry.attempts + 1
        kind = type(entry.notification).__name__
        now = self._now()
        async with self._uow() as uow:
            if error.deferred:  # not tried: its chat's next message may overtake nothing, it just waits
                wait = timedelta(seconds=error.retry_after or 0.1)
                await uow.outbox.retry_later(entry.id, now + wait, str(error), count=False)
                self._wake_at(now + wait)
            elif error.permanent or attempts >= self._max_attempts:
                await uow.outbox.give_up(entry.id, str(error), now)
                log.error(
                    "gave up on message %s (%s) to user %s after %s tries: %s",
                    entry.id,
                    kind,
                    entry.user_id,
                    attempts,
                    error,
                )
            else:
                wait = (
                    timedelta(seconds=error.retry_after)
                    if error.retry_after is not None
                    else self._retry_delay(attempts)
                )
                await uow.outbox.retry_later(entry.id, now + wait, str(error))
                log.warning(
                    "message %s (%s) to user %s not delivered (try %s), trying again in %.1f s: %s",
                    entry.id,
                    kind,
                    entry.user_id,
                    attempts,
                    wait.total_seconds(),
                    error,
                )
                self._wake_at(now + wait)
            await uow.commit()
