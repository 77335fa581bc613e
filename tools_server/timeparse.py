"""Turning what an agent heard ("Tuesday", "2:30 pm") into an aware datetime in the campaign's timezone."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, tzinfo
from datetime import timezone as fixed_offset
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
# A date with a time of day, as a language model may write it: 2026-12-01T10:00, 2026-12-01 10:00:00+05:00.
_ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{1,2}:\d{2}")
# An offset after a time of day: Z, +05:00, +0500, -03.
_OFFSET = re.compile(r"\s*(?:(?P<z>z|utc|gmt)|(?P<sign>[+-])(?P<hours>\d{2}):?(?P<minutes>\d{2})?)$", re.IGNORECASE)
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
    _check_not_too_far(day, now, timezone)
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
    """The aware start of a slot named by a day and a time, in ``timezone``.

    A time given with an offset (``10:00+05:00``, or a ``date`` such as ``2026-12-01T10:00:00+05:00``) is
    honoured: that moment, told in ``timezone``. A ``date`` that carries a time of day must agree with
    ``time``; when they disagree the request is refused, never half read.
    """
    zone = ZoneInfo(timezone)
    clock, offset = parse_clock_with_offset(time_text)
    stamped = _day_with_time(day_text.strip())
    if stamped is None:
        day = parse_day(day_text, now, timezone)
    else:
        day = stamped.date()
        if (stamped.hour, stamped.minute) != (clock.hour, clock.minute):
            raise InvalidRequest(
                f"The date '{day_text.strip()}' says {stamped:%H:%M} but the time says {clock:%H:%M}. "
                "Send the day and the start time once more."
            )
        if stamped.tzinfo is not None:
            if offset is not None and stamped.utcoffset() != offset.utcoffset(None):
                raise InvalidRequest(
                    f"The date '{day_text.strip()}' and the time '{time_text.strip()}' name different time zones. "
                    "Send the day and the start time once more, in local time."
                )
            offset = stamped.tzinfo
        _check_not_too_far(day, now, timezone)
    return datetime.combine(day, clock, tzinfo=offset or zone).astimezone(zone)


def parse_clock_with_offset(text: str) -> tuple[time, tzinfo | None]:
    """A time of day and the offset said with it, if any (``10:00+05:00``, ``10:00Z``)."""
    cleaned = text.strip()
    match = _OFFSET.search(cleaned) if re.search(r"\d", cleaned) else None
    if match is None or not match.group().strip() or match.start() == 0:
        return parse_clock(cleaned), None
    if match["z"]:
        offset = timedelta(0)
    else:
        hours, minutes = int(match["hours"]), int(match["minutes"] or 0)
        if hours > 14 or minutes > 59:
            raise InvalidRequest(f"'{cleaned}' has an offset that no time zone has.")
        offset = timedelta(hours=hours, minutes=minutes) * (-1 if match["sign"] == "-" else 1)
    return parse_clock(cleaned[: match.start()]), fixed_offset(offset)


def _day_with_time(text: str) -> datetime | None:
    """``text`` read as an ISO date with a time of day (and maybe an offset); ``None`` when it is not one."""
    if not _ISO_DATETIME.match(text):
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise InvalidRequest(f"I could not understand the date '{text}'. Say it like 2026-12-01.") from None


def _check_not_too_far(day: date, now: datetime, timezone: str) -> None:
    if abs((day - now.astimezone(ZoneInfo(timezone)).date()).days) > _MAX_DAYS_AWAY:
        raise InvalidRequest(f"{day.isoformat()} is too far from today. Say the date of the appointment again.")
