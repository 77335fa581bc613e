"""How simulated people say appointment times, and how the reference agent understands them again.

English receptionists say ``Tuesday 8 December at 14:30``. German ones say the date the German way
(``Dienstag, der 8. Dezember``) and the time either by the clock (``um 14:30 Uhr``, ``um 14 Uhr``) or as people
speak it (``um halb drei``, ``um Viertel nach neun``, ``um Viertel vor elf``, ``um drei``). Spoken hours are
twelve-hour words: 1 to 7 are read as afternoon hours (13:00-19:00), as at any practice's front desk.
The agent only hears the words; it never sees the receptionist's slots.
"""

from __future__ import annotations

import random
import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from domain.models import TimeWindow
from domain.wording import slot_in_words

_MONTHS_DE = [
    "Januar", "Februar", "März", "April", "Mai", "Juni",
    "Juli", "August", "September", "Oktober", "November", "Dezember",
]  # fmt: skip
_MONTHS_EN = [
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
]  # fmt: skip
_WEEKDAYS_DE = ["Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag"]
_WEEKDAYS_EN = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
_HOUR_WORDS = ["zwölf", "eins", "zwei", "drei", "vier", "fünf", "sechs", "sieben", "acht", "neun", "zehn", "elf"]
_HOUR_OF_WORD = {word: number for number, word in enumerate(_HOUR_WORDS)} | {"ein": 1}

# German words that only a German speaker says on the phone (for telling which language a desk speaks).
_GERMAN_MARKERS = re.compile(
    r"\b(guten|sie|ihnen|ich|was|kann|willkommen|drücken|praxis|spricht|hier|leider|nichts|frei|termine?)\b",
    re.IGNORECASE,
)


def is_german(text: str) -> bool:
    """Whether ``text`` is German (at least two German marker words)."""
    return len(_GERMAN_MARKERS.findall(text)) >= 2


# --- saying --------------------------------------------------------------------------------------------


def german_date(moment: datetime, timezone: str, article: str = "der") -> str:
    """``Dienstag, der 8. Dezember`` (``article="dem"`` after ``am``/``ab``)."""
    local = moment.astimezone(ZoneInfo(timezone))
    return f"{_WEEKDAYS_DE[local.weekday()]}, {article} {local.day}. {_MONTHS_DE[local.month - 1]}"


def german_clock(moment: datetime, timezone: str) -> str:
    """``14:30 Uhr`` / ``14 Uhr``."""
    local = moment.astimezone(ZoneInfo(timezone))
    return f"{local.hour} Uhr" if local.minute == 0 else f"{local.hour}:{local.minute:02d} Uhr"


def german_spoken_time(moment: datetime, timezone: str) -> str | None:
    """``halb drei``, ``Viertel nach neun``, ``Viertel vor elf``, ``drei``; ``None`` for other minutes or hours
    that twelve-hour words cannot say unambiguously (before 08:00, from 20:00)."""
    local = moment.astimezone(ZoneInfo(timezone))
    if not 8 <= local.hour < 20 or (local.hour == 19 and local.minute > 15):
        return None
    this_hour, next_hour = _HOUR_WORDS[local.hour % 12], _HOUR_WORDS[(local.hour + 1) % 12]
    return {0: this_hour, 15: f"Viertel nach {this_hour}", 30: f"halb {next_hour}", 45: f"Viertel vor {next_hour}"}.get(
        local.minute
    )


def say_slot(slot: TimeWindow, timezone: str, language: str, rng: random.Random) -> str:
    """A slot as a receptionist says it; German desks mix the clock and the spoken form."""
    if language != "de":
        return slot_in_words(slot, timezone)
    spoken = german_spoken_time(slot.start, timezone)
    clock = spoken if spoken is not None and rng.random() < 0.5 else german_clock(slot.start, timezone)
    return f"{german_date(slot.start, timezone)}, um {clock}"


# --- understanding -------------------------------------------------------------------------------------

_DE_TIME = r"\d{1,2}(?::\d{2})? Uhr|halb \w+|Viertel (?:nach|vor) \w+|\w+"
_DE_SLOT = re.compile(
    rf"(?P<weekday>{'|'.join(_WEEKDAYS_DE)}),? (?:der |den |dem )?(?P<day>\d{{1,2}})\. "
    rf"(?P<month>{'|'.join(_MONTHS_DE)}),? um (?P<time>{_DE_TIME})",
    re.IGNORECASE,
)
_EN_SLOT = re.compile(
    rf"(?P<weekday>{'|'.join(_WEEKDAYS_EN)}),? (?P<day>\d{{1,2}}) (?P<month>{'|'.join(_MONTHS_EN)}),? "
    r"at (?P<time>\d{1,2}:\d{2})",
    re.IGNORECASE,
)


def german_time_of_day(words: str) -> time | None:
    """``14:30 Uhr``, ``14 Uhr``, ``halb drei`` (14:30), ``Viertel nach neun``, ``Viertel vor elf``, ``drei``."""
    text = words.strip().lower()
    clock = re.fullmatch(r"(\d{1,2})(?::(\d{2}))? uhr", text)
    if clock:
        hour, minute = int(clock.group(1)), int(clock.group(2) or 0)
        return time(hour, minute) if hour < 24 and minute < 60 else None
    for prefix, minutes in (("halb ", -30), ("viertel nach ", 15), ("viertel vor ", -15)):
        if text.startswith(prefix):
            named = _HOUR_OF_WORD.get(text.removeprefix(prefix))
            if named is None:
                return None
            moment = datetime.combine(date(2000, 1, 1), time(_afternoon(named))) + timedelta(minutes=minutes)
            return moment.time()
    named = _HOUR_OF_WORD.get(text)
    return None if named is None else time(_afternoon(named))


def _afternoon(hour: int) -> int:
    """A twelve-hour word's hour at a front desk: 1-7 are afternoon hours, twelve is noon."""
    return hour + 12 if 1 <= hour <= 7 else (12 if hour == 0 else hour)


def understand_slots(text: str, now: datetime, timezone: str, minutes: int) -> list[TimeWindow]:
    """Every appointment time said in ``text`` (English or German), each ``minutes`` long, in the order said.
    A date without a year is the next such date from ``now`` on."""
    zone = ZoneInfo(timezone)
    today = now.astimezone(zone).date()
    found: list[tuple[int, TimeWindow]] = []
    for pattern, months, read_time in (
        (_DE_SLOT, _MONTHS_DE, german_time_of_day),
        (_EN_SLOT, _MONTHS_EN, _english_time),
    ):
        for match in pattern.finditer(text):
            at = read_time(match.group("time"))
            month = next(i for i, m in enumerate(months, 1) if m.lower() == match.group("month").lower())
            day = _next_date(today, month, int(match.group("day")))
            if at is None or day is None:
                continue
            start = datetime.combine(day, at, tzinfo=zone)
            found.append((match.start(), TimeWindow(start, start + timedelta(minutes=minutes))))
    return [slot for _, slot in sorted(found, key=lambda item: item[0])]


def _english_time(words: str) -> time | None:
    hour, minute = (int(part) for part in words.split(":"))
    return time(hour, minute) if hour < 24 and minute < 60 else None


def _next_date(today: date, month: int, day: int) -> date | None:
    for year in (today.year, today.year + 1):
        try:
            candidate = date(year, month, day)
        except ValueError:
            continue
        if candidate >= today:
            return candidate
    return None
