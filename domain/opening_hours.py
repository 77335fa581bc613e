"""When a provider picks up the phone: weekly opening hours, read in the campaign's timezone.

Hours are kept as local wall-clock minutes per weekday (Monday = 0), as Google Places and every practice's
door sign give them; the timezone they are read in is the campaign's (the provider's own city in practice).
A provider without known hours is treated as open: NEXUS only holds back calls it knows would ring out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from domain.errors import InvalidRequest

MINUTES_PER_DAY = 24 * 60
_LOOKAHEAD_DAYS = 8

# Weekday keys as data files and world files write them: English and German, full or abbreviated.
DAY_KEYS: dict[str, int] = {
    "mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6,
    "monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4, "saturday": 5, "sunday": 6,
    "mo": 0, "di": 1, "mi": 2, "do": 3, "fr": 4, "sa": 5, "so": 6,
    "montag": 0, "dienstag": 1, "mittwoch": 2, "donnerstag": 3, "freitag": 4, "samstag": 5, "sonntag": 6,
}  # fmt: skip
_RANGE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


@dataclass(frozen=True, slots=True)
class OpeningPeriod:
    """Open on ``weekday`` from ``opens`` to ``closes`` minutes after local midnight (``closes`` up to 1440)."""

    weekday: int
    opens: int
    closes: int

    def __post_init__(self) -> None:
        if not 0 <= self.weekday <= 6 or not 0 <= self.opens < self.closes <= MINUTES_PER_DAY:
            raise InvalidRequest(f"{self} is not an opening period (weekday 0-6, opens before it closes).")


@dataclass(frozen=True, slots=True)
class OpeningHours:
    """A week of opening periods; a weekday without periods is closed all day."""

    periods: tuple[OpeningPeriod, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "periods", tuple(sorted(self.periods, key=lambda p: (p.weekday, p.opens))))

    def is_open(self, moment: datetime, timezone: str) -> bool:
        return self.next_opening(moment, timezone) == moment

    def next_opening(self, moment: datetime, timezone: str) -> datetime | None:
        """``moment`` itself when open then, else the next time the provider opens (within a week), else
        ``None`` (never open)."""
        zone = ZoneInfo(timezone)
        local = moment.astimezone(zone)
        for offset in range(_LOOKAHEAD_DAYS):
            day = local.date() + timedelta(days=offset)
            for period in self.periods:
                if period.weekday != day.weekday():
                    continue
                opens = _at(day, period.opens, zone)
                closes = _at(day, period.closes, zone)
                if opens <= local < closes:
                    return moment
                if opens > local:
                    return opens
        return None

    def open_between(self, start: datetime, end: datetime, timezone: str) -> list[tuple[datetime, datetime]]:
        """The open stretches that overlap ``[start, end)``, clipped to it, earliest first."""
        zone = ZoneInfo(timezone)
        first = start.astimezone(zone).date()
        days = (end.astimezone(zone).date() - first).days + 1
        stretches = []
        for offset in range(max(days, 0)):
            day = first + timedelta(days=offset)
            for period in self.periods:
                if period.weekday == day.weekday():
                    opens, closes = max(_at(day, period.opens, zone), start), min(_at(day, period.closes, zone), end)
                    if opens < closes:
                        stretches.append((opens, closes))
        return stretches

    def as_spec(self) -> dict[str, list[str]]:
        """The hours in the data-file form: ``{"mon": ["08:00-12:00", ...], ...}`` (closed days left out)."""
        names = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        spec: dict[str, list[str]] = {}
        for period in self.periods:
            spec.setdefault(names[period.weekday], []).append(f"{_clock(period.opens)}-{_clock(period.closes)}")
        return spec


def opening_hours_from_spec(spec: Mapping[str, Iterable[str]]) -> OpeningHours:
    """Read ``{"mon": ["08:00-12:00", "14:00-18:00"], "sat": []}``; unnamed days are closed.

    Raises ``InvalidRequest`` with a sentence for an unknown day or a range that is not ``HH:MM-HH:MM``.
    """
    periods = []
    for key, ranges in spec.items():
        weekday = DAY_KEYS.get(key.strip().lower().rstrip("."))
        if weekday is None:
            raise InvalidRequest(f"{key!r} is not a weekday (use mon, tue, wed, thu, fri, sat, sun).")
        if isinstance(ranges, str):
            raise InvalidRequest(f'The hours of {key} must be a list like ["08:00-12:00"].')
        for text in ranges:
            match = _RANGE.match(text)
            if match is None:
                raise InvalidRequest(f"{text!r} is not a time range like 08:00-12:00.")
            h1, m1, h2, m2 = (int(g) for g in match.groups())
            opens, closes = h1 * 60 + m1, h2 * 60 + m2
            if h1 > 24 or h2 > 24 or m1 > 59 or m2 > 59 or opens >= closes or closes > MINUTES_PER_DAY:
                raise InvalidRequest(f"{text!r} is not a time range that opens before it closes on one day.")
            periods.append(OpeningPeriod(weekday, opens, closes))
    return OpeningHours(tuple(periods))


def _at(day: date, minutes: int, zone: ZoneInfo) -> datetime:
    if minutes >= MINUTES_PER_DAY:
        return datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    return datetime.combine(day, time(minutes // 60, minutes % 60), tzinfo=zone)


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"
