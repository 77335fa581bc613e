"""Scheduled jobs: recovery, the sweep, due reminders (queued in the outbox), purging delivered messages and
forgetting call transcripts past the retention period, practices' expired facts and old call counts, every few
seconds (the first round at start), in whichever processes run them.

Every job is made of idempotent conditional updates, so any number of NEXUS processes may run them at once;
recovery runs in one process at a time anyway (``Nexus.recover``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from domain.ports import UnitOfWork
from domain.services.appointments import send_due_reminders
from domain.services.citizenship import purge_practice_records
from domain.services.context import Ports
from domain.services.privacy import forget_old_call_details
from domain.services.reconcile import ConversationFetcher, reconcile_silent_calls
from domain.services.sweeps import sweep
from domain.services.transactions import in_transaction

log = logging.getLogger(__name__)

QUIET_CALL_AFTER = timedelta(minutes=3)
STOP_GRACE_SECONDS = 10.0
# Delivered messages are kept this long (to look into what a user was told), then deleted.
KEEP_DELIVERED_MESSAGES = timedelta(days=7)


Recover = Callable[[], Awaitable[object]]


async def run_jobs(ports: Ports, fetch: ConversationFetcher | None = None, recover: Recover | None = None) -> None:
    """One round of every scheduled job; a failing job is logged and tried again next round.

    ``recover`` first brings calls of processes that died to a sound state. With ``fetch`` (live modes)
    calls that went quiet are then checked with the voice provider, so a lost post-call webhook does not
    leave a call open until its timeout."""
    if recover is not None:
        try:
            await recover()
        except Exception:
            log.exception("recovering calls of stopped processes failed; it runs again next round")
    if fetch is not None:
        try:
            await reconcile_silent_calls(ports, fetch, QUIET_CALL_AFTER)
        except Exception:
            log.exception("reconciling quiet calls failed; it runs again next round")
    try:
        report = await sweep(ports)
        if report.calls_timed_out or report.campaigns_settled or report.calls_dialled:
            log.info("sweep: %s", report)
    except Exception:
        log.exception("the sweep failed; it runs again next round")
    try:
        await send_due_reminders(ports)
    except Exception:
        log.exception("queueing reminders failed; they are tried again next round")
    try:
        await purge_delivered_messages(ports)
    except Exception:
        log.exception("purging delivered messages failed; it runs again next round")
    try:
        if forgotten := await forget_old_call_details(ports):
            log.info("forgot the transcripts of %d calls past the retention period", forgotten)
    except Exception:
        log.exception("forgetting old call transcripts failed; it runs again next round")
    try:
        await purge_practice_records(ports)
    except Exception:
        log.exception("purging practices' old facts and call counts failed; it runs again next round")


async def purge_delivered_messages(ports: Ports) -> int:
    """Delete messages delivered more than ``KEEP_DELIVERED_MESSAGES`` ago (failed ones are kept)."""

    async def work(uow: UnitOfWork) -> int:
        return await uow.outbox.purge_delivered(ports.clock.now() - KEEP_DELIVERED_MESSAGES)

    return await in_transaction(ports.uow, work)


class Scheduler:
    def __init__(
        self,
        ports: Ports,
        interval_seconds: int,
        fetch: ConversationFetcher | None = None,
        recover: Recover | None = None,
    ) -> None:
        self._ports = ports
        self._rounds: set[asyncio.Task[object]] = set()
        self._stopping = False
        self._scheduler = AsyncIOScheduler()
        self._scheduler.add_job(
            self._round,
            "interval",
            seconds=interval_seconds,
            args=[ports, fetch, recover],
            id="nexus-jobs",
            max_instances=1,
            coalesce=True,
            next_run_time=datetime.now(UTC),  # the first round (recovery) right at start
        )

    def start(self) -> None:
        self._scheduler.start()

    async def stop(self) -> None:
        """Stop scheduling and let a round under way finish; one still busy after ``STOP_GRACE_SECONDS`` (a
        call waiting for a slot) is cancelled. Every job is idempotent, so the next start repeats its work."""
        if not self._scheduler.running:
            return
        self._scheduler.pause()  # no new round; shutdown() would cancel the one under way at once
        if self._rounds:
            # Not cancelled at once: a database statement cut off mid-flight can leave the SQLite driver's
            # thread running, and the process then never exits.
            _, busy = await asyncio.wait(self._rounds, timeout=STOP_GRACE_SECONDS)
            self._stopping = True
            for task in busy:
                task.cancel()
            if busy:
                await asyncio.wait(busy)
        self._scheduler.shutdown(wait=False)

    async def _round(self, ports: Ports, fetch: ConversationFetcher | None, recover: Recover | None) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._rounds.add(task)
        try:
            await run_jobs(ports, fetch, recover)
        except asyncio.CancelledError:
            if not self._stopping:
                raise
            # Ended by stop(): nothing went wrong, so nothing for the scheduler to log as a failed job.
        finally:
            self._rounds.discard(task)
