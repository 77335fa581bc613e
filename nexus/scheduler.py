"""Scheduled jobs: the sweep, due reminders (queued in the outbox) and purging delivered messages, every
few seconds, in whichever processes run them.

Every job is an idempotent conditional update, so any number of NEXUS processes may run them at once.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from domain.ports import UnitOfWork
from domain.services.appointments import send_due_reminders
from domain.services.context import Ports
from domain.services.reconcile import ConversationFetcher, reconcile_silent_calls
from domain.services.sweeps import sweep
from domain.services.transactions import in_transaction

log = logging.getLogger(__name__)

QUIET_CALL_AFTER = timedelta(minutes=3)
# Delivered messages are kept this long (to look into what a user was told), then deleted.
KEEP_DELIVERED_MESSAGES = timedelta(days=7)


async def run_jobs(ports: Ports, fetch: ConversationFetcher | None = None) -> None:
    """One round of every scheduled job; a failing job is logged and tried again next round.

    With ``fetch`` (live modes) calls that went quiet are first checked with the voice provider, so a lost
    post-call webhook does not leave a call open until its timeout."""
    if fetch is not None:
        try:
            await reconcile_silent_calls(ports, fetch, QUIET_CALL_AFTER)
        except Exception:
            log.exception("reconciling quiet calls failed; it runs again next round")
    try:
        report = await sweep(ports)
        if report.calls_timed_out or report.campaigns_settled:
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


async def purge_delivered_messages(ports: Ports) -> int:
    """Delete messages delivered more than ``KEEP_DELIVERED_MESSAGES`` ago (failed ones are kept)."""

    async def work(uow: UnitOfWork) -> int:
        return await uow.outbox.purge_delivered(ports.clock.now() - KEEP_DELIVERED_MESSAGES)

    return await in_transaction(ports.uow, work)


class Scheduler:
    def __init__(self, ports: Ports, interval_seconds: int, fetch: ConversationFetcher | None = None) -> None:
        self._ports = ports
        self._scheduler = AsyncIOScheduler()
        self._scheduler.add_job(
            run_jobs,
            "interval",
            seconds=interval_seconds,
            args=[ports, fetch],
            id="nexus-jobs",
            max_instances=1,
            coalesce=True,
        )

    def start(self) -> None:
        self._scheduler.start()

    async def stop(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)
