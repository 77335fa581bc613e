"""Conventions the README promises, each pinned on its own (the corpus measures; these name the rule)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from integrations.intent._fuzzy import closest
from integrations.intent._spelling import respell
from integrations.intent._text import FoldedText
from integrations.intent.offline import parse_request
from integrations.intent.vocabulary import find_service
from tests.corpus import local_windows

BERLIN = "Europe/Berlin"
NOW = datetime(2026, 11, 26, 7, 30, tzinfo=ZoneInfo(BERLIN))  # a Thursday


def windows(text: str) -> list[tuple[str, str, str]]:
    return [(d[5:], a, b) for d, a, b in local_windows(parse_request(text, NOW, BERLIN).windows, BERLIN)]


# Real words one or two letters from a service word (or a time word); none of them may become one.
ORDINARY_ENGLISH = [
    "message", "messages", "passage", "massive", "garbage", "garden", "barter", "barker", "better", "docker",
    "doctrine", "dentures", "dental", "optimal", "options", "physics", "mechanical", "mechanism", "accounting",
    "accountable", "tired", "tiles", "vetting", "vector", "naked", "nailed", "barbecue", "hairy", "hairline",
    "bearded", "varnish", "massacre", "mascara", "passenger", "taxes", "tactics", "gardener", "money", "monkey",
    "sundae", "fried", "weekly", "evenly", "morgan",
]  # fmt: skip
ORDINARY_GERMAN = [
    "Messe", "Massen", "Passage", "Garten", "Tierart", "Optik", "Physik", "Mechanik", "Werkzeug", "Werkstoff",
    "Frauen", "Kinder", "Augen", "Zahnpasta", "Zahnbürste", "Haarspray", "Brillant", "Reifer", "Steuer",
    "Kosmos", "Friedhof", "Barbara", "Hautcreme", "Nagellack", "Masse", "Meister", "Doktorarbeit", "Tiere",
    "Hauswart", "Hausarbeit", "Hausart", "Apotheke", "Zahnrad", "Werkstück", "Monat", "Monate", "Montage",
    "Dienst", "Abendessen", "Mittagessen", "Halbe", "Alter", "Mitten",
]  # fmt: skip


@pytest.mark.parametrize("word", ORDINARY_ENGLISH + ORDINARY_GERMAN)
def test_an_ordinary_word_never_becomes_a_service_or_a_time(word: str) -> None:
    folded = FoldedText.of(word)
    assert find_service(respell(folded).folded) is None
    assert respell(folded).folded == folded.folded
    assert parse_request(f"I need {word}", NOW, BERLIN).service is None


@pytest.mark.parametrize(
    ("typed", "service"),
    [
        ("dentst", "dentist"), ("Zahnartz", "dentist"), ("zahnartzt", "dentist"), ("hairdreser", "hairdresser"),
        ("docter", "doctor"), ("barbr", "barber"), ("optican", "optician"), ("tierartz", "veterinarian"),
        ("werkstat", "mechanic"), ("Hautartz", "dermatologist"), ("physiotherapeutn", "physiotherapist"),
        ("Zahnartztermin", "dentist"), ("steuerbertaer", "tax advisor"),
    ],
)  # fmt: skip
def test_a_misspelt_service_is_still_read(typed: str, service: str) -> None:
    assert parse_request(f"{typed} tomorrow", NOW, BERLIN).service == service


def test_two_equally_close_words_are_not_guessed_between() -> None:
    assert closest("hauzarzt", ["hausarzt", "hautarzt"]) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("dentist tmrw", [("11-27", "08:00", "18:00")]),
        ("dentist 2moro", [("11-27", "08:00", "18:00")]),
        ("dentist nxt wk", [(d, "08:00", "18:00") for d in ("11-30", "12-01", "12-02", "12-03", "12-04")]),
        ("Friseur Mo nachm.", [("11-30", "12:00", "17:00")]),
        ("Friseur Di vorm.", [("12-01", "08:00", "12:00")]),
        ("Arzt Sa. vormittags", [("11-28", "08:00", "12:00")]),
        ("Arzt Di bis Do", [("12-01", "08:00", "18:00"), ("12-02", "08:00", "18:00"), ("12-03", "08:00", "18:00")]),
        # "so" and "do" are ordinary words too: alone they name no day
        ("so einen Zahnarzt morgen", [("11-27", "08:00", "18:00")]),
    ],
)
def test_shorthand(text: str, expected: list[tuple[str, str, str]]) -> None:
    assert windows(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Zahnarzt morgen um halb 11", [("11-27", "10:30", "11:30")]),
        # "halb 8" is 7:30 in the morning (said 8, not 19:30), so the search starts at the earliest, 08:00
        ("Zahnarzt morgen ab halb 8", [("11-27", "08:00", "20:00")]),
        ("Zahnarzt morgen um Viertel vor 9", [("11-27", "08:45", "09:45")]),
        ("Zahnarzt morgen ab halb 3", [("11-27", "14:30", "20:00")]),
        ("Zahnarzt morgen zwischen Viertel nach 9 und Viertel vor 11", [("11-27", "09:15", "10:45")]),
        ("Zahnarzt morgen um dreiviertel 10", [("11-27", "09:45", "10:45")]),
        ("dentist tomorrow at quarter to 10", [("11-27", "09:45", "10:45")]),
        ("dentist tomorrow 9.30-11", [("11-27", "09:30", "11:00")]),
    ],
)
def test_german_clock_words(text: str, expected: list[tuple[str, str, str]]) -> None:
    assert windows(text) == expected


def test_after_and_ab_mean_the_same_and_run_to_the_end_of_the_evening() -> None:
    assert (
        windows("dentist tomorrow after 5pm") == windows("Zahnarzt morgen ab 17 Uhr") == [("11-27", "17:00", "20:00")]
    )
    assert (
        windows("dentist tomorrow after 3") == windows("Zahnarzt morgen nach 15 Uhr") == [("11-27", "15:00", "20:00")]
    )
    # with a part named, the part's end holds
    assert windows("Zahnarzt morgen nachmittags ab 15 Uhr") == [("11-27", "15:00", "17:00")]
    assert (
        windows("dentist tomorrow before 10") == windows("Zahnarzt morgen bis 10 Uhr") == [("11-27", "08:00", "10:00")]
    )


@pytest.mark.parametrize(
    "text",
    ["dentist next week but not monday", "dentist next week except monday", "Zahnarzt nächste Woche außer Montag",
     "Zahnarzt nächste Woche, aber Montag nicht", "Zahnarzt nächste Woche ohne Montag"],
)  # fmt: skip
def test_an_excluded_day_is_left_out_never_kept_alone(text: str) -> None:
    assert windows(text) == [(d, "08:00", "18:00") for d in ("12-01", "12-02", "12-03", "12-04")]


def test_not_before_is_a_time_not_an_exclusion() -> None:
    assert windows("dentist tomorrow not before 11") == [("11-27", "11:00", "20:00")]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("dentist tomorrow or the day after", ["11-27", "11-28"]),
        ("Zahnarzt morgen oder übermorgen", ["11-27", "11-28"]),
        ("Zahnarzt nächste Woche Dienstag oder Donnerstag vormittags", ["12-01", "12-03"]),
        ("dentist monday to wednesday", ["11-30", "12-01", "12-02"]),
        ("Zahnarzt Mo-Mi", ["11-30", "12-01", "12-02"]),
        ("dentist next week monday to wednesday", ["11-30", "12-01", "12-02"]),
    ],
)
def test_alternatives_and_weekday_ranges(text: str, expected: list[str]) -> None:
    assert [d for d, _, _ in windows(text)] == expected


@pytest.mark.parametrize(
    ("text", "days"),
    [
        ("dentist in two weeks", ["12-07", "12-08", "12-09", "12-10", "12-11"]),
        ("Zahnarzt in zwei Wochen", ["12-07", "12-08", "12-09", "12-10", "12-11"]),
        ("dentist early next week", ["11-30", "12-01"]),
        ("Zahnarzt Anfang nächster Woche", ["11-30", "12-01"]),
        ("Zahnarzt Mitte nächster Woche", ["12-01", "12-02", "12-03"]),
        ("dentist end of the week", ["11-26", "11-27"]),
        ("Zahnarzt Ende nächster Woche", ["12-03", "12-04"]),
        ("dentist early next month", ["12-01", "12-02", "12-03", "12-04", "12-07"]),
        ("dentist end of the month", ["11-26", "11-27", "11-30"]),
    ],
)
def test_relative_weeks_and_months(text: str, days: list[str]) -> None:
    assert [d for d, _, _ in windows(text)] == days


def test_next_month_is_every_weekday_of_the_next_calendar_month() -> None:
    days = [d for d, _, _ in windows("dentist next month")]
    assert days[0] == "12-01" and days[-1] == "12-31" and len(days) == 23


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Zahnarzt Montag früh", [("11-30", "08:00", "12:00")]),
        ("Zahnarzt Montag morgen", [("11-30", "08:00", "12:00")]),
        ("Zahnarzt Montagmorgen", [("11-30", "08:00", "12:00")]),
        ("Zahnarzt morgen früh", [("11-27", "08:00", "12:00")]),
        ("Zahnarzt morgen", [("11-27", "08:00", "18:00")]),
        ("Zahnarzt Mittwoch mittags", [("12-02", "12:00", "14:00")]),
        ("Zahnarzt Mittwoch in der Früh", [("12-02", "08:00", "12:00")]),
    ],
)
def test_german_day_parts(text: str, expected: list[tuple[str, str, str]]) -> None:
    assert windows(text) == expected


@pytest.mark.parametrize(
    ("text", "location"),
    [
        ("dentist tomorrow, Alexanderplatz", "Alexanderplatz"),
        ("Friseur morgen Prenzlauer Berg", "Prenzlauer Berg"),
        ("Zahnarzt Berlin Mitte morgen", "Berlin Mitte"),
        ("Friseur am Hackeschen Markt", "Hackescher Markt"),
        # names that are ordinary words name a place only after a preposition
        ("haircut for my wedding tomorrow", None),
        ("haircut in Wedding tomorrow", "Wedding"),
        ("dentist tomorrow with alex", None),
    ],
)
def test_places_without_a_preposition(text: str, location: str | None) -> None:
    assert parse_request(text, NOW, BERLIN).location == location


def test_a_date_and_its_own_weekday_need_no_question() -> None:
    request = parse_request("Zahnarzt Dienstag, den 8. Dezember", NOW, BERLIN)
    assert request.doubts == []
    assert windows("Zahnarzt Dienstag, den 8. Dezember") == [("12-08", "08:00", "18:00")]


def test_a_date_that_contradicts_its_weekday_is_asked_about_not_guessed() -> None:
    request = parse_request("dentist monday dec 8 afternoon", NOW, BERLIN)
    [doubt] = request.doubts
    assert doubt.question == "8 December is a Tuesday, not a Monday. Which day do you mean?"
    assert [o.label for o in doubt.options] == ["Tue 8 Dec", "Mon 7 Dec"]
    assert [local_windows(o.windows, BERLIN) for o in doubt.options] == [
        (("2026-12-08", "12:00", "17:00"),),
        (("2026-12-07", "12:00", "17:00"),),
    ]
    assert request.windows == doubt.options[0].windows


def test_a_part_of_the_day_that_cannot_be_read_is_asked_about_in_german() -> None:
    request = parse_request("Zahnarzt morgen nchmtgs", NOW, BERLIN)
    [doubt] = request.doubts
    assert doubt.question == "„nchmtgs“ habe ich nicht verstanden. Welche Tageszeit meinst du?"
    assert [o.label for o in doubt.options] == ["Egal wann", "Vormittags", "Nachmittags", "Abends"]
    assert all(len(o.label) <= 12 for o in doubt.options)
    assert request.windows == doubt.options[0].windows


@pytest.mark.parametrize("text", ["dentist tomorrow for an event", "dentist tomorrow, even early is fine", "dentist"])
def test_ordinary_words_next_to_a_time_raise_no_question(text: str) -> None:
    assert parse_request(text, NOW, BERLIN).doubts == []


_TOKENS = [
    "dentist", "Zahnarzt", "dentst", "tomorrow", "tmrw", "morgen", "übermorgen", "heute", "next", "nächste",
    "nächsten", "week", "Woche", "Wochen", "month", "Monat", "Monats", "in", "two", "zwei", "3", "weeks", "days",
    "Tagen", "Monday", "Mo", "Di", "Do", "Sa", "So", "Mittwoch", "fri", "thurs", "-", "to", "bis", "or", "oder",
    "and", "und", ",", ".", "except", "außer", "but", "not", "nicht", "ohne", "aber", "halb", "Viertel", "vor",
    "nach", "dreiviertel", "quarter", "past", "half", "at", "um", "ab", "after", "before", "between", "zwischen",
    "0", "1", "7", "8", "12", "13", "24", "25", "9.30", "10:15", "3pm", "Uhr", "morning", "mrng", "früh",
    "vormittags", "nachm.", "Mittag", "evening", "abends", "8.12.", "31.2.", "Dec", "December", "Dezember",
    "8th", "the", "den", "early", "Anfang", "mid", "Mitte", "end", "Ende", "of", "the day after", "this",
    "diese", "Alexanderplatz", "Prenzlauer Berg", "Berlin", "Mitte", "am", "near", "ish", "rum", "lunch",
]  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(words=st.lists(st.sampled_from(_TOKENS), min_size=1, max_size=12), hours=st.integers(0, 24 * 14))
def test_any_jumble_of_time_words_reads_without_error_and_keeps_its_promises(words: list[str], hours: int) -> None:
    now = NOW + timedelta(hours=hours)
    request = parse_request(" ".join(words), now, BERLIN)
    for window in request.windows:
        local = window.start.astimezone(ZoneInfo(BERLIN))
        assert window.start >= now - timedelta(hours=1) and window.end > window.start
        assert time(8) <= local.time() and window.end.astimezone(ZoneInfo(BERLIN)).time() <= time(20)
    assert request.windows == sorted(request.windows, key=lambda w: w.start)
    for doubt in request.doubts:
        assert 2 <= len(doubt.options) <= 4 and doubt.question
        assert len({o.label for o in doubt.options}) == len(doubt.options)
    if request.doubts:
        assert request.windows == request.doubts[0].options[0].windows
