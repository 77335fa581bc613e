"""``FAN_OUT=adaptive nexus simulate``: the fifteen-practice world finds the same best offer as calling everyone
at once, with fewer calls, wave by wave."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

from tests.e2e.simulation.conftest import WORLDS


def simulate(fan_out: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "nexus.cli", "simulate", "--world", str(WORLDS / "fifteen_providers.json"), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "FAN_OUT": fan_out},
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_adaptive_finds_the_same_best_offer_with_fewer_calls() -> None:
    parallel, adaptive = simulate("parallel"), simulate("adaptive")

    discovery = {
        name: [c for c in r["calls"] if c["purpose"] == "DISCOVER"] for name, r in (("p", parallel), ("a", adaptive))
    }
    assert len(discovery["p"]) == 15
    assert 3 <= len(discovery["a"]) < 15
    assert adaptive["campaign"]["status"] == parallel["campaign"]["status"] == "RANKING"
    best = {
        key: (r["shortlist"][0]["provider_id"], r["shortlist"][0]["start"])
        for key, r in (("p", parallel), ("a", adaptive))
    }
    assert best["a"] == best["p"]
