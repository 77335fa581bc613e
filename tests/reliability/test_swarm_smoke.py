"""The swarm benchmark's machinery on the smallest load: one campaign of simulated calls whose agents and
receptionists run in processes of their own, talking to a real server over HTTP. The benchmark is the only
other place that runs the simulation without a database of its own, so what breaks it shows here first."""

from __future__ import annotations

from benchmarks.swarm import run_swarm


async def test_one_campaign_of_the_swarm_ends_ranked_without_an_error() -> None:
    lines: dict[str, str] = {}

    await run_swarm([1], lambda key, value: lines.__setitem__(key, value))

    assert lines["swarm.c1.errors"] == "0", lines
    assert (lines["swarm.c1.ranked"], lines["swarm.c1.failed"]) == ("1", "0"), lines
