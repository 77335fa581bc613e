"""The offer's grounding and the campaign's expert answers round trip on SQLite and PostgreSQL; a new offer is
stored unchecked by the same single insert, and checking the call's offers writes only what changed."""

from __future__ import annotations

from datetime import timedelta

from domain.models import OfferGrounding, Turn
from domain.ports import UnitOfWorkFactory
from domain.services.grounding import ground_call_offers
from tests.integration.storage import builders
from tests.integration.storage.builders import NOW


async def test_grounding_and_answers_round_trip(uow_factory: UnitOfWorkFactory) -> None:
    campaign, call = await builders.store_campaign_with_call(uow_factory)
    async with uow_factory() as uow:
        stored = await uow.campaigns.get(campaign.id)
        assert stored is not None and stored.answers == {}
        stored.answers = {"visit": "pain", "insurance": "private"}
        await uow.campaigns.save(stored)
        offer = builders.offer(campaign.id, call.id)
        await uow.offers.add(offer)
        await uow.commit()
    async with uow_factory() as uow:
        again = await uow.campaigns.get(campaign.id)
        found = await uow.offers.get(offer.id)
    assert again is not None and again.answers == {"visit": "pain", "insurance": "private"}
    assert found is not None
    assert (found.grounding, found.grounding_evidence) == (OfferGrounding.PENDING, None)


async def test_checking_a_calls_offers_marks_them_and_a_second_check_changes_nothing(
    uow_factory: UnitOfWorkFactory,
) -> None:
    campaign, call = await builders.store_campaign_with_call(uow_factory)
    said = builders.offer(campaign.id, call.id, NOW.replace(hour=13, minute=0) + timedelta(days=1))
    made_up = builders.offer(campaign.id, call.id, NOW.replace(hour=8, minute=0) + timedelta(days=1))
    async with uow_factory() as uow:
        await uow.offers.add(said)
        await uow.offers.add(made_up)
        stored_call = await uow.calls.get(call.id)
        assert stored_call is not None
        local = said.start.astimezone(builders.BERLIN)
        words = f"Tomorrow at {local:%H:%M} would be free."
        stored_call.transcript = [Turn("provider", words, NOW)]
        changed = await ground_call_offers(uow, stored_call)
        await uow.commit()
    assert {o.id for o in changed} == {said.id, made_up.id}
    async with uow_factory() as uow:
        marks = {o.id: o.grounding for o in await uow.offers.list_for_campaign(campaign.id)}
        assert marks == {said.id: OfferGrounding.VERIFIED, made_up.id: OfferGrounding.UNVERIFIED}
        stored_call = await uow.calls.get(call.id)
        assert stored_call is not None
        stored_call.transcript = [Turn("provider", words, NOW)]
        assert await ground_call_offers(uow, stored_call) == []
