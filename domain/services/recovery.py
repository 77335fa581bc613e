"""Recovery: calls left open by a NEXUS process that died (``kill -9``, a crash, a lost machine).

A call is somebody's business while a living process holds or waits for its place under the call limit
(``CallSlots.claimed``); every other open call belongs to no living process. For such a call:

- when the voice provider can be asked (live modes), its answer decides: over (``done``/``failed``) records
  the outcome and ends the call; still running (or being analysed) takes its place under the limit again, so
  the limit counts it and the post-call webhook or reconciliation ends it later; unknown to the provider, or
  never placed, ends it;
- a simulated call ran inside the dead process, so it ends at once: "NEXUS restarted during the call".

Ending a call moves its campaign on as any other ending does (the live view, the shortlist, a failed search),
and a campaign left ``DIALING`` by the dead dialer is moved on too. Every step is conditional, so running
recovery twice, or while calls end by themselves, ends nothing twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from domain.errors import DependencyUnavailable, NotFound
from domain.models import CallStatus, CallTask, CampaignStatus
from domain.ports import UnitOfWork
from domain.services.campaigns import end_call_task, settle_campaign
from domain.services.context import Ports
from domain.services.reconcile import ConversationFetcher, record_conversation
from domain.services.transactions import in_transaction

log = logging.getLogger(__name__)

RESTARTED = "NEXUS restarted during the call."


@dataclass(frozen=True, slots=True)
class RecoveryReport:
    orphaned: int  # open calls that belonged to no living process
    ended: int  # of those, ended now
    still_running: int  # of those, still running at the voice provider (their places are taken again)
    unreachable: int  # of those, the provider could not be asked about (asked again next round)


async def recover_open_calls(
    ports: Ports, fetch: ConversationFetcher | None = None, grace: timedelta = timedelta(seconds=30)
) -> RecoveryReport:
    """Bring every open call that belongs to no living process to a sound state (see the module).

    Calls created less than ``grace`` ago are left for a later round: a living dialer claims its calls a
    moment after creating them. ``grace`` of one call slot lease also lets a dead process's leases run out."""
    started_before = ports.clock.now() - grace
    async with ports.uow() as uow:
        open_calls = await uow.calls.list_open(started_before=started_before, limit=1000)
    # A scheduled call (a closed provider, a voicemail retry) starts when it is due, not when it was created:
    # until then it is the sweep's, and its dialler takes its place a moment after claiming it.
    open_calls = [c for c in open_calls if c.not_before is None or c.not_before < started_before]
    if not open_calls:
        return RecoveryReport(0, 0, 0, 0)
    claimed = await ports.slots.claimed([c.id for c in open_calls])
    orphans = [c for c in open_calls if c.id not in claimed]
    ended = running = unreachable = 0
    for call in orphans:
        outcome = await _recover(ports, call, fetch)
        ended += outcome == "ended"
        running += outcome == "running"
        unreachable += outcome == "unreachable"
    for campaign_id in {c.campaign_id for c in orphans}:
        await _move_on_after_dialer_died(ports, campaign_id)
    report = RecoveryReport(len(orphans), ended, running, unreachable)
    if orphans:
        log.info("recovered open calls of stopped processes: %s", report)
    return report


async def _recover(ports: Ports, call: CallTask, fetch: ConversationFetcher | None) -> str:
    if fetch is not None and call.conversation_id:
        try:
            info = await fetch(call.conversation_id)
        except DependencyUnavailable as exc:
            log.warning("could not ask how call %s stands after a restart: %s", call.id, exc)
            return "unreachable"
        except NotFound:
            info = None
        if info is not None:
            if info.over:
                recorded = await record_conversation(ports, info)
                return "ended" if recorded.ended_now else "gone"
            await ports.slots.adopt(call.id)  # still on the phone (or being analysed): it counts again
            return "running"
    reason = RESTARTED if fetch is None else f"{RESTARTED} The voice provider knows nothing of it."
    if fetch is not None and call.conversation_id is None:
        reason = f"{RESTARTED} It was never placed."
    ended = await end_call_task(ports, call.id, CallStatus.FAILED, reason=reason)
    return "ended" if ended is not None else "gone"


async def _move_on_after_dialer_died(ports: Ports, campaign_id: str) -> None:
    """A campaign still ``DIALING`` lost the process that placed its calls: it moves on without it."""
    now = ports.clock.now()

    async def work(uow: UnitOfWork) -> bool:
        campaign = await uow.campaigns.get(campaign_id)
        if campaign is None or campaign.status is not CampaignStatus.DIALING:
            return False
        calls = await uow.calls.list_for_campaign(campaign_id)
        if any(not c.status.is_ended for c in calls):
            return False  # a call is still running (adopted): its ending settles the campaign
        campaign.transition(CampaignStatus.NEGOTIATING, now)
        await uow.campaigns.save(campaign)
        return True

    if await in_transaction(ports.uow, work):
        await settle_campaign(ports, campaign_id)
