from datetime import UTC, datetime, timedelta

import pytest

from domain.errors import InvalidRequest
from domain.models import Offer, OfferGrounding, TimeWindow, Weights
from domain.scoring import rank, score_slot

SPAN = TimeWindow(datetime(2026, 12, 1, 11, tzinfo=UTC), datetime(2026, 12, 1, 16, tzinfo=UTC))


def test_the_documented_formula() -> None:
    # 14:00 is 3 of 5 hours into the span: earliest = 0.4; rating 4.5 -> 0.9; 2 km of 10 -> 0.8
    score = score_slot(SPAN.start + timedelta(hours=3), SPAN, 4.5, 2.0, 10.0, Weights())
    assert score.earliest == pytest.approx(0.4)
    assert score.rating == pytest.approx(0.9)
    assert score.distance == pytest.approx(0.8)
    assert score.total == pytest.approx(0.5 * 0.4 + 0.3 * 0.9 + 0.2 * 0.8)


def test_unknown_rating_counts_as_three_and_far_away_counts_zero() -> None:
    score = score_slot(SPAN.start, SPAN, None, 25.0, 10.0, Weights())
    assert score.rating == pytest.approx(0.6)
    assert score.distance == 0.0
    assert score.earliest == 1.0


def test_slots_outside_the_span_are_clamped() -> None:
    assert score_slot(SPAN.end + timedelta(hours=1), SPAN, 5, 0, 10, Weights()).earliest == 0.0
    assert score_slot(SPAN.start - timedelta(hours=1), SPAN, 5, 0, 10, Weights()).earliest == 1.0


def test_weights_are_normalised() -> None:
    doubled = score_slot(SPAN.start, SPAN, 4.0, 5.0, 10.0, Weights(1.0, 0.6, 0.4))
    default = score_slot(SPAN.start, SPAN, 4.0, 5.0, 10.0, Weights())
    assert doubled.total == pytest.approx(default.total)
    assert score_slot(SPAN.start, SPAN, 1.0, 9.0, 10.0, Weights(1, 0, 0)).total == pytest.approx(1.0)


def test_weights_must_be_sane() -> None:
    with pytest.raises(InvalidRequest):
        Weights(0, 0, 0)
    with pytest.raises(InvalidRequest):
        Weights(-1, 1, 1)


def _offer(name: str, score: float, hour: int, rating: float | None) -> Offer:
    start = datetime(2026, 12, 1, hour, tzinfo=UTC)
    return Offer("c", "call", name, name, start, start + timedelta(minutes=30), score, rating, 1.0, start)


def test_ties_break_by_start_then_rating_then_name() -> None:
    offers = [
        _offer("Zeta", 0.7, 10, 4.0),
        _offer("Alpha", 0.7, 10, 4.0),
        _offer("Beta", 0.7, 10, 4.8),
        _offer("Early", 0.7, 9, 3.0),
        _offer("Best", 0.9, 15, 3.0),
    ]
    assert [o.provider_name for o in rank(offers)] == ["Best", "Early", "Beta", "Alpha", "Zeta"]


def test_offers_the_receptionist_said_rank_before_unchecked_ones_and_unsupported_ones_last() -> None:
    made_up = _offer("Made up", 0.99, 9, 5.0)
    made_up.grounding = OfferGrounding.UNVERIFIED
    unchecked = _offer("Unchecked", 0.95, 10, 4.0)
    said = _offer("Said", 0.5, 15, 3.0)
    said.grounding = OfferGrounding.VERIFIED
    also_said = _offer("Also said", 0.6, 15, 3.0)
    also_said.grounding = OfferGrounding.VERIFIED

    ranked = rank([made_up, unchecked, said, also_said])

    assert [o.provider_name for o in ranked] == ["Also said", "Said", "Unchecked", "Made up"]
    assert made_up.score == 0.99  # ranking does not touch the score
