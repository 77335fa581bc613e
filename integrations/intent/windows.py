"""When a person wants their appointment: turning time phrases into ``TimeWindow``s.

The rules live by concern: ``_days`` (dates, weekdays, weeks, months, exclusions), ``_clock`` (clock times),
``_parts`` (parts of a day), over the shared scanner in ``_scanner``; ``_spelling`` brings shorthand, typos
and German clock words to the words they read. The conventions are listed in the README ("How requests are
understood"); the main ones:

- Parts of a day: morning (``vormittags``, ``morgens``, ``früh``) 08:00–12:00; midday (``lunchtime``,
  ``mittags``) 12:00–14:00; afternoon 12:00–17:00; evening 17:00–20:00. A day named without a part is
  08:00–18:00; a weekend day (``this weekend``) 09:00–17:00.
- ``after 3pm``/``ab 15 Uhr`` run from 15:00 to 20:00 (to the end of the part, when one is named);
  ``before 10``/``bis 10`` from 08:00 (or the part's start) to 10:00; ``at 3pm``/``um 15 Uhr`` start then
  and last the appointment plus 30 minutes; ``around 3`` is 14:00–16:00.
- Several days give several windows; weekdays left out (``except Wednesday``) are dropped from them.
- No day at all: the next 7 days from today, weekdays only.
- Every window lies within 08:00–20:00. Windows entirely in the past are dropped; a window that has
  started begins at the next full hour. The result is sorted and non-overlapping.
- A time phrase that cannot be understood makes the reading ``understood=False``; the parser then asks for
  the time again. A written date whose weekday contradicts the weekday named next to it gives a doubt with
  both readings.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from domain.calendar import merge
from domain.models import TimeWindow, ensure_aware
from integrations.intent import _clock, _days  # noqa: F401  (they register their rules)
from integrations.intent._days import settle_days
from integrations.intent._parts import (
    AFTERNOON,
    EARLIEST,
    EVENING,
    LATEST,
    MIDDAY,
    MORNING,
    PLAIN_DAY,
    WEEKEND_DAY,
    DayPart,
)
from integrations.intent._scanner import WEEKDAYS, Context, DayRef, Qualifier, Span, scan
from integrations.intent._text import FoldedText

__all__ = [
    "AFTERNOON",
    "EARLIEST",
    "EVENING",
    "LATEST",
    "MIDDAY",
    "MORNING",
    "PLAIN_DAY",
    "WEEKEND_DAY",
    "DateDoubt",
    "DayPart",
    "Span",
    "TimeReading",
    "default_windows",
    "finalize",
    "names_unknown_time",
    "next_full_hour",
    "read_times",
]

DEFAULT_DAYS = 7
AT_TIME_SLACK = timedelta(minutes=30)


@dataclass(frozen=True, slots=True)
class DateDoubt:
    """A written date and the weekday named with it disagree: the windows for each of the two days."""

    written: date
    weekday_date: date
    written_windows: list[TimeWindow]
    weekday_windows: list[TimeWindow]


@dataclass(frozen=True, slots=True)
class TimeReading:
    """What the time phrases of a text came to: the windows, where the phrases were, whether all of them
    were understood, and the doubts that remain."""

    windows: list[TimeWindow]
    spans: list[Span]
    understood: bool
    date_doubts: list[DateDoubt] = field(default_factory=list)


_DAY_WORD_ALLOWED = frozenset(
    {
        "day", "days", "today", "birthday", "holiday", "holidays", "weekday", "weekdays", "workday", "workdays",
        "midday", "someday", "everyday", "tag", "tage", "tags", "geburtstag", "feiertag", "feiertage",
        "wochentag", "wochentage", "werktag", "werktage", "alltag", "vortag", "mittag", "nachmittag",
        "vormittag", "nachmittags", "vormittags", "mittags", "montags", "dienstags", "mittwochs", "donnerstags",
        "freitags", "samstags", "sonntags", "mondays", "tuesdays", "wednesdays", "thursdays", "fridays",
        "saturdays", "sundays", "sonnabends", "folgetag",
    }
)  # fmt: skip
_UNKNOWN_DAY_WORD = re.compile(r"\b[a-z]+(?:day|days|tag|tage|tags)\b")
# A month alone ("in December") names no day to search; "may" is left out, it is mostly a verb.
_LONE_MONTH = re.compile(
    r"\b(?:january|januar|february|februar|march|maerz|april|june|juni|july|juli|august|september|october"
    r"|oktober|november|december|dezember)\b"
)


def _gap(a: Span, b: Span) -> int:
    return max(b[0] - a[1], a[0] - b[1], 0)


def _bind(ctx: Context) -> None:
    """Give each part or clock time to the nearest day; days without any borrow from a neighbour."""
    if not ctx.day_refs:
        return
    refs = sorted(ctx.day_refs, key=lambda r: r.span)
    for qualifier in ctx.qualifiers:
        # Ties go to the day named before: "Monday morning or Wednesday" keeps the morning on Monday.
        nearest = min(refs, key=lambda r: (_gap(r.span, qualifier.span), r.span[0] > qualifier.span[0]))
        nearest.qualifiers.append(qualifier)
    own = {id(ref): list(ref.qualifiers) for ref in refs}
    for index, ref in enumerate(refs):
        if own[id(ref)]:
            continue
        following = [r for r in refs[index + 1 :] if own[id(r)]]
        preceding = [r for r in reversed(refs[:index]) if own[id(r)]]
        donors = following or preceding
        if donors:
            ref.qualifiers = own[id(donors[0])]


def _ranges(weekend: bool, qualifiers: Sequence[Qualifier], duration: timedelta) -> list[tuple[time, time]]:
    """The local ``(start, end)`` ranges of one day under its parts and clock times."""
    exact = [q.at for q in qualifiers if q.at is not None]
    if exact:
        return [(at, _clock.shift(at, duration + AT_TIME_SLACK)) for at in exact]
    parts = [q.part for q in qualifiers if q.part is not None]
    afters = [q.after for q in qualifiers if q.after is not None]
    befores = [q.before for q in qualifiers if q.before is not None]
    lower, upper = (max(afters) if afters else None), (min(befores) if befores else None)
    if parts:
        return [
            (p.start if lower is None else max(p.start, lower), p.end if upper is None else min(p.end, upper))
            for p in parts
        ]
    base = WEEKEND_DAY if weekend else PLAIN_DAY
    if lower is not None and upper is not None:
        return [(lower, upper)]
    if upper is not None:
        return [(base.start, upper)]
    if lower is not None:
        # "after 3pm" and "ab 17 Uhr" alike run to the end of the evening, not of the plain day.
        return [(lower, LATEST if lower < LATEST else _clock.shift(lower, timedelta(hours=2)))]
    return [(base.start, base.end)]


def _windows_on(day: date, ranges: Iterable[tuple[time, time]], zone: ZoneInfo) -> list[TimeWindow]:
    windows = []
    for start, end in ranges:
        start, end = max(start, EARLIEST), min(end, LATEST)
        if start < end:
            windows.append(TimeWindow(datetime.combine(day, start, zone), datetime.combine(day, end, zone)))
    return windows


def next_full_hour(now: datetime) -> datetime:
    """``now`` rounded up to a full hour (unchanged when it is one)."""
    floor = now.replace(minute=0, second=0, microsecond=0)
    return floor if floor == now else floor + timedelta(hours=1)


def finalize(windows: Iterable[TimeWindow], now: datetime) -> list[TimeWindow]:
    """Drop what is past, start what has begun at the next full hour, sort and join."""
    ensure_aware(now, "current time")
    resume = next_full_hour(now)
    kept = []
    for window in windows:
        start = window.start if window.start >= now else resume
        if start < window.end:
            kept.append(TimeWindow(start, window.end))
    return merge(kept)


def default_days(today: date) -> list[date]:
    """The days to search when no day was named: the next ``DEFAULT_DAYS`` days from today, weekdays only."""
    return [d for d in (today + timedelta(days=n) for n in range(DEFAULT_DAYS)) if d.weekday() < 5]


def default_windows(now: datetime, zone: ZoneInfo) -> list[TimeWindow]:
    """The windows used when a person names no time at all."""
    today = now.astimezone(zone).date()
    plain = [(PLAIN_DAY.start, PLAIN_DAY.end)]
    return finalize([w for day in default_days(today) for w in _windows_on(day, plain, zone)], now)


def _windows(
    ctx: Context, refs: Sequence[DayRef], now: datetime, zone: ZoneInfo, duration: timedelta
) -> list[TimeWindow]:
    windows: list[TimeWindow] = []
    if not refs:
        ranges = _ranges(False, ctx.qualifiers, duration)
        for day in default_days(ctx.today):
            if day.weekday() not in ctx.excluded_weekdays:
                windows += _windows_on(day, ranges, zone)
    for ref in refs:
        ranges = _ranges(ref.weekend, ref.qualifiers, duration)
        for day in ref.dates:
            on_day = _windows_on(day, ranges, zone)
            if ref.later is not None and not finalize(on_day, now):
                on_day = _windows_on(ref.later, ranges, zone)
            windows += on_day
    return finalize(windows, now)


def read_times(text: FoldedText, now: datetime, zone: ZoneInfo, duration_minutes: int) -> TimeReading:
    """Find the time phrases in ``text`` and turn them into windows relative to ``now`` in ``zone``."""
    ensure_aware(now, "current time")
    ctx = scan(text, now.astimezone(zone).date())
    settle_days(ctx)
    _bind(ctx)
    duration = timedelta(minutes=duration_minutes)
    windows = _windows(ctx, ctx.day_refs, now, zone, duration)
    doubts = []
    for ref in ctx.day_refs:
        if ref.alternative is None:
            continue
        instead = [r if r is not ref else replace(ref, dates=[ref.alternative]) for r in ctx.day_refs]
        doubts.append(DateDoubt(ref.dates[0], ref.alternative, windows, _windows(ctx, instead, now, zone, duration)))
    return TimeReading(windows, sorted(ctx.spans), ctx.understood, doubts)


def names_unknown_time(folded: str, ignore: Sequence[Span]) -> bool:
    """Whether ``folded`` names a time that ``read_times`` could not place: a word that looks like a day but
    is none (``blursday``) or a month without a day (``in December``). Words inside ``ignore`` are skipped."""
    for pattern in (_UNKNOWN_DAY_WORD, _LONE_MONTH):
        for match in pattern.finditer(folded):
            word = match.group(0)
            if any(s <= match.start() < e for s, e in ignore) or word in _DAY_WORD_ALLOWED or word in WEEKDAYS:
                continue
            return True
    return False
