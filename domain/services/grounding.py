"""Checking a call's offers against its transcript once the transcript is there.

Offers are stored ``pending`` when the agent reports them (the report stays one insert); when the call's
transcript arrives (the simulated call hands it over before it ends, a live call's post-call webhook brings it,
the reconciliation sweep fetches it) every offer of that call is checked in the same transaction with
``domain.grounding.ground_offer`` and marked ``verified`` or ``unverified``. Checking again with the same
transcript gives the same answer, so a replayed or repeated delivery changes nothing.
"""

from __future__ import annotations

from domain.grounding import ground_offer
from domain.models import CallTask, Offer, OfferGrounding
from domain.ports import UnitOfWork

EVIDENCE_LIMIT = 500


async def ground_call_offers(uow: UnitOfWork, call: CallTask) -> list[Offer]:
    """Mark the offers of ``call`` by what its transcript supports; the offers whose mark changed are returned
    (and saved). Nothing happens while the call has no transcript."""
    if not call.transcript:
        return []
    offers = [o for o in await uow.offers.list_for_campaign(call.campaign_id) if o.call_task_id == call.id]
    if not offers:
        return []
    campaign = await uow.campaigns.get(call.campaign_id)
    if campaign is None:
        return []
    reference = call.started_at or call.created_at
    changed = []
    for offer in offers:
        grounding = ground_offer(offer.start, call.transcript, reference, campaign.timezone)
        mark = OfferGrounding.VERIFIED if grounding.verified else OfferGrounding.UNVERIFIED
        evidence = grounding.evidence[:EVIDENCE_LIMIT]
        if (offer.grounding, offer.grounding_evidence) != (mark, evidence):
            offer.grounding, offer.grounding_evidence = mark, evidence
            await uow.offers.save(offer)
            changed.append(offer)
    return changed
