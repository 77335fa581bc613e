"""The time conventions of the offline parser, pinned against Thursday 2026-11-26 09:00 in Berlin."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.intent import MISSING_WINDOWS
from integrations.intent.offline import parse_request
from integrations.intent.vocabulary import SERVICE_SYNONYMS
from integrations.intent.windows import finalize, next_full_hour

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 26, 9, 0, tzinfo=BERLIN)  # a Thursday

WEEKDAYS_AHEAD = [("11-26", "09:00", "18:00"), ("11-27", "08:00", "18:00"), ("11-30", "08:00", "18:00"),
                  ("12-01", "08:00", "18:00"), ("12-02", "08:00", "18:00")]  # fmt: skip


def windows_of(text: str, now: datetime = NOW, timezone: str = "Europe/Berlin") -> list[tuple[str, str, str]]:
    request = parse_request(text, now, timezone)
    return [(w.start.strftime("%m-%d"), w.start.strftime("%H:%M"), w.end.strftime("%H:%M")) for w in request.windows]


CASES: list[tuple[str, list[tuple[str, str, str]]]] = [
    # days and parts, English
    ("dentist next Tuesday afternoon near Alexanderplatz", [("12-01", "12:00", "17:00")]),
    ("dentist tomorrow", [("11-27", "08:00", "18:00")]),
    ("dentist tomorrow morning", [("11-27", "08:00", "12:00")]),
    ("dentist tomorrow evening", [("11-27", "17:00", "20:00")]),
    ("dentist the day after tomorrow", [("11-28", "08:00", "18:00")]),
    ("dentist today", [("11-26", "09:00", "18:00")]),
    ("dentist this afternoon", [("11-26", "12:00", "17:00")]),
    ("dermatologist tonight", [("11-26", "17:00", "20:00")]),
    ("dentist tomorrow at lunchtime", [("11-27", "12:00", "14:00")]),
    ("dentist at noon tomorrow", [("11-27", "12:00", "13:00")]),
    ("next Thursday", [("12-03", "08:00", "18:00")]),
    ("this Thursday", [("11-26", "09:00", "18:00")]),
    ("Thursday", [("11-26", "09:00", "18:00")]),
    ("this Saturday", [("11-28", "08:00", "18:00")]),
    ("on Tuesday", [("12-01", "08:00", "18:00")]),
    ("Tuesday next week", [("12-01", "08:00", "18:00")]),
    ("Monday or Wednesday morning", [("11-30", "08:00", "12:00"), ("12-02", "08:00", "12:00")]),
    ("Monday morning or Wednesday afternoon", [("11-30", "08:00", "12:00"), ("12-02", "12:00", "17:00")]),
    ("Monday to Wednesday", [("11-30", "08:00", "18:00"), ("12-01", "08:00", "18:00"), ("12-02", "08:00", "18:00")]),
    ("in 3 days", [("11-29", "08:00", "18:00")]),
    # explicit dates
    ("Dec 3", [("12-03", "08:00", "18:00")]),
    ("December 3rd", [("12-03", "08:00", "18:00")]),
    ("the 3rd of December in the afternoon", [("12-03", "12:00", "17:00")]),
    ("3.12.", [("12-03", "08:00", "18:00")]),
    ("3.12.2026", [("12-03", "08:00", "18:00")]),
    ("2026-12-03", [("12-03", "08:00", "18:00")]),
    ("Nov 20", [("11-20", "08:00", "18:00")]),  # no year: the next Nov 20, in 2027
    ("on the 5th", [("12-05", "08:00", "18:00")]),
    # clock times
    ("tomorrow after 3pm", [("11-27", "15:00", "20:00")]),
    ("tomorrow afternoon after 3", [("11-27", "15:00", "17:00")]),
    ("tomorrow after 6pm", [("11-27", "18:00", "20:00")]),
    ("tomorrow before 10", [("11-27", "08:00", "10:00")]),
    ("tomorrow between 2 and 4", [("11-27", "14:00", "16:00")]),
    ("tomorrow between 10 and 2pm", [("11-27", "10:00", "14:00")]),
    ("tomorrow between 7 and 9", [("11-27", "08:00", "09:00")]),
    ("Tuesday 10-12", [("12-01", "10:00", "12:00")]),
    ("tomorrow at 3pm", [("11-27", "15:00", "16:00")]),  # 30-minute appointment plus 30 minutes of slack
    ("tomorrow around 3", [("11-27", "14:00", "16:00")]),
    ("tomorrow 07:30-09:00", [("11-27", "08:00", "09:00")]),
    ("Dec 3 at 10:30 am", [("12-03", "10:30", "11:30")]),
    # weeks and weekends
    (
        "next week",
        [
            ("11-30", "08:00", "18:00"),
            ("12-01", "08:00", "18:00"),
            ("12-02", "08:00", "18:00"),
            ("12-03", "08:00", "18:00"),
            ("12-04", "08:00", "18:00"),
        ],
    ),
    (
        "next week afternoons",
        [
            ("11-30", "12:00", "17:00"),
            ("12-01", "12:00", "17:00"),
            ("12-02", "12:00", "17:00"),
            ("12-03", "12:00", "17:00"),
            ("12-04", "12:00", "17:00"),
        ],
    ),
    ("this week", [("11-26", "09:00", "18:00"), ("11-27", "08:00", "18:00")]),
    ("this weekend", [("11-28", "09:00", "17:00"), ("11-29", "09:00", "17:00")]),
    ("next weekend", [("12-05", "09:00", "17:00"), ("12-06", "09:00", "17:00")]),
    # German
    ("morgen", [("11-27", "08:00", "18:00")]),
    ("übermorgen nachmittags", [("11-28", "12:00", "17:00")]),
    ("uebermorgen", [("11-28", "08:00", "18:00")]),
    ("heute Abend", [("11-26", "17:00", "20:00")]),
    ("morgen früh", [("11-27", "08:00", "12:00")]),
    ("morgen am Vormittag", [("11-27", "08:00", "12:00")]),
    ("nächsten Dienstag", [("12-01", "08:00", "18:00")]),
    ("am Dienstag nach 15 Uhr", [("12-01", "15:00", "20:00")]),
    ("am Dienstag vor 10", [("12-01", "08:00", "10:00")]),
    ("Dienstag zwischen 14 und 16 Uhr", [("12-01", "14:00", "16:00")]),
    ("Freitag um 15 Uhr", [("11-27", "15:00", "16:00")]),
    ("Freitag ab 9.30 Uhr", [("11-27", "09:30", "20:00")]),
    ("Montag oder Mittwoch", [("11-30", "08:00", "18:00"), ("12-02", "08:00", "18:00")]),
    ("Dienstagnachmittag", [("12-01", "12:00", "17:00")]),
    ("nächste Woche Dienstag", [("12-01", "08:00", "18:00")]),
    ("am 3. Dezember", [("12-03", "08:00", "18:00")]),
    ("am 3. März", [("03-03", "08:00", "18:00")]),
    ("in 2 Tagen", [("11-28", "08:00", "18:00")]),
    ("dieses Wochenende", [("11-28", "09:00", "17:00"), ("11-29", "09:00", "17:00")]),
    ("am Wochenende", [("11-28", "09:00", "17:00"), ("11-29", "09:00", "17:00")]),
    (
        "nächste Woche",
        [
            ("11-30", "08:00", "18:00"),
            ("12-01", "08:00", "18:00"),
            ("12-02", "08:00", "18:00"),
            ("12-03", "08:00", "18:00"),
            ("12-04", "08:00", "18:00"),
        ],
    ),
    # no day at all
    ("dentist", WEEKDAYS_AHEAD),
    ("Zahnarzt am Alexanderplatz", WEEKDAYS_AHEAD),
    ("dentist in the afternoon", [(d, "12:00", "17:00") for d, _, _ in WEEKDAYS_AHEAD]),
    ("Friseur nach 15 Uhr", [(d, "15:00", "20:00") for d, _, _ in WEEKDAYS_AHEAD]),
]


@pytest.mark.parametrize(("text", "expected"), CASES, ids=[text for text, _ in CASES])
def test_reads_time_phrases(text: str, expected: list[tuple[str, str, str]]) -> None:
    assert windows_of(text) == expected


def test_days_are_counted_in_the_users_timezone() -> None:
    just_after_midnight_in_berlin = datetime(2026, 11, 27, 0, 30, tzinfo=BERLIN)
    new_york = ZoneInfo("America/New_York")
    request = parse_request("dentist tomorrow", just_after_midnight_in_berlin, "America/New_York")
    # It is still Thursday evening in New York, so "tomorrow" is Friday there.
    assert [(w.start, w.end) for w in request.windows] == [
        (datetime(2026, 11, 27, 8, tzinfo=new_york), datetime(2026, 11, 27, 18, tzinfo=new_york))
    ]
    assert request.windows[0].start.utcoffset() == timedelta(hours=-5)


def test_a_started_window_begins_at_the_next_full_hour() -> None:
    assert windows_of("dentist today", now=NOW.replace(hour=10, minute=20)) == [("11-26", "11:00", "18:00")]


def test_a_weekday_named_today_moves_on_a_week_once_its_window_is_over() -> None:
    after_lunch = NOW.replace(hour=13)
    assert windows_of("Thursday morning", now=after_lunch) == [("12-03", "08:00", "12:00")]
    assert windows_of("Thursday afternoon", now=after_lunch) == [("11-26", "13:00", "17:00")]


def test_default_days_start_tomorrow_when_today_is_over() -> None:
    evening = NOW.replace(hour=19)
    assert windows_of("dentist", now=evening) == [(d, "08:00", "18:00") for d, _, _ in WEEKDAYS_AHEAD[1:]]


@pytest.mark.parametrize(
    "text",
    [
        "dentist on Blursday",
        "Zahnarzt nächsten Blurstag",
        "dentist at 25:00 tomorrow",
        "Zahnarzt am 31.02.",
        "dentist 2026-13-01",
        "dentist Feb 30",
        "dentist sometime in December",
        "dentist today morning at 07:00",
        "dentist 2026-01-05",  # entirely in the past
        "dentist this morning",
    ],
)
def test_times_that_cannot_be_used_are_asked_for_again(text: str) -> None:
    request = parse_request(text, NOW.replace(hour=13), "Europe/Berlin")
    assert request.windows == []
    assert MISSING_WINDOWS in request.missing


def test_finalize_joins_touching_windows_and_keeps_the_future() -> None:
    request = parse_request("Monday morning or afternoon", NOW, "Europe/Berlin")
    assert [(w.start.hour, w.end.hour) for w in request.windows] == [(8, 17)]
    assert finalize(request.windows, request.windows[0].end) == []
    assert next_full_hour(NOW.replace(minute=1)) == NOW.replace(hour=10)
    assert next_full_hour(NOW) == NOW


DAYS = ["today", "tomorrow", "Monday", "next Friday", "this Thursday", "on Wednesday", "Dec 3", "3.12.",
        "next week", "this weekend", "morgen", "übermorgen", "nächsten Dienstag", "am Samstag", "Sunday",
        "in 3 days", "Monday or Wednesday", "Dienstag oder Freitag", ""]  # fmt: skip
PARTS = ["", "morning", "afternoon", "evening", "vormittags", "nachmittags", "abends", "after 3pm",
         "before 10", "between 2 and 4", "at 11", "um 19:30 Uhr", "around 5"]  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(
    service=st.sampled_from(sorted({word for words in SERVICE_SYNONYMS.values() for word in words})),
    day=st.sampled_from(DAYS),
    part=st.sampled_from(PARTS),
    minutes_past=st.integers(min_value=0, max_value=7 * 24 * 60),
)
def test_windows_are_aware_sorted_disjoint_and_within_business_hours(
    service: str, day: str, part: str, minutes_past: int
) -> None:
    now = NOW + timedelta(minutes=minutes_past)
    request = parse_request(f"{service} {day} {part}".strip(), now, "Europe/Berlin")
    for window in request.windows:
        assert window.start.tzinfo is not None
        assert window.end > window.start >= now
        local_start, local_end = window.start.astimezone(BERLIN), window.end.astimezone(BERLIN)
        assert local_start.date() == local_end.date()
        assert (local_start.hour, local_start.minute) >= (8, 0)
        assert (local_end.hour, local_end.minute) <= (20, 0)
    for earlier, later in zip(request.windows, request.windows[1:], strict=False):
        assert earlier.end < later.start


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # 8.12. is a Tuesday: excluding Tuesdays leaves the Wednesday named, with nothing left to ask
        ("Zahnarzt Mittwoch 8.12. außer Di", [("12-09", "08:00", "18:00")]),
        ("dentist Wednesday 8 December except Tuesdays", [("12-09", "08:00", "18:00")]),
        # both readings excluded: no time understood (the chat asks for one), never a crash
        ("Zahnarzt Mittwoch 8.12. außer Di und Mi", []),
    ],
)
def test_a_date_that_contradicts_its_weekday_is_settled_by_an_exclusion(
    text: str, expected: list[tuple[str, str, str]]
) -> None:
    assert windows_of(text) == expected
    assert parse_request(text, NOW, "Europe/Berlin").doubts == []
