"""Personal data is kept only as long as it is needed: old call transcripts are forgotten, and a user can have
everything about them deleted.

- ``forget_old_call_details``: a scheduled job. Calls that ended longer ago than the retention setting lose
  their transcript and summary; provider, times, status, outcome and the offered slots stay, which is what the
  user's history shows.
- ``erase_user_data``: ``/delete_my_data``. Refused while a search or a call of the user is running (the
  user stops it with /cancel first): deleting under a running search would leave calls that report to a
  search that no longer exists, and stopping it on the user's behalf would hang up on a practice mid-sentence.
  Appointments stay booked at the providers (only NEXUS's record of them goes); the bot lists them before
  asking for the confirmation. Deleting twice is harmless: the second time finds nothing.
"""

from __future__ import annotations

import enum
import logging
from datetime import datetime

from domain.models import AppointmentStatus, CampaignStatus
from domain.ports import UnitOfWork
from domain.services.campaigns import release_holds
from domain.services.context import Ports
from domain.services.transactions import in_transaction

log = logging.getLogger(__name__)

# A user's data is not deleted while one of these runs (RANKING waits for the user, no call is open).
_RUNNING = (
    CampaignStatus.CREATED,
    CampaignStatus.PROVIDER_LOOKUP,
    CampaignStatus.DIALING,
    CampaignStatus.NEGOTIATING,
    CampaignStatus.CONFIRMING,
)
FORGET_BATCH = 500
FORGET_BATCHES_PER_ROUND = 10


class Erasure(enum.StrEnum):
    ERASED = "erased"
    SEARCH_RUNNING = "search_running"


async def forget_old_call_details(ports: Ports) -> int:
    """Clear transcripts and summaries of calls that ended before the retention period; returns how many.

    Works in batches, each its own transaction, a bounded number per round (the next round goes on)."""
    now = ports.clock.now()
    cutoff = now - ports.policy.transcript_retention

    async def batch(uow: UnitOfWork) -> int:
        return await uow.calls.forget_details(cutoff, now, FORGET_BATCH)

    forgotten = 0
    for _ in range(FORGET_BATCHES_PER_ROUND):
        count = await in_transaction(ports.uow, batch)
        forgotten += count
        if count < FORGET_BATCH:
            break
    return forgotten


async def search_running(ports: Ports, user_id: int) -> bool:
    """Whether a search or call of ``user_id`` runs now (``erase_user_data`` would refuse): asked first, so
    that nothing outside the database (the calendar's access) is given up for a deletion that is refused."""
    async with ports.uow() as uow:
        return await _running(uow, user_id, ports.clock.now())


async def _running(uow: UnitOfWork, user_id: int, now: datetime) -> bool:
    if await uow.campaigns.list_for_user(user_id, statuses=_RUNNING, limit=1):
        return True
    booked = await uow.appointments.list_for_user(user_id, statuses=[AppointmentStatus.BOOKED], ending_after=now)
    for appointment in booked:  # a cancellation call may be under way
        if any(not c.status.is_ended for c in await uow.calls.list_for_campaign(appointment.campaign_id)):
            return True
    return False


async def erase_user_data(ports: Ports, user_id: int) -> Erasure:
    """Delete everything NEXUS keeps about ``user_id`` unless a search or call of theirs is running."""
    now = ports.clock.now()
    released: list[str] = []

    async def work(uow: UnitOfWork) -> Erasure:
        released.clear()
        user = await uow.users.get(user_id)
        if user is not None:
            # Writing the profile first makes a search being created for this user at the same moment (which
            # writes it too) wait for this transaction, or this one for it, so the check below sees it.
            await uow.users.save(user)
        if await _running(uow, user_id, now):
            return Erasure.SEARCH_RUNNING
        released.extend(c.id for c in await uow.campaigns.list_for_user(user_id, [CampaignStatus.RANKING], 100))
        await uow.users.erase(user_id)
        return Erasure.ERASED

    result = await in_transaction(ports.uow, work)
    for campaign_id in released:  # a shortlist still holds the user's time until it expires
        await release_holds(ports, user_id, campaign_id)
    if result is Erasure.ERASED:
        log.info("user %s: all data deleted", user_id)
    return result
