"""How offers are compared: earliest 50%, rating 30%, distance 20% by default, weights per user.

    earliest = 1 - (start - span_start) / (span_end - span_start), clamped to [0, 1]
    rating   = rating / 5                  (a provider without rating counts as 3.0)
    distance = max(0, 1 - km / max_distance_km)
    score    = w_earliest * earliest + w_rating * rating + w_distance * distance   (weights sum to 1)

Ties go to the earlier start, then the higher rating, then the provider's name. Ranking puts offers the
receptionist's words support first, those whose transcript is not there yet next, unsupported ones last
(``domain.grounding``); the score itself does not change.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from domain.models import Offer, OfferGrounding, TimeWindow, Weights

UNKNOWN_RATING = 3.0


@dataclass(frozen=True, slots=True)
class Score:
    earliest: float
    rating: float
    distance: float
    total: float


def _clamp(value: float) -> float:
    return min(1.0, max(0.0, value))


def score_slot(
    start: datetime,
    span: TimeWindow,
    rating: float | None,
    distance_km: float,
    max_distance_km: float,
    weights: Weights,
) -> Score:
    """Score one slot of one provider for a campaign whose windows cover ``span``."""
    earliest = _clamp(1.0 - (start - span.start) / (span.end - span.start))
    rating_part = _clamp((UNKNOWN_RATING if rating is None else rating) / 5.0)
    distance_part = max(0.0, 1.0 - distance_km / max_distance_km) if max_distance_km > 0 else 0.0
    w = weights.normalised()
    total = w.earliest * earliest + w.rating * rating_part + w.distance * distance_part
    return Score(earliest, rating_part, distance_part, round(total, 6))


def ranking_key(offer: Offer) -> tuple[float, datetime, float, str]:
    """Best first: higher score, then earlier start, then higher rating, then provider name."""
    rating = UNKNOWN_RATING if offer.rating is None else offer.rating
    return (-offer.score, offer.start, -rating, offer.provider_name)


_GROUNDING_TIER = {OfferGrounding.VERIFIED: 0, OfferGrounding.PENDING: 1, OfferGrounding.UNVERIFIED: 2}


def grounded_ranking_key(offer: Offer) -> tuple[int, float, datetime, float, str]:
    """Verified offers first, then those not checked yet, then unverified ones; within each, ``ranking_key``."""
    return (_GROUNDING_TIER[offer.grounding], *ranking_key(offer))


def rank(offers: Iterable[Offer]) -> list[Offer]:
    """The offers best first (``grounded_ranking_key``)."""
    return sorted(offers, key=grounded_ranking_key)
