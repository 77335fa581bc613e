"""Every example world, simulated once per session (each run is a whole campaign on its own database)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from integrations.simulation.world import load_world
from nexus.simulation import simulate_world

WORLDS = Path(__file__).resolve().parents[3] / "examples" / "worlds"
WORLD_NAMES = sorted(path.stem for path in WORLDS.glob("*.json"))

Outcome = dict[str, Any]


def simulate(name: str, seed: int = 0, book: str | None = None) -> Outcome:
    """What ``nexus simulate --world <name> [--seed] [--book]`` prints, as data. Not for a running loop."""
    path = WORLDS / f"{name}.json"
    return asyncio.run(simulate_world(load_world(path), path.read_text(encoding="utf-8"), seed, book))


@pytest.fixture(scope="session")
def outcomes() -> dict[str, Outcome]:
    """The result of every example world, without booking."""
    return {name: simulate(name) for name in WORLD_NAMES}
