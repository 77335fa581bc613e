"""``nexus parse``: the summary for a person, the JSON for a program, and sentences for bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from nexus.cli import main

REPO = Path(__file__).resolve().parents[3]
NOW = "2026-11-26T09:00:00+01:00"  # a Thursday in Berlin
# The environment wins over a developer's .env, so the default zone is known.
ENV = {**os.environ, "DEFAULT_TIMEZONE": "Europe/Berlin"}


@pytest.fixture(autouse=True)
def _berlin_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEFAULT_TIMEZONE", "Europe/Berlin")


def test_prints_a_summary_for_a_person(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["parse", "dentist next Tuesday afternoon near Alexanderplatz", "--now", NOW])
    assert code == 0
    assert capsys.readouterr().out == (
        "Service:      dentist\n"
        "When:         Tue 1 Dec 12:00–17:00\n"
        "Where:        Alexanderplatz\n"
        "Length:       30 minutes\n"
        "Language:     English\n"
        "Still needed: —\n"
    )


def test_the_summary_lists_every_window_and_what_is_still_needed(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["parse", "Montag", "oder", "Mittwoch", "vormittags", "--now", NOW, "--tz", "Europe/Berlin"]) == 0
    assert capsys.readouterr().out == (
        "Service:      —\n"
        "When:         Mon 30 Nov 08:00–12:00\n"
        "              Wed 2 Dec 08:00–12:00\n"
        "Where:        —\n"
        "Length:       30 minutes\n"
        "Language:     German\n"
        "Still needed: what kind of appointment, where\n"
    )


def test_prints_json_with_offsets(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["parse", "Zahnarzt morgen nach 15 Uhr am Alexanderplatz", "--now", NOW, "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "text": "Zahnarzt morgen nach 15 Uhr am Alexanderplatz",
        "service": "dentist",
        "windows": [{"start": "2026-11-27T15:00:00+01:00", "end": "2026-11-27T20:00:00+01:00"}],
        "location": "Alexanderplatz",
        "duration_minutes": 30,
        "language": "de",
        "missing": [],
        "doubts": [],
    }


def test_the_default_timezone_comes_from_the_settings(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEFAULT_TIMEZONE", "America/New_York")
    assert main(["parse", "dentist tomorrow", "--now", "2026-11-26T14:00:00Z", "--json"]) == 0
    windows = json.loads(capsys.readouterr().out)["windows"]
    assert windows == [{"start": "2026-11-27T08:00:00-05:00", "end": "2026-11-27T18:00:00-05:00"}]


def test_a_now_without_offset_is_read_in_the_given_zone(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["parse", "dentist today", "--now", "2026-11-26T09:30", "--tz", "Asia/Tokyo", "--json"]) == 0
    windows = json.loads(capsys.readouterr().out)["windows"]
    assert windows == [{"start": "2026-11-26T10:00:00+09:00", "end": "2026-11-26T18:00:00+09:00"}]


@pytest.mark.parametrize(
    ("arguments", "sentence"),
    [
        (["--now", "next thursday"], "nexus parse: 'next thursday' is not a date and time I can read"),
        (["--tz", "Mars/Olympus_Mons"], "nexus parse: 'Mars/Olympus_Mons' is not a time zone I know"),
    ],
)
def test_bad_options_get_one_sentence_and_exit_code_2(
    capsys: pytest.CaptureFixture[str], arguments: list[str], sentence: str
) -> None:
    assert main(["parse", "dentist", *arguments]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(sentence)
    assert captured.err.count("\n") == 1


def test_runs_as_a_program() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "nexus.cli", "parse", "haircut", "Friday", "at", "3pm", "--now", NOW, "--json"],
        cwd=REPO,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout)["windows"] == [
        {"start": "2026-11-27T15:00:00+01:00", "end": "2026-11-27T16:15:00+01:00"}
    ]


def test_a_bad_option_as_a_program_prints_no_traceback() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "nexus.cli", "parse", "dentist", "--now", "soon"],
        cwd=REPO,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 2
    assert "Traceback" not in completed.stderr
    assert completed.stderr.strip() == (
        "nexus parse: 'soon' is not a date and time I can read; try one like 2026-11-26T09:00+01:00."
    )


def test_shows_the_question_when_a_date_and_its_weekday_disagree(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["parse", "dentist monday dec 8", "--now", NOW]) == 0
    out = capsys.readouterr().out
    assert "When:         Tue 8 Dec 08:00–18:00" in out
    assert "Unsure:       8 December is a Tuesday, not a Monday. Which day do you mean?" in out
    assert "1. Tue 8 Dec: Tue 8 Dec 08:00–18:00" in out
    assert "2. Mon 7 Dec: Mon 7 Dec 08:00–18:00" in out


def test_the_json_carries_each_doubt_with_its_options(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["parse", "Zahnarzt Montag, den 8. Dezember", "--now", NOW, "--json"]) == 0
    doubts = json.loads(capsys.readouterr().out)["doubts"]
    assert doubts == [
        {
            "question": "Der 8. Dezember ist ein Dienstag, kein Montag. Welchen Tag meinst du?",
            "options": [
                {
                    "label": "Di 8. Dez",
                    "windows": [{"start": "2026-12-08T08:00:00+01:00", "end": "2026-12-08T18:00:00+01:00"}],
                },
                {
                    "label": "Mo 7. Dez",
                    "windows": [{"start": "2026-12-07T08:00:00+01:00", "end": "2026-12-07T18:00:00+01:00"}],
                },
            ],
        }
    ]
