"""The confirmation call and its fallback: the chosen slot is gone when the agent calls back to book it."""

from __future__ import annotations

from domain.models import CampaignStatus, OfferStatus
from domain.notifications import Booked, Notification, SlotGone
from domain.services.campaigns import get_shortlist
from integrations.directory import BundledDirectory
from integrations.offline_calendar import StaticCalendar
from integrations.simulation.world import load_world
from nexus.simulation import SIMULATED_USER, book, describe, offline_nexus, start_and_settle
from tests.e2e.simulation.conftest import WORLDS


class Inbox:
    """What the user is told."""

    def __init__(self) -> None:
        self.received: list[Notification] = []

    async def notify(self, user_id: int, notification: Notification) -> None:
        self.received.append(notification)


async def test_a_slot_gone_on_confirmation_returns_to_the_shortlist_and_the_next_offer_books() -> None:
    world = load_world(WORLDS / "confirmation_slot_gone.json")
    inbox = Inbox()
    async with offline_nexus(
        now=world.now,
        providers=BundledDirectory(world.directory_providers()),
        calendar=StaticCalendar({SIMULATED_USER: world.busy()}),
        timezone=world.timezone,
        behaviours=world.behaviours(),
    ) as run:
        ports = run.nexus.ports
        run.nexus.notifications.subscribe(inbox)
        campaign = await start_and_settle(
            run, world.user_profile(SIMULATED_USER), world.request, world.user.location.point(), now=world.now
        )
        best, *rest = await get_shortlist(ports, campaign.id)
        assert best.provider_id == "g1"

        after_first_try = await book(run, campaign, best)

        assert after_first_try.status is CampaignStatus.RANKING
        assert after_first_try.chosen_offer_id is None
        async with ports.uow() as uow:
            taken = await uow.offers.get(best.id)
        assert taken is not None and taken.status is OfferStatus.UNAVAILABLE
        [gone] = [n for n in inbox.received if isinstance(n, SlotGone)]
        assert gone.offer.id == best.id
        assert [o.provider_id for o in gone.shortlist] == [o.provider_id for o in rest] == ["g2", "g3"]
        assert [o.id for o in await get_shortlist(ports, campaign.id)] == [o.id for o in rest]

        confirmed = await book(run, after_first_try, rest[0])

        assert confirmed.status is CampaignStatus.CONFIRMED
        outcome = await describe(ports, confirmed, world.timezone)
        assert outcome["appointment"] == {
            "provider_id": "g2",
            "start": "2026-12-03T15:30:00+01:00",
            "end": "2026-12-03T16:00:00+01:00",
        }
        confirms = [(c["provider_id"], c["outcome"]) for c in outcome["calls"] if c["purpose"] == "CONFIRM"]
        assert confirms == [("g1", "no_availability"), ("g2", "booked")]
        assert [n.appointment.provider.id for n in inbox.received if isinstance(n, Booked)] == ["g2"]
