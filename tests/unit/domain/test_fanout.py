"""The fan-out's pure rules: a provider's bound is never below any offer it could make, adaptive calls the most
promising first, and it widens only while a provider not called could still beat the best offer."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from domain.models import Provider, Weights
from domain.scoring import score_slot
from domain.services.fanout import FanOut, by_promise, first_wave, next_wave, upper_bound
from tests.factories import ALEXANDERPLATZ, make_campaign, make_provider

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 30, 9, tzinfo=BERLIN)
CAMPAIGN = make_campaign(NOW)  # one window tomorrow, 5 hours, 10 km radius


def near(provider_id: str, rating: float | None, km_east: float) -> Provider:
    return make_provider(provider_id, rating=rating, lat=ALEXANDERPLATZ.lat, lng=ALEXANDERPLATZ.lng + km_east / 67.8)


def test_the_bound_is_the_score_of_a_slot_at_the_start_of_the_span() -> None:
    provider = near("a", 4.0, 2.0)
    distance = CAMPAIGN.location.distance_km(provider.location)
    expected = score_slot(CAMPAIGN.span.start, CAMPAIGN.span, 4.0, distance, CAMPAIGN.radius_km, CAMPAIGN.weights)

    assert upper_bound(provider, CAMPAIGN, NOW) == expected.total


def test_no_offer_can_score_above_its_providers_bound() -> None:
    rng = random.Random(16)
    span = CAMPAIGN.span
    for _ in range(300):
        weights = Weights(rng.random() + 0.01, rng.random(), rng.random())
        campaign = make_campaign(NOW, weights=weights, radius_km=rng.choice((3.0, 10.0)))
        rating = None if rng.random() < 0.2 else round(rng.uniform(1, 5), 1)
        provider = near("p", rating, rng.uniform(0, 12))
        start = span.start + timedelta(minutes=5 * rng.randrange(60))
        distance = campaign.location.distance_km(provider.location)
        offer = score_slot(start, campaign.span, rating, distance, campaign.radius_km, campaign.weights).total
        assert offer <= upper_bound(provider, campaign, NOW)


def test_what_is_known_about_a_provider_and_the_clock_lower_its_bound() -> None:
    provider = near("a", 4.0, 2.0)
    full = upper_bound(provider, CAMPAIGN, NOW)
    later = CAMPAIGN.span.start + timedelta(hours=2)

    assert upper_bound(provider, CAMPAIGN, NOW, {"a": later}) < full
    assert upper_bound(provider, CAMPAIGN, NOW, {"someone else": later}) == full
    assert upper_bound(provider, CAMPAIGN, later) == upper_bound(provider, CAMPAIGN, NOW, {"a": later})


def test_parallel_calls_everyone_at_once_in_the_directorys_order() -> None:
    providers = [near("far", 3.0, 8), near("best", 5.0, 0.5), near("mid", 4.0, 3)]

    assert first_wave(providers, CAMPAIGN, NOW, FanOut.PARALLEL, 1) == (providers, [])


def test_adaptive_calls_the_most_promising_first_and_keeps_the_rest_in_order() -> None:
    far, best, mid, unrated = near("far", 3.0, 8), near("best", 5.0, 0.5), near("mid", 4.0, 3), near("u", None, 1)

    calling, reserve = first_wave([far, best, mid, unrated], CAMPAIGN, NOW, FanOut.ADAPTIVE, 2)

    assert [p.id for p in calling] == ["best", "mid"]
    assert [p.id for p in reserve] == ["u", "far"]
    assert by_promise([far, best], CAMPAIGN, NOW) == [best, far]


def test_adaptive_takes_a_whole_wave_when_there_is_no_offer_yet() -> None:
    reserve = [near(f"p{n}", 4.0 - n / 10, n) for n in range(5)]

    assert [p.id for p in next_wave(reserve, CAMPAIGN, None, NOW, 3)] == ["p0", "p1", "p2"]
    assert [p.id for p in next_wave(reserve, CAMPAIGN, None, NOW, 0)] == ["p0"]  # a wave has at least one


def test_adaptive_widens_only_to_providers_that_could_beat_the_best_offer() -> None:
    strong, weak, weakest = near("strong", 5.0, 0.5), near("weak", 2.5, 6), near("weakest", 2.0, 9)
    reserve = [weakest, weak, strong]
    bounds = {p.id: upper_bound(p, CAMPAIGN, NOW) for p in reserve}

    between = (bounds["weak"] + bounds["strong"]) / 2
    assert next_wave(reserve, CAMPAIGN, between, NOW, 3) == [strong]
    assert next_wave(reserve, CAMPAIGN, bounds["strong"], NOW, 3) == []  # a tie cannot beat it
    assert next_wave(reserve, CAMPAIGN, bounds["weakest"] - 0.01, NOW, 2) == [strong, weak]
