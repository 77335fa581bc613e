"""The quality bar on every example world: the shortlist never clashes with the user's busy time, and where
every provider answers, its top offer is the best feasible slot there is (found by brute force)."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from integrations.simulation.world import load_world
from tests.e2e.simulation.conftest import WORLD_NAMES, WORLDS, Outcome, simulate
from tests.e2e.simulation.formula import best_feasible


def _cooperative(name: str) -> bool:
    """Every provider answers and may be called (none opts out; the world leaves none opted out, over its
    call budget or known to be full), none wants the client on the line (a handed-over call offers nothing),
    and nothing changes over days."""
    world = load_world(WORLDS / f"{name}.json")
    spared = world.history.opted_out or world.history.calls or world.history.known_full
    return not spared and all(
        p.behavior.answers and not p.behavior.opts_out and not p.behavior.wants_person and not p.days
        for p in world.providers
    )


COOPERATIVE = [name for name in WORLD_NAMES if _cooperative(name)]


def _windows(outcome: Outcome) -> list[tuple[datetime, datetime]]:
    return [
        (datetime.fromisoformat(w["start"]), datetime.fromisoformat(w["end"])) for w in outcome["campaign"]["windows"]
    ]


@pytest.mark.parametrize("name", WORLD_NAMES)
def test_the_shortlist_fits_the_users_time(name: str, outcomes: dict[str, Outcome]) -> None:
    world = load_world(WORLDS / f"{name}.json")
    windows = _windows(outcomes[name])

    for offer in outcomes[name]["shortlist"]:
        start, end = datetime.fromisoformat(offer["start"]), datetime.fromisoformat(offer["end"])
        assert start >= world.now, offer
        assert any(w_start <= start and end <= w_end for w_start, w_end in windows), offer
        assert all(end <= busy.start or busy.end <= start for busy in world.user.busy), offer


def test_the_cooperative_worlds_are_most_of_them() -> None:
    # keep_looking_four_days changes by day (nothing fits on its first): its test is test_days.py
    assert set(WORLD_NAMES) - set(COOPERATIVE) == {
        "dentist_tuesday",
        "good_citizen",
        "grounding_and_experts",
        "keep_looking_four_days",
        "nobody_answers",
        "user_in_the_loop",
    }


@pytest.mark.parametrize("name", COOPERATIVE)
def test_the_top_offer_is_the_best_feasible_slot_of_all_providers(name: str, outcomes: dict[str, Outcome]) -> None:
    world = load_world(WORLDS / f"{name}.json")
    outcome = outcomes[name]

    best = best_feasible(world, outcome["campaign"]["service"], _windows(outcome))

    top = outcome["shortlist"][0]
    assert (top["provider_id"], datetime.fromisoformat(top["start"])) == (best.provider_id, best.start)
    assert top["score"] == round(best.score, 4)


def test_the_same_world_and_seed_give_the_same_json(outcomes: dict[str, Outcome]) -> None:
    again = simulate("dentist_tuesday")

    assert json.dumps(again) == json.dumps(outcomes["dentist_tuesday"])
