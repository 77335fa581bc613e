"""``nexus simulate --days 4`` on examples/worlds/keep_looking_four_days.json: nothing fits on day 1, a
cancellation opens a slot on day 2, the waitlisted provider has an earlier one on day 3, and the appointment
moves on day 4. Every simulated day runs in a fresh NEXUS process on the same database, so every round after
the first is started by a process that did not plan it."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from typing import Any

import pytest

from integrations.simulation.world import load_world
from nexus.simulation_days import simulate_days
from tests.e2e.simulation.conftest import WORLDS

WORLD = WORLDS / "keep_looking_four_days.json"


@pytest.fixture(scope="module")
def days() -> dict[str, Any]:
    return asyncio.run(simulate_days(load_world(WORLD), WORLD.read_text(encoding="utf-8"), 4))


def told(result: dict[str, Any], message: str) -> list[dict[str, Any]]:
    return [t for t in result["told"] if t["message"] == message]


def calls(result: dict[str, Any], **match: object) -> list[dict[str, Any]]:
    return [c for c in result["calls"] if all(c[k] == v for k, v in match.items())]


def test_nothing_fits_on_day_one_and_the_user_keeps_looking(days: dict[str, Any]) -> None:
    day_one = calls(days, day=1)
    assert {c["provider_id"]: c["outcome"] for c in day_one} == {
        "adler": "no_availability",
        "berg": "waitlisted",
        "claus": "call_back_later",
    }
    assert calls(days, provider_id="claus", day=1)[0]["call_back_at"] == "2026-12-01T08:00:00+01:00"
    [failed] = told(days, "failed")
    assert failed["day"] == 1
    looking = told(days, "round_looking")[0]
    assert looking["waitlisted"] == ["Dental Studio Berg, +4930555020002"]  # who may phone the user directly
    assert looking["next_round"] == "2026-12-01T08:00:00+01:00"


def test_day_two_calls_back_as_asked_waitlisted_first_and_finds_the_cancelled_slot(days: dict[str, Any]) -> None:
    round_one = calls(days, day=2, search="search 1", round=1)
    assert [c["provider_id"] for c in round_one] == ["berg", "claus", "adler"]  # waitlisted first
    assert all(c["at"].startswith("2026-12-01T08:00") for c in round_one)  # Claus at the time it asked for
    assert {c["provider_id"]: c["outcome"] for c in round_one}["adler"] == "offer_made"
    [found] = told(days, "round_found")  # told once, on the day something new fits
    assert found["day"] == 2
    assert found["offers"] == ["Zahnarztpraxis Adler 2026-12-10T10:00:00+01:00"]


def test_the_user_books_then_an_earlier_slot_is_swapped_in_before_the_old_one_is_cancelled(
    days: dict[str, Any],
) -> None:
    booked = told(days, "booked")
    assert [(b["day"], b["appointment"]) for b in booked] == [
        (2, "Zahnarztpraxis Adler 2026-12-10T10:00:00+01:00"),
        (3, "Dental Studio Berg 2026-12-08T15:00:00+01:00"),
    ]
    [earlier] = told(days, "round_earlier")
    assert earlier["day"] == 3
    assert earlier["offers"] == ["Dental Studio Berg 2026-12-08T15:00:00+01:00"]
    watch_calls = calls(days, search="watch 1", purpose="DISCOVER")
    assert {c["provider_id"] for c in watch_calls} == {"berg"}  # only providers ranked above Adler
    [swap_booking] = calls(days, search="watch 1", purpose="CONFIRM")
    [cancel] = calls(days, purpose="CANCEL")
    assert cancel["provider_id"] == "adler" and cancel["outcome"] == "cancelled_appointment"
    assert swap_booking["outcome"] == "booked"
    assert cancel["at"] > swap_booking["at"]  # booked first, cancelled by phone after
    messages = [t["message"] for t in days["told"]]
    assert messages.index("cancelled") > len(messages) - 1 - messages[::-1].index("booked")


def test_a_reschedule_moves_the_appointment_with_one_call(days: dict[str, Any]) -> None:
    rescheduling = calls(days, search="reschedule 1")
    assert [(c["purpose"], c["provider_id"], c["outcome"]) for c in rescheduling] == [("RESCHEDULE", "berg", "booked")]
    [moved] = told(days, "round_moved")
    assert moved["day"] == 4
    assert days["appointments"] == [
        {
            "provider_id": "berg",
            "provider_name": "Dental Studio Berg",
            "start": "2026-12-09T14:00:00+01:00",
            "status": "BOOKED",
            "sequence": 1,
        },
        {
            "provider_id": "adler",
            "provider_name": "Zahnarztpraxis Adler",
            "start": "2026-12-10T10:00:00+01:00",
            "status": "CANCELLED",
            "sequence": 0,
        },
    ]


def test_each_useful_finding_is_told_once(days: dict[str, Any]) -> None:
    findings = [t["message"] for t in days["told"] if t["message"] in ("round_found", "round_earlier", "shortlist")]
    assert findings == ["round_found", "round_earlier"]
    assert days["live_view_days"] == [1]  # later rounds run quietly: no live view of their calls


def test_the_cli_runs_the_days_and_says_what_happened() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "nexus.cli", "simulate", "--world", str(WORLD), "--days", "4"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert [line for line in lines if line.startswith("Day ")] == ["Day 1", "Day 2", "Day 3", "Day 4"]
    assert "  Dental Studio Berg, Wed 09 Dec 14:00: booked, moved 1x" in lines
    assert any("call back later (call back Tue 01 Dec 08:00)" in line for line in lines)


def test_the_days_are_reproducible(days: dict[str, Any]) -> None:
    again = asyncio.run(simulate_days(load_world(WORLD), WORLD.read_text(encoding="utf-8"), 4))

    def minutes(result: dict[str, Any]) -> str:  # what happened within a minute may tick a second differently
        return json.dumps([{**t, "at": t["at"][:16]} for t in result["told"]])

    assert minutes(again) == minutes(days)
    assert [(c["search"], c["purpose"], c["provider_id"], c["outcome"]) for c in again["calls"]] == [
        (c["search"], c["purpose"], c["provider_id"], c["outcome"]) for c in days["calls"]
    ]
