"""The user picks an offer; a confirmation call asks the provider to book it."""

from __future__ import annotations

from domain.calendar import conflicts
from domain.errors import NotAllowed, NotFound, SlotConflict
from domain.models import CallPurpose, CallTask, Campaign, CampaignStatus, Offer, OfferStatus
from domain.ports import UnitOfWork
from domain.services.campaigns import calls_changed, dial, new_call
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
