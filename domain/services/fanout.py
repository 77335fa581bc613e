"""Which providers a search calls, and when: all at once, or the most promising first in waves.

``parallel`` (the default) calls every selected provider at once. ``adaptive`` orders them by the best score
an offer of theirs could possibly reach (``upper_bound``: the formula of ``domain.scoring`` with the earliest
start they could offer, their rating and their distance) and calls a first wave; when every call has ended it
calls the next wave only while some provider not called yet could still beat the best offer so far. A
provider whose bound is not above the best offer cannot change the shortlist's top, so it is not called.

These are plain functions over the candidate list (after any filter that decides who may be called at all),
so the caller decides where the list comes from and where the rest is kept.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from datetime import datetime

from domain.models import Campaign, Provider
from domain.scoring import score_slot

# Scores are stored rounded to six places; a bound this close to the best offer cannot beat it.
SCORE_TOLERANCE = 1e-6


class FanOut(enum.StrEnum):
    PARALLEL = "parallel"
    ADAPTIVE = "adaptive"


def upper_bound(
    provider: Provider,
    campaign: Campaign,
    now: datetime,
    free_from: Mapping[str, datetime] | None = None,
) -> float:
    """The highest score any offer of ``provider`` could reach in ``campaign``: a slot at the earliest moment
    it could start (the span's start, not before ``now``, not before what is known about the provider in
    ``free_from`` by provider id), the provider's rating and its great-circle distance (the one scoring uses)."""
    span = campaign.span
    earliest = max(span.start, now)
    known = (free_from or {}).get(provider.id)
    if known is not None:
        earliest = max(earliest, known)
    distance = campaign.location.distance_km(provider.location)
    return score_slot(earliest, span, provider.rating, distance, campaign.radius_km, campaign.weights).total


def by_promise(
    providers: Sequence[Provider],
    campaign: Campaign,
    now: datetime,
    free_from: Mapping[str, datetime] | None = None,
) -> list[Provider]:
    """``providers`` most promising first (highest bound; ties keep the directory's order)."""
    return sorted(providers, key=lambda p: -upper_bound(p, campaign, now, free_from))


def first_wave(
    providers: Sequence[Provider],
    campaign: Campaign,
    now: datetime,
    mode: FanOut,
    wave_size: int,
    free_from: Mapping[str, datetime] | None = None,
) -> tuple[list[Provider], list[Provider]]:
    """The providers to call now and those kept in reserve (most promising first)."""
    if mode is FanOut.PARALLEL:
        return list(providers), []
    ordered = by_promise(providers, campaign, now, free_from)
    size = max(1, wave_size)
    return ordered[:size], ordered[size:]


def next_wave(
    reserve: Sequence[Provider],
    campaign: Campaign,
    best_score: float | None,
    now: datetime,
    wave_size: int,
    free_from: Mapping[str, datetime] | None = None,
) -> list[Provider]:
    """The next providers to call when every call so far has ended: up to ``wave_size`` of ``reserve`` whose
    bound is above ``best_score`` (all of them when there is no offer yet), most promising first; empty when
    no provider left could beat the best offer."""
    beatable = [
        p
        for p in by_promise(reserve, campaign, now, free_from)
        if best_score is None or upper_bound(p, campaign, now, free_from) > best_score + SCORE_TOLERANCE
    ]
    return beatable[: max(1, wave_size)]
