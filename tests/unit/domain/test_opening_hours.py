"""Opening hours: reading the data-file form, and when a provider is open or opens next."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from domain.errors import InvalidRequest
from domain.opening_hours import OpeningPeriod, opening_hours_from_spec

BERLIN = ZoneInfo("Europe/Berlin")
TZ = "Europe/Berlin"
PRACTICE = opening_hours_from_spec(
    {
        "mon": ["08:00-12:00", "14:00-18:00"],
        "Di": ["08:00-12:00", "14:00-18:00"],
        "wed": ["08:00-12:00"],  # closed on Wednesday afternoons
        "Donnerstag": ["08:00-12:00", "14:00-20:00"],
        "fri": ["08:00-13:00"],
    }
)


def berlin(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment in the week of Monday 30 November 2026 (``day`` 30 is Monday, 1-6 are December)."""
    month = 11 if day == 30 else 12
    return datetime(2026, month, day, hour, minute, tzinfo=BERLIN)


def test_the_spec_reads_english_and_german_day_names_and_leaves_unnamed_days_closed() -> None:
    assert PRACTICE.periods[:3] == (
        OpeningPeriod(0, 8 * 60, 12 * 60),
        OpeningPeriod(0, 14 * 60, 18 * 60),
        OpeningPeriod(1, 8 * 60, 12 * 60),
    )
    assert {p.weekday for p in PRACTICE.periods} == {0, 1, 2, 3, 4}
    assert PRACTICE.as_spec()["wed"] == ["08:00-12:00"]
    assert opening_hours_from_spec(PRACTICE.as_spec()) == PRACTICE


@pytest.mark.parametrize(
    ("moment", "opens"),
    [
        (berlin(30, 7, 50), berlin(30, 8)),  # before opening: at 08:00
        (berlin(30, 9), berlin(30, 9)),  # open: now
        (berlin(30, 12), berlin(30, 14)),  # closing time is closed: after lunch
        (berlin(30, 12, 30), berlin(30, 14)),  # lunch break
        (berlin(2, 13), berlin(3, 8)),  # Wednesday afternoon: Thursday morning
        (berlin(3, 19, 59), berlin(3, 19, 59)),  # late on Thursday: still open
        (berlin(4, 13), berlin(7, 8)),  # Friday afternoon: Monday morning
        (berlin(5, 10), berlin(7, 8)),  # Saturday: Monday morning
    ],
)
def test_the_next_opening_is_now_when_open_else_the_next_time_the_door_opens(moment: datetime, opens: datetime) -> None:
    assert PRACTICE.next_opening(moment, TZ) == opens
    assert PRACTICE.is_open(moment, TZ) is (moment == opens)


def test_the_hours_are_read_in_the_timezone_given() -> None:
    seven_utc = datetime(2026, 11, 30, 7, 0, tzinfo=ZoneInfo("UTC"))  # 08:00 in Berlin, 02:00 in New York
    assert PRACTICE.is_open(seven_utc, TZ)
    assert not PRACTICE.is_open(seven_utc, "America/New_York")


def test_a_provider_never_open_has_no_next_opening() -> None:
    assert opening_hours_from_spec({}).next_opening(berlin(30, 9), TZ) is None


def test_open_stretches_are_clipped_to_the_span_asked_for() -> None:
    assert PRACTICE.open_between(berlin(30, 10), berlin(1, 9), TZ) == [
        (berlin(30, 10), berlin(30, 12)),
        (berlin(30, 14), berlin(30, 18)),
        (berlin(1, 8), berlin(1, 9)),
    ]


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ({"someday": ["08:00-12:00"]}, "'someday' is not a weekday"),
        ({"mon": ["8 to 12"]}, "'8 to 12' is not a time range like 08:00-12:00."),
        ({"mon": ["12:00-08:00"]}, "'12:00-08:00' is not a time range that opens before it closes on one day."),
        ({"mon": ["08:00-25:00"]}, "'08:00-25:00' is not a time range that opens before it closes on one day."),
        ({"mon": "08:00-12:00"}, 'The hours of mon must be a list like ["08:00-12:00"].'),
    ],
)
def test_a_bad_spec_says_what_is_wrong(spec: dict[str, list[str]], problem: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        opening_hours_from_spec(spec)
    assert str(caught.value).startswith(problem)
