"""The good citizen world: a practice that opted out, one called three times today and one known to be full
are not called by ``nexus simulate``; the next ones are. A practice that opts out on the phone is never called
again, by the next search of anyone."""

from __future__ import annotations

import json
from datetime import timedelta

from domain.models import CallOutcome, CallStatus
from integrations.clock import FixedClock
from integrations.directory import BundledDirectory
from integrations.offline_calendar import StaticCalendar
from integrations.simulation.history import seed_history
from integrations.simulation.world import load_world
from nexus.simulation import SIMULATED_USER, offline_nexus, start_and_settle
from tests.e2e.simulation.conftest import WORLDS, Outcome
from tests.e2e.simulation.test_cli import nexus

NOT_CALLED = {"quiet", "popular", "full"}


def test_simulate_calls_none_of_the_practices_it_should_spare() -> None:
    done = nexus("simulate", "--world", WORLDS / "good_citizen.json", "--json")
    assert done.returncode == 0, done.stderr
    result: Outcome = json.loads(done.stdout)
    calls = {c["provider_id"]: c for c in result["calls"]}
    for provider_id in NOT_CALLED:
        assert (calls[provider_id]["status"], calls[provider_id]["turns"]) == ("CANCELLED", 0)
    assert {p: calls[p]["not_called"] for p in NOT_CALLED} == {
        "quiet": "opted_out",
        "popular": "over_budget",
        "full": "known_full",
    }
    assert calls["full"]["nothing_free_before"] == "2026-12-04T08:00:00+01:00"
    assert {p for p, c in calls.items() if c["turns"] > 0} == {"refuses", "mitte", "prenzlberg"}
    assert {s["provider_id"] for s in result["shortlist"]} == {"mitte", "prenzlberg"}


def test_the_summary_says_why_each_practice_was_not_called() -> None:
    done = nexus("simulate", "--world", WORLDS / "good_citizen.json")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    said = {name: next(line for line in lines if name in line) for name in ("Ruhe", "Vielgefragt", "Voll")}
    assert said["Ruhe"].endswith("not called: did not want automated calls")
    assert said["Vielgefragt"].endswith("not called: called often enough today")
    assert said["Voll"].endswith("not called: known: nothing free before Friday 4 December at 08:00")


async def test_a_practice_that_opts_out_on_the_phone_is_not_called_by_the_next_search() -> None:
    world = load_world(WORLDS / "good_citizen.json")
    async with offline_nexus(
        now=world.now,
        providers=BundledDirectory(world.directory_providers()),
        calendar=StaticCalendar({}),
        timezone=world.timezone,
        behaviours=world.behaviours(),
    ) as run:
        await seed_history(run.nexus.ports, world)
        place = world.user.location.point()
        await start_and_settle(run, world.user_profile(SIMULATED_USER), world.request, place, now=world.now)
        clock = run.nexus.ports.clock
        assert isinstance(clock, FixedClock)
        clock.advance(timedelta(hours=1))
        other_user = world.user_profile(SIMULATED_USER + 1)
        second = await start_and_settle(run, other_user, world.request, place, now=clock.now())
        async with run.nexus.ports.uow() as uow:
            opted_out = await uow.practices.list_opt_outs()
            calls = await uow.calls.list_for_campaign(second.id)
        placed = dict(run.gateway._calls_to)
    assert sorted(o.phone for o in opted_out) == ["+4930555060001", "+4930555060004"]
    refused = next(c for c in calls if c.provider.id == "refuses")
    assert (refused.status, refused.outcome, refused.started_at) == (CallStatus.CANCELLED, CallOutcome.OPTED_OUT, None)
    # the gateway was asked to dial only the practices that may be called, "refuses" once, before it opted out
    assert placed == {"refuses:DISCOVER": 1, "mitte:DISCOVER": 2, "prenzlberg:DISCOVER": 2}
