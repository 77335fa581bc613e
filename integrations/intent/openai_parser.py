"""``IntentParser`` backed by an OpenAI model with structured outputs, falling back to another parser.

The model answers in a strict JSON schema (``_Reading``) with local dates and clock times; we attach the
user's timezone ourselves, check every field against our vocabulary and time conventions, and apply the
same rules as the offline parser for what is past and what is missing. Any error, timeout, refusal or
answer that does not hold up sends the request to the fallback parser instead; the warning logged then
never contains the user's words.

A good answer is cross-checked against the fallback (offline) parser: when the two read different windows,
the request carries a ``Doubt`` whose options are the model's reading (first, so the windows stay the
model's) and the offline one, for the person to pick; when they agree, any doubt the offline parser had
(a date that contradicts its weekday) is kept.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field

from domain.intent import ParsedRequest, missing_parts
from domain.models import TimeWindow, ensure_aware
from integrations.intent import windows as conventions
from integrations.intent._doubts import two_readings
from integrations.intent.offline import MAX_DURATION_MINUTES, MIN_DURATION_MINUTES
from integrations.intent.vocabulary import SERVICE_SYNONYMS, canonical_service, default_duration

if TYPE_CHECKING:
    import openai

    from domain.ports import IntentParser

logger = logging.getLogger(__name__)

MAX_WINDOWS = 31
MAX_DAYS_AHEAD = 366


class _Window(BaseModel):
    date: str = Field(description="Local date, YYYY-MM-DD.", pattern=r"^\d{4}-\d{2}-\d{2}$")
    start: str = Field(description="Local start time, HH:MM (24-hour).", pattern=r"^\d{2}:\d{2}$")
    end: str = Field(
        description="Local end time, HH:MM (24-hour), after start on the same day.", pattern=r"^\d{2}:\d{2}$"
    )


class _Reading(BaseModel):
    """What the model is asked to return."""

    service: str | None = Field(description="One canonical service from the list, or null when none fits.")
    windows: list[_Window] = Field(description="When the person can come; empty when they named no time.")
    time_understood: bool = Field(description="False when the person named a time that cannot be placed.")
    location: str | None = Field(description="The place as the person wrote it, or null.")
    duration_minutes: int | None = Field(description="Only when the person said how long; else null.")
    language: Literal["en", "de"]


class _Unusable(Exception):
    """The model's answer does not hold up; the message says why, without the user's words."""


def _hours(part: conventions.DayPart) -> str:
    return f"{part.start:%H:%M}-{part.end:%H:%M}"


def _system_prompt(now: datetime, timezone: str) -> str:
    services = "; ".join(f"{service} ({', '.join(words[1:4])})" for service, words in SERVICE_SYNONYMS.items())
    return f"""You read appointment requests written in English or German and return them as JSON.
It is now {now:%A %Y-%m-%d %H:%M} ({now.isoformat()}) in the person's time zone {timezone}.

service: exactly one canonical name from this list, or null: {services}.
location: the place after near/in/at/around/close to/bei/in der Nähe von/nahe/am/im, as written; null when
none ("near me" is none, "am Dienstag" is a day, not a place).
duration_minutes: only when the person says how long (e.g. "for 45 minutes"), else null.
language: "de" when the request is German, else "en".
time_understood: false only when the person names a time you cannot place (e.g. "on Blursday").

windows: local dates and times, every window between {conventions.EARLIEST:%H:%M} and {conventions.LATEST:%H:%M}.
- morning {_hours(conventions.MORNING)}, midday {_hours(conventions.MIDDAY)}, afternoon \
{_hours(conventions.AFTERNOON)}, evening {_hours(conventions.EVENING)}; a day without a part \
{_hours(conventions.PLAIN_DAY)}; a weekend day {_hours(conventions.WEEKEND_DAY)}.
- "next <weekday>" is the first such weekday after today; "this <weekday>" or a bare weekday is that day of
  the current week if still ahead (today counts), else the next one; weekdays named with a week ("next week
  Tuesday or Thursday", "Tuesday in two weeks") are that week's.
- "next week" is Monday to Friday of next week, one window per day; "in two weeks" the Monday-Friday of the
  week two weeks from now; "early/middle/end of next week" its Monday-Tuesday / Tuesday-Thursday /
  Thursday-Friday; "next month" every weekday of next month, "early next month" those of its first 7 days;
  "this weekend" is the coming Saturday and Sunday.
- Days left out ("except Wednesday", "außer Mittwoch", "but not Monday") are left out; "X or Y" gives both.
- "after 3pm"/"ab 15 Uhr" runs from 15:00 to 20:00 (to the end of a part when one is named); "before 10"
  from 08:00 (or the part's start) to 10:00; "at 3pm" starts at 15:00 and lasts the appointment plus 30
  minutes; "around 3" is 14:00-16:00; "between 2 and 4" is 14:00-16:00; an hour from 1 to 7 without am/pm
  means the afternoon. "halb 11" is 10:30, "Viertel nach 9" 09:15, "Viertel vor 10" 09:45.
- German "früh", "Montag morgen" mean the morning; "morgen" alone is tomorrow; "mittags" is midday.
- Several days ("Monday or Wednesday morning") give one window per day.
- When the person names no time at all, return an empty list."""


def _to_request(reading: _Reading, text: str, now: datetime, zone: ZoneInfo) -> ParsedRequest:
    service = None
    if reading.service is not None:
        service = canonical_service(reading.service)
        if service is None:
            raise _Unusable("the service is not in the vocabulary")
    duration = default_duration(service) if reading.duration_minutes is None else reading.duration_minutes
    if not MIN_DURATION_MINUTES <= duration <= MAX_DURATION_MINUTES:
        raise _Unusable("the duration is out of range")

    if not reading.time_understood:
        windows: list[TimeWindow] = []
    elif reading.windows:
        windows = conventions.finalize(_windows(reading.windows, now, zone), now)
    else:
        windows = conventions.default_windows(now, zone)

    location = (reading.location or "").strip() or None
    missing = missing_parts(service, windows, location)
    return ParsedRequest(
        text=text,
        service=service,
        windows=windows,
        location=location,
        duration_minutes=duration,
        language=reading.language,
        missing=missing,
    )


def _windows(answer: list[_Window], now: datetime, zone: ZoneInfo) -> list[TimeWindow]:
    if len(answer) > MAX_WINDOWS:
        raise _Unusable("too many windows")
    today = now.astimezone(zone).date()
    windows = []
    for window in answer:
        try:
            day = date.fromisoformat(window.date)
            start, end = time.fromisoformat(window.start), time.fromisoformat(window.end)
        except ValueError:
            raise _Unusable("a window is not a valid date or time") from None
        if not today <= day <= today + timedelta(days=MAX_DAYS_AHEAD):
            raise _Unusable("a window is in the past or too far ahead")
        if not conventions.EARLIEST <= start < end <= conventions.LATEST:
            raise _Unusable("a window is outside business hours")
        windows.append(TimeWindow(datetime.combine(day, start, zone), datetime.combine(day, end, zone)))
    return windows


class OpenAIIntentParser:
    """Understands requests with an OpenAI model; falls back to ``fallback`` whenever that does not work."""

    def __init__(self, client: openai.AsyncOpenAI, model: str, fallback: IntentParser, timeout_seconds: float) -> None:
        self._client = client
        self._model = model
        self._fallback = fallback
        self._timeout_seconds = timeout_seconds

    async def parse(self, text: str, now: datetime, timezone: str) -> ParsedRequest:
        ensure_aware(now, "current time")
        try:
            zone = ZoneInfo(timezone)
            local_now = now.astimezone(zone)
            ask = functools.partial(
                self._client.chat.completions.parse,
                model=self._model,
                messages=[
                    {"role": "system", "content": _system_prompt(local_now, timezone)},
                    {"role": "user", "content": text},
                ],
                response_format=_Reading,
                timeout=self._timeout_seconds,
            )
            async with asyncio.timeout(self._timeout_seconds):
                completion = await (ask(temperature=0) if _takes_temperature(self._model) else ask())
            reading = completion.choices[0].message.parsed if completion.choices else None
            if reading is None:
                raise _Unusable("the model gave no answer")
            request = _to_request(reading, text, local_now, zone)
        # Whatever goes wrong with the model (network, HTTP, schema, timeout, our checks), the person still
        # deserves an answer: the fallback gives one.
        except Exception as exc:
            logger.warning("OpenAI intent parsing failed (%s); using the fallback parser instead.", _describe(exc))
            return await self._fallback.parse(text, now, timezone)
        return cross_checked(request, await self._fallback.parse(text, now, timezone), zone)


def cross_checked(request: ParsedRequest, offline: ParsedRequest, zone: ZoneInfo) -> ParsedRequest:
    """``request`` (the model's reading) with a doubt when the offline reading of the same words differs."""
    if offline.windows == request.windows:
        return replace(request, doubts=offline.doubts) if offline.doubts else request
    if not request.windows or not offline.windows:
        return request
    others = [o.windows for d in offline.doubts for o in d.options] or [offline.windows]
    return replace(request, doubts=[two_readings(request.windows, others, zone, request.language)])


# Reasoning models refuse any temperature but their own (HTTP 400), which would send every request to the
# fallback; the others read more steadily at 0.
_REASONING_MODEL = re.compile(r"^(?:o\d|gpt-5)", re.IGNORECASE)


def _takes_temperature(model: str) -> bool:
    """Whether ``model`` accepts ``temperature=0`` (reasoning models do not)."""
    return _REASONING_MODEL.match(model.rsplit("/", 1)[-1]) is None


def _describe(exc: Exception) -> str:
    """Why the model's answer was not used, in words that never include the request itself."""
    if isinstance(exc, _Unusable):
        return str(exc)
    if isinstance(exc, TimeoutError):
        return "no answer in time"
    status = getattr(exc, "status_code", None)
    return type(exc).__name__ if status is None else f"{type(exc).__name__}, HTTP {status}"
