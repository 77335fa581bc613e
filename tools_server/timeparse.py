"""Turning what an agent heard ("Tuesday", "2:30 pm") into an aware datetime in the campaign's timezone."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import dateparser

from domain.errors import InvalidRequest
from domain.wording import WEEKDAY_NUMBERS

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# dateparser only reads a bare weekday when it may leave out the day of the month, and then it also
# reads "1.12." as the time 01:12; so weekdays and German day-month dates are read here first.
_WEEKDAYS = WEEKDAY_NUMBERS
_WEEKDAY_PHRASE = re.compile(
    r"^(?:(?P<next>next|nächsten|nächster|naechsten|kommenden)\s+|(?:on|this|am|diesen)\s+)?(?P<day>[a-zä]+)\.?$"
)
_DAY_MONTH = re.compile(r"^(?P<day>\d{1,2})\.\s*(?P<month>\d{1,2})\.?$")
# Further from today than this, a date is a mishearing (and near year 1 or 9999 it cannot even be computed).
_MAX_DAYS_AWAY = 2 * 366
_CLOCK = re.compile(
    r"^(?P<hour>\d{1,2})(?:[:.h](?P<minute>\d{2}))?\s*(?:(?P<ampm>a\.?m\.?|p\.?m\.?)|uhr|h)?$", re.IGNORECASE
)


def parse_day(text: str, now: datetime, timezone: str) -> date:
    """A calendar day from ``2026-12-01``, ``Dec 1``, ``1.12.``, ``Tuesday``, ``tomorrow``.

    A bare weekday (``on``/``am``/``this`` too) is the next such day from today on; ``next Tuesday`` the
    first one after today; a date without a year the next one from today on.
    """
    cleaned = text.strip()
    local_now = now.astimezone(ZoneInfo(timezone))
    day = _read_day(cleaned, local_now)
    if abs((day - local_now.date()).days) > _MAX_DAYS_AWAY:
        raise InvalidRequest(f"{day.isoformat()} is too far from today. Say the date of the appointment again.")
    return day


def _read_day(cleaned: str, local_now: datetime) -> date:
    today = local_now.date()
    if _ISO_DATE.match(cleaned):
        try:
            return date.fromisoformat(cleaned)
        except ValueError:
            raise InvalidRequest(f"{cleaned} is not a real date.") from None
    weekday = _WEEKDAY_PHRASE.match(cleaned.lower())
    if weekday is not None and weekday["day"] in _WEEKDAYS:
        ahead = (_WEEKDAYS[weekday["day"]] - today.weekday()) % 7
        if weekday["next"] and ahead == 0:
            ahead = 7
        return today + timedelta(days=ahead)
    day_month = _DAY_MONTH.match(cleaned)
    if day_month is not None:
        return _upcoming(today, int(day_month["month"]), int(day_month["day"]), cleaned)
    parsed = dateparser.parse(
        cleaned,
        languages=["en", "de"],
        settings={
            "PREFER_DATES_FROM": "future",
            "RELATIVE_BASE": local_now.replace(tzinfo=None),
            "DATE_ORDER": "DMY",
            "REQUIRE_PARTS": ["day"],
        },
    )
    if parsed is None:
        raise InvalidRequest(f"I could not understand the date '{cleaned}'. Say it like 2026-12-01 or Tuesday.")
    day: date = parsed.date()
    return day


def _upcoming(today: date, month: int, day: int, said: str) -> date:
    """The date with this month and day from today on, within a year."""
    for year in (today.year, today.year + 1):
        try:
            candidate = date(year, month, day)
        except ValueError:
            continue
        if candidate >= today:
            return candidate
    raise InvalidRequest(f"{said} is not a real date.")


def parse_clock(text: str) -> time:
    """A time of day from ``14:30``, ``2:30 pm``, ``9 am``, ``14 Uhr``."""
    cleaned = text.strip().lower()
    match = _CLOCK.match(cleaned)
    if match is None:
        raise InvalidRequest(f"I could not understand the time '{text.strip()}'. Say it like 14:30 or 2:30 pm.")
    hour, minute = int(match["hour"]), int(match["minute"] or 0)
    ampm = (match["ampm"] or "").replace(".", "")
    if ampm:
        if not 1 <= hour <= 12:
            raise InvalidRequest(f"'{text.strip()}' is not a time of day.")
        hour = hour % 12 + (12 if ampm == "pm" else 0)
    if hour > 23 or minute > 59:
        raise InvalidRequest(f"'{text.strip()}' is not a time of day.")
    return time(hour, minute)


def parse_slot_start(day_text: str, time_text: str, now: datetime, timezone: str) -> datetime:
    """The aware start of a slot named by a day and a time, in ``timezone``."""
    day = parse_day(day_text, now, timezone)
    clock = parse_clock(time_text)
    return datetime.combine(day, clock, tzinfo=ZoneInfo(timezone))
