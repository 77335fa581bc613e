"""The user picks an offer; a confirmation call asks the provider to book it."""

from __future__ import annotations

from domain.calendar import conflicts
from domain.errors import NotAllowed, NotFound, SlotConflict
from domain.models import CallPurpose, CallTask, Campaign, CampaignStatus, Offer, OfferStatus
from domain.ports import UnitOfWork
from domain.services.campaigns import (
    calls_changed,
    confirmation_retry_at,
    current_confirmation,
    dial,
    new_call,
    settle_campaign,
)
from domain.services.context import Ports
from domain.services.transactions import in_transaction
from domain.wording import slot_in_words


async def choose_offer(ports: Ports, user_id: int, offer_id: str) -> tuple[Campaign, Offer, CallTask]:
    """Ask the provider of ``offer_id`` to book it: ``RANKING -> CONFIRMING`` and a ``CONFIRM`` call."""
    now = ports.clock.now()

    async def work(uow: UnitOfWork) -> tuple[Campaign, Offer, CallTask, str]:
        offer = await uow.offers.get(offer_id)
        campaign = await uow.campaigns.get(offer.campaign_id) if offer else None
        if offer is None or campaign is None or campaign.user_id != user_id:
            raise NotFound("That offer does not exist.")
        if campaign.status is not CampaignStatus.RANKING:
            raise NotAllowed(f"This search is {campaign.status.lower()}; its offers can no longer be booked.")
        if offer.status is not OfferStatus.OFFERED:
            raise NotAllowed(f"The offer of {offer.provider_name} is no longer available.")
        booked = await uow.appointments.overlapping(user_id, offer.window)
        if conflicts(offer.window, [a.window for a in booked]):
            raise SlotConflict(f"You already have an appointment at {slot_in_words(offer.window, campaign.timezone)}.")
        discovery = await uow.calls.get(offer.call_task_id)
        if discovery is None:
            raise NotFound("That offer does not exist.")
        offer.status = OfferStatus.CHOSEN
        await uow.offers.save(offer)
        campaign.chosen_offer_id = offer.id
        campaign.transition(CampaignStatus.CONFIRMING, now)
        await uow.campaigns.save(campaign)
        call, token = new_call(
            ports, campaign.id, discovery.provider, CallPurpose.CONFIRM, now, target_offer_id=offer.id
        )
        await uow.calls.add(call)
        await calls_changed(uow, campaign.id, now, campaign.user_id)
        return campaign, offer, call, token

    campaign, offer, call, token = await in_transaction(ports.uow, work)
    await dial(ports, campaign, {call.id: token}, target=offer.window)
    return campaign, offer, call


_Retry = tuple[Campaign, Offer, CallTask, str]


async def retry_confirmations(ports: Ports) -> int:
    """Place the next confirmation call of every search whose last one did not get through and whose retry is
    due; a search whose retry is no longer plausible gives its offer up. Safe from several processes at once:
    the campaign's version lets one of them place the call. Returns how many calls were placed."""
    now = ports.clock.now()
    async with ports.uow() as uow:
        confirming = await uow.campaigns.list_by_status([CampaignStatus.CONFIRMING])
    placed = 0
    for waiting in confirming:

        async def work(uow: UnitOfWork, campaign_id: str = waiting.id) -> _Retry | bool:
            """The call to place, ``True`` when the offer must be given up, ``False`` when nothing is due."""
            campaign = await uow.campaigns.get(campaign_id)
            if campaign is None or campaign.status is not CampaignStatus.CONFIRMING:
                return False
            calls = await uow.calls.list_for_campaign(campaign.id)
            latest = current_confirmation(campaign, calls)
            offer = await uow.offers.get(campaign.chosen_offer_id or "")
            if latest is None or not latest.status.is_ended or offer is None or offer.status is OfferStatus.BOOKED:
                return False
            retry_at = confirmation_retry_at(ports.policy, offer, calls, now)
            if retry_at is None:
                return True
            if retry_at > now:
                return False
            await uow.campaigns.save(campaign)  # the version makes a second process's retry fail and re-read
            call, token = new_call(
                ports, campaign.id, latest.provider, CallPurpose.CONFIRM, now, target_offer_id=offer.id
            )
            await uow.calls.add(call)
            await calls_changed(uow, campaign.id, now, campaign.user_id)
            return campaign, offer, call, token

        retry = await in_transaction(ports.uow, work)
        if retry is True:
            await settle_campaign(ports, waiting.id)  # no plausible retry is left: the offer is given up
            continue
        if retry is False:
            continue
        campaign, offer, call, token = retry
        await dial(ports, campaign, {call.id: token}, target=offer.window)
        placed += 1
    return placed
