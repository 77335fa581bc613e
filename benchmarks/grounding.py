"""Grounding: the match-quality worlds again, with the agent of about one provider in five reporting a time the
receptionist never said (the simulation's ``invent_time`` fault). Counts how often such a made-up offer still
reaches the top of the shortlist, and how many true offers the check wrongly marks unverified."""

from __future__ import annotations

from collections.abc import Callable

from benchmarks.quality import Outcome, run_worlds
from domain.models import Offer, OfferGrounding

FAULTY_SHARE = 0.2


def _made_up(offer: Offer, outcome: Outcome) -> bool:
    return (offer.call_task_id, offer.start) in outcome.invented


async def run_grounding(worlds: int, emit: Callable[[str, str], None]) -> None:
    """Run ``worlds`` seeded worlds with faulty agents and emit ``grounding.*`` lines."""
    outcomes = await run_worlds(worlds, FAULTY_SHARE)
    made_up = [o for outcome in outcomes for o in outcome.offers if _made_up(o, outcome)]
    true = [o for outcome in outcomes for o in outcome.offers if not _made_up(o, outcome)]
    wrongly = [o for o in true if o.grounding is not OfferGrounding.VERIFIED]
    on_top = [o for o in outcomes if o.top is not None and _made_up(o.top, o)]
    # a made-up offer at the top although a true one was on the shortlist: what grounding must prevent
    over_true = [o for o in on_top if any(not _made_up(s, o) for s in o.shortlist)]
    emit("grounding.worlds", str(worlds))
    emit("grounding.made_up_offers", str(len(made_up)))
    emit("grounding.made_up_offers_caught", str(sum(1 for o in made_up if o.grounding is OfferGrounding.UNVERIFIED)))
    emit("grounding.made_up_offers_top_of_shortlist", str(len(over_true)))
    emit("grounding.made_up_offers_top_with_nothing_else", str(len(on_top) - len(over_true)))
    emit("grounding.true_offers", str(len(true)))
    emit("grounding.true_offers_marked_unverified", str(len(wrongly)))
    emit("grounding.true_offers_marked_unverified_share", f"{len(wrongly) / len(true):.4f}" if true else "n/a")
