"""Turning what an agent heard ("Tuesday", "2:30 pm") into an aware datetime in the campaign's timezone."""

from __future__ import annotations

import re
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import dateparser

from domain.errors import InvalidRequest

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_CLOCK = re.compile(
    r"^(?P<hour>\d{1,2})(?:[:.h](?P<minute>\d{2}))?\s*(?:(?P<ampm>a\.?m\.?|p\.?m\.?)|uhr|h)?$", re.IGNORECASE
)


def parse_day(text: str, now: datetime, timezone: str) -> date:
    """A calendar day from ``2026-12-01``, ``Dec 1``, ``1.12.``, ``Tuesday``, ``tomorrow`` (never in the past)."""
    cleaned = text.strip()
    if _ISO_DATE.match(cleaned):
        try:
            return date.fromisoformat(cleaned)
        except ValueError:
            raise InvalidRequest(f"{cleaned} is not a real date.") from None
    local_now = now.astimezone(ZoneInfo(timezone))
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
