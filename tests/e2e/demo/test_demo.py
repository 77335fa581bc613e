"""``nexus demo``: a whole campaign on the bundled directory, as a person sees it in the terminal or in a file:
in the request's language, with counts that agree with their nouns, plain aligned columns without a terminal."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from rich.console import Console

from nexus.demo import run_demo

# A Wednesday at 10:30 in Berlin: office hours, so the demo runs at this very time and says nothing about it.
OFFICE_HOURS = datetime(2026, 12, 2, 10, 30, tzinfo=ZoneInfo("Europe/Berlin"))


async def _demo(request: str, near: str, book: bool, now: datetime = OFFICE_HOURS) -> str:
    out = io.StringIO()
    console = Console(file=out, width=140, force_terminal=False, color_system=None)
    await run_demo(console, request, near, book, seed=7, timezone="Europe/Berlin", time_scale=0, real_now=now)
    return out.getvalue()


def _columns_line_up(block: list[str]) -> None:
    """Every row of a plain table starts its columns where the header does."""
    header = block[0]
    starts = [m.start() for m in re.finditer(r"(?<=\s\s)\S", header)]
    assert starts, header
    for row in block[1:]:
        for start in starts:
            assert row[start - 1] == " ", (header, row)


async def test_the_demo_calls_providers_ranks_offers_and_books_the_best() -> None:
    shown = await _demo("dentist next Tuesday afternoon", "Alexanderplatz", book=True)
    lines = shown.splitlines()
    assert lines[0] == "Request: dentist next Tuesday afternoon"
    assert lines[1] == "Searching around Alexanderplatz, Berlin"
    assert lines[2].startswith("Calling 15 dentists: 15 done, ")
    assert "Your shortlist" in lines  # a title on a line of its own, not glued to a table
    booked = [line for line in lines if line.startswith("Booked: ")]
    gone = "could no longer offer that time" in shown
    assert booked or gone, shown
    if booked:
        assert "Tuesday" in booked[0]
    assert not any(ch in shown for ch in "┏┃━│└")  # plain text without a terminal
    table = lines[lines.index("Your shortlist") + 1 :]
    table = table[: table.index("")]
    assert table[0].split() == ["#", "Provider", "When", "Rating", "Distance", "Score"]
    assert 2 <= len(table) <= 6
    _columns_line_up(table)


async def test_a_german_request_gets_german_tables_and_names_its_own_place() -> None:
    shown = await _demo("Kinderarzt nächsten Dienstag nahe Alexanderplatz", "Marienplatz", book=False)
    lines = shown.splitlines()
    assert lines[0] == "Anfrage: Kinderarzt nächsten Dienstag nahe Alexanderplatz"
    assert lines[1] == "Suche rund um Alexanderplatz, Berlin"  # the request's place wins over --near
    assert re.fullmatch(r"Anrufe bei \d+ Anbietern \(Kinderarzt\): \d+ fertig, \d+ Angebote?", lines[2].strip())
    assert lines[3].split() == ["Anbieter", "Anruf"]
    assert "Deine Auswahl" in lines
    assert "pediatrician" not in shown and " near " not in shown and "Your shortlist" not in shown
    assert "Dienstag" in shown and "Mit --book buche ich das beste Angebot telefonisch." in shown


@pytest.mark.parametrize(
    ("request_text", "near", "title"),
    [
        ("barber tomorrow", "Marienplatz", r"Calling 1 barber: 1 done, [01] offers?"),
        ("car wash tomorrow", "Alexanderplatz", r"Calling 2 car washes: 2 done, [012] offers?"),
    ],
)
async def test_counts_agree_with_their_nouns(request_text: str, near: str, title: str) -> None:
    shown = await _demo(request_text, near, book=False)
    calling = shown.splitlines()[2].strip()
    assert re.fullmatch(title, calling), calling
    assert ("1 offers" not in calling) and ("1 barbers" not in calling)


async def test_an_unknown_place_is_said_plainly() -> None:
    shown = await _demo("dentist tomorrow", "Atlantis", book=False)
    assert "I don't know the place 'Atlantis'" in shown


def test_piped_to_a_file_the_demo_is_plain_and_nothing_wraps() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "nexus.cli", "demo", "dentist tomorrow", "--seed", "3"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "Your shortlist" in lines
    assert not any(ch in done.stdout for ch in "┏┃━│└\x1b")
    table = lines[lines.index("Your shortlist") + 1 :]
    table = table[: table.index("")]
    assert all(re.search(r"\d+\.\d km\s+\d\.\d{3}$", row) for row in table[1:]), table  # one line per offer
    _columns_line_up(table)


@pytest.mark.parametrize(
    ("request_text", "pretend"),
    [
        ("dentist next Tuesday afternoon", "the demo runs as if it were Thursday 3 December 10:00."),
        ("Zahnarzt nächsten Dienstag nachmittags", "die Demo läuft, als wäre es Donnerstag, 3. Dezember 10:00."),
    ],
)
async def test_at_night_the_demo_says_it_runs_in_office_hours(request_text: str, pretend: str) -> None:
    night = datetime(2026, 12, 2, 23, 15, tzinfo=ZoneInfo("Europe/Berlin"))  # Wednesday night: practices closed

    lines = (await _demo(request_text, "Alexanderplatz", book=False, now=night)).splitlines()

    assert lines[2].endswith(pretend), lines[2]
    assert re.match(r"(Calling \d+ dentists: \d+ done|Anrufe bei \d+ Anbietern \(Zahnarzt\): \d+ fertig)", lines[3])
