"""``nexus simulate`` as a person runs it: a separate process, JSON on stdout, exit code 2 and one line on
stderr when the world file cannot be used."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from nexus.cli import main
from tests.e2e.simulation.conftest import WORLDS, Outcome


def nexus(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nexus.cli", *map(str, args)], capture_output=True, text=True, timeout=60, check=False
    )


def test_simulate_prints_the_campaign_as_json_and_books_with_the_fallback(outcomes: dict[str, Outcome]) -> None:
    done = nexus("simulate", "--world", WORLDS / "confirmation_slot_gone.json", "--book", "best", "--json")

    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["campaign"]["status"] == "RANKING"
    assert result["chosen"] == {"provider_id": "g1", "start": "2026-12-03T15:00:00+01:00", "status": "UNAVAILABLE"}
    assert result["appointment"] is None
    assert [(c["provider_id"], c["purpose"], c["outcome"]) for c in result["calls"]][-1] == (
        "g1",
        "CONFIRM",
        "no_availability",
    )
    # Another process, the same world and seed: the same campaign, without the offer that is gone.
    without_booking = outcomes["confirmation_slot_gone"]
    assert result["campaign"]["id"] == without_booking["campaign"]["id"]
    assert result["calls"][:-1] == without_booking["calls"]
    assert [(s["rank"], s["provider_id"], s["score"]) for s in result["shortlist"]] == [
        (rank, s["provider_id"], s["score"]) for rank, s in enumerate(without_booking["shortlist"][1:], 1)
    ]


def test_a_broken_world_file_exits_2_with_one_line_saying_why(tmp_path: Path) -> None:
    world = json.loads((WORLDS / "dentist_tuesday.json").read_text(encoding="utf-8"))
    world["now"] = "2026-11-26T09:00:00"  # no UTC offset
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(world), encoding="utf-8")

    done = nexus("simulate", "--world", broken, "--json")

    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr == (
        f"nexus simulate: The world file {broken} does not fit the format: "
        "now: needs a UTC offset, like 2026-12-01T14:30:00+01:00.\n"
    )


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (None, "Cannot read the world file"),
        ('{"now": "2026-11-26T09:00:00+01:00", ', "is not valid JSON (line 1"),
        (
            '{"now": "2026-11-26T09:00:00+01:00"}',
            "does not fit the format: request: Field required; user: Field required",
        ),
        (
            '{"now": "2026-11-26T09:00:00+01:00", "timezone": "Mars/Olympus", "request": "dentist", '
            '"user": {"location": {"lat": 52.5, "lng": 13.4}}}',
            "timezone: 'Mars/Olympus' is not a known timezone",
        ),
        (
            '{"now": "2026-11-26T09:00:00+01:00", "request": "something nice", '
            '"user": {"location": {"lat": 52.5, "lng": 13.4}}}',
            "I could not tell which kind of provider",
        ),
    ],
    ids=["missing", "garbled", "incomplete", "unknown-timezone", "no-service"],
)
def test_a_world_that_cannot_run_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None, says: str
) -> None:
    path = tmp_path / "world.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")

    code = main(["simulate", "--world", str(path), "--json"])

    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    assert err.startswith("nexus simulate: ") and says in err
    assert err.count("\n") == 1 and err.endswith(".\n")


def test_book_best_on_a_gone_slot_says_so_in_the_text_and_names_the_calls_by_provider() -> None:
    done = nexus("simulate", "--world", WORLDS / "confirmation_slot_gone.json", "--book", "best")

    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "Campaign for dentists: RANKING"
    assert lines[1] == (
        "  Booking Zahnarzt am Alex for Thursday 3 December at 15:00 failed: the slot was gone. "
        "The other offers are still on the shortlist."
    )
    calls = lines[lines.index("Calls: 4") + 1 : lines.index("Shortlist:")]
    assert [re.split(r"\s{2,}", line.strip())[:2] for line in calls][-1] == ["booking", "Zahnarzt am Alex"]
    assert all(" g1 " not in line and " g2 " not in line for line in calls)  # names, not ids
    assert calls[-1].endswith("completed, no availability, 4 turns")


def test_a_german_world_is_summed_up_in_german() -> None:
    done = nexus("simulate", "--world", WORLDS / "german_request_friseur.json", "--book", "1")

    assert done.returncode == 0, done.stderr
    text = done.stdout
    assert text.startswith("Suche nach Friseur: CONFIRMED\nAnrufe: 4\n")
    assert "  Buchung  Salon Bergmannkiez        beendet, gebucht, 4 Runden" in text
    assert "\nAuswahl:\n" in text and "Gebucht: Salon Bergmannkiez, Mittwoch, 2. Dezember um 15:00" in text
    assert not any(word in text for word in ("Calls", "Shortlist", "completed", "hairdresser"))
