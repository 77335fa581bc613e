"""The periodic sweep: scheduled calls whose time has come are placed, calls past their timeout fail,
campaigns past their deadline settle, holds expire, confirmation calls that did not get through are tried
again, and call slots this process still holds for calls that ended elsewhere are given back.

Every step is a conditional update through the unit of work, so several processes may sweep at once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from domain.errors import DependencyUnavailable
from domain.models import CallStatus, CampaignStatus
from domain.services.campaigns import dial_due_calls, end_call_task, fail_campaign, hang_up_all, settle_campaign
from domain.services.confirmation import retry_confirmations
from domain.services.context import Ports
from domain.services.rounds import start_due_rounds
from domain.services.watch import finish_replacements
from domain.wording import failure_reason

log = logging.getLogger(__name__)

# Discovery has a deadline; a confirmation is bounded by its call's own timeout instead.
_DISCOVERING = (
    CampaignStatus.CREATED,
    CampaignStatus.PROVIDER_LOOKUP,
    CampaignStatus.DIALING,
    CampaignStatus.NEGOTIATING,
)


@dataclass(frozen=True, slots=True)
class SweepReport:
    calls_timed_out: int
    campaigns_settled: int
    holds_purged: int
    slots_freed: int = 0
    confirmations_retried: int = 0
    calls_dialled: int = 0


async def sweep(ports: Ports) -> SweepReport:
    """Bring everything that is overdue to a sound state."""
    now = ports.clock.now()
    dialled = await dial_due_calls(ports)
    dialled += await start_due_rounds(ports)
    await finish_replacements(ports)
    async with ports.uow() as uow:
        overdue_calls = await uow.calls.list_open_past_timeout(now)
    timed_out = []
    for call in overdue_calls:
        ended = await end_call_task(ports, call.id, CallStatus.FAILED, reason="The call took too long.")
        if ended is not None:
            timed_out.append(ended)
    await hang_up_all(ports, timed_out)

    async with ports.uow() as uow:
        overdue = await uow.campaigns.list_by_status(_DISCOVERING, deadline_before=now)
    settled = 0
    for campaign in overdue:
        if campaign.status in (CampaignStatus.CREATED, CampaignStatus.PROVIDER_LOOKUP):
            await fail_campaign(ports, campaign.id, failure_reason("not_started", campaign.language))
            settled += 1
            continue
        async with ports.uow() as uow:
            open_calls = [c for c in await uow.calls.list_for_campaign(campaign.id) if not c.status.is_ended]
        for call in open_calls:
            await end_call_task(ports, call.id, CallStatus.FAILED, reason="The search reached its deadline.")
        await hang_up_all(ports, open_calls)
        await settle_campaign(ports, campaign.id, deadline_passed=True)
        settled += 1

    try:
        purged = await ports.holds.purge_expired(now)
    except DependencyUnavailable as exc:
        log.warning("expired holds not purged: %s", exc)
        purged = 0
    retried = await retry_confirmations(ports)
    freed = await free_slots_of_ended_calls(ports)
    return SweepReport(len(timed_out), settled, purged, freed, retried, dialled)


async def free_slots_of_ended_calls(ports: Ports) -> int:
    """Give back the places this process holds for calls that are over (ended by another process, which
    cannot reach this process's own slots when they are not shared through Redis)."""
    held = await ports.slots.held_here()
    if not held:
        return 0
    async with ports.uow() as uow:
        over = [call_id for call_id in held if (call := await uow.calls.get(call_id)) is None or call.status.is_ended]
    for call_id in over:
        await ports.slots.release(call_id)
    return len(over)
