"""When a person wants their appointment: turning time phrases into ``TimeWindow``s.

Conventions (English and German; all times are local to the user's timezone, default Europe/Berlin):

- Parts of a day: morning (``vormittags``, ``morgens``, ``am Morgen``) 08:00–12:00; midday (``noon``,
  ``lunchtime``, ``mittags``) 12:00–14:00; afternoon (``nachmittags``) 12:00–17:00; evening (``abends``,
  ``after work``) 17:00–20:00. A day named without a part is 08:00–18:00; a weekend day is 09:00–17:00.
- ``today``/``heute``, ``tomorrow``/``morgen``, ``the day after tomorrow``/``übermorgen``, ``tonight``
  (today evening), ``this afternoon`` (today), ``morgen früh`` (tomorrow morning), ``in 3 days``/``in 3 Tagen``.
- ``next <weekday>``/``nächsten <Wochentag>``/``kommenden <Wochentag>`` is the first such weekday after today.
  A bare weekday, ``on``/``am``/``this <weekday>`` is that weekday of the current week if it is still
  ahead (today counts while its window is still ahead), else the next one. ``Tuesday next week`` and
  ``nächste Woche Dienstag`` are the Tuesday of next week. ``Monday to Wednesday``/``Montag bis Mittwoch``
  is every day from the one to the other. German compounds such as ``Dienstagnachmittag`` work too.
- Explicit dates: ``Dec 3``, ``December 3rd``, ``3rd of December``, ``3. Dezember``, ``3.12.``,
  ``3.12.2026``, ``2026-12-03``, ``the 5th``/``am 5.``. A date without a year is the next one from today on.
- ``next week``/``nächste Woche`` is Monday–Friday of next week (``the week after next``/``übernächste
  Woche`` the one after), one window per day; ``this week``/``diese Woche`` the weekdays left in this one.
  ``this weekend``/``am Wochenende``/``dieses Wochenende`` is the coming Saturday and Sunday (today counts
  on a weekend); ``next weekend``/``nächstes Wochenende`` the one after.
- Clock times: ``after 3pm``/``nach 15 Uhr``/``ab 15 Uhr`` run from 15:00 to the end of that day's window
  (the part's end, or 18:00 for a plain day; 20:00 when the time is at or past the plain day's end);
  ``before 10``/``vor 10``/``bis 10 Uhr`` run from the window's start (08:00 on a plain day) to 10:00;
  ``between 2 and 4``/``zwischen 14 und 16 Uhr``/``2-4pm`` are 14:00–16:00; ``around 3``/``gegen 15 Uhr``
  is 14:00–16:00; ``at 3pm``/``um 15 Uhr`` starts at 15:00 and lasts the appointment plus 30 minutes.
  An hour from 1 to 7 written without am/pm is read as the afternoon (13–19); a leading zero (``07:30``)
  keeps it in the morning. A clock time inside a part narrows the part.
- Several days (``Monday or Wednesday morning``, ``Montag oder Mittwoch``) give several windows. A part or
  clock time belongs to the day named nearest to it; a day with none of its own borrows them from the
  nearest day after it that has some (else before it), so ``Monday or Wednesday morning`` is two mornings.
- No day at all: the next 7 days from today, weekdays only, each 08:00–18:00 (or the part or clock time
  given, as in ``afternoon`` alone).
- Every window lies within 08:00–20:00. Windows entirely in the past are dropped; a window that has
  started begins at the next full hour (``now`` rounded up). The result is sorted and non-overlapping
  (touching windows are joined).
- A time phrase that cannot be understood — a ``…day``/``…tag`` word that is no day (``Blursday``), a
  month without a day (``in December``), an impossible date (``31.02.``) or clock time (``25 Uhr``) —
  makes the reading ``understood=False``; the parser then asks for the time again instead of guessing.
  When every window named lies in the past the result is empty too, and the time is asked for again.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import dateparser

from domain.calendar import merge
from domain.models import TimeWindow, ensure_aware
from domain.wording import WEEKDAY_NUMBERS
from integrations.intent._text import FoldedText


@dataclass(frozen=True, slots=True)
class DayPart:
    """A named stretch of a day, ``[start, end)`` in local time."""

    name: str
    start: time
    end: time


MORNING = DayPart("morning", time(8), time(12))
MIDDAY = DayPart("midday", time(12), time(14))
AFTERNOON = DayPart("afternoon", time(12), time(17))
EVENING = DayPart("evening", time(17), time(20))
PLAIN_DAY = DayPart("day", time(8), time(18))
WEEKEND_DAY = DayPart("weekend day", time(9), time(17))
EARLIEST = time(8)
LATEST = time(20)
DEFAULT_DAYS = 7
AT_TIME_SLACK = timedelta(minutes=30)

Span = tuple[int, int]


@dataclass(frozen=True, slots=True)
class TimeReading:
    """What the time phrases of a text came to: the windows, where the phrases were, and whether all of
    them were understood."""

    windows: list[TimeWindow]
    spans: list[Span]
    understood: bool


# --- vocabulary --------------------------------------------------------------------------------------

_WEEKDAYS = WEEKDAY_NUMBERS
_WEEKDAY = "(?:" + "|".join(sorted(_WEEKDAYS, key=len, reverse=True)) + ")"
_GERMAN_WEEKDAY = "(?:montag|dienstag|mittwoch|donnerstag|freitag|samstag|sonnabend|sonntag)"
_MONTH = (
    r"(?:january|januar|jaenner|jan|february|februar|feb|march|maerz|mar|april|apr|may|mai|june|juni|jun|"
    r"july|juli|jul|august|aug|september|sept|sep|october|oktober|oct|okt|november|nov|december|dezember|"
    r"dec|dez)\.?"
)
_NUMBER_WORDS: dict[str, int] = {
    "a": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "ten": 10,
    "einem": 1, "einen": 1, "zwei": 2, "drei": 3, "vier": 4, "fuenf": 5, "sechs": 6, "sieben": 7, "zehn": 10,
}  # fmt: skip
_NEXT = r"(?:next|naechste[nrs]?|kommende[nrs]?|coming)"
_THIS = r"(?:this|diese[nrs]?|on|am|den)"
# "am" after a number is "a.m." unless German words show it is the preposition ("vor 10 am Dienstag").
_AM = (
    r"a\.?m\.?(?!\w)(?!\s+(?:" + _GERMAN_WEEKDAY + r"|\d|morgen|vormittag|nachmittag|abend|wochenende|naechst|kommend))"
)
_DAY_WORD_ALLOWED = frozenset(
    {
        "day", "days", "today", "birthday", "holiday", "holidays", "weekday", "weekdays", "workday", "workdays",
        "midday", "someday", "everyday", "tag", "tage", "tags", "geburtstag", "feiertag", "feiertage",
        "wochentag", "wochentage", "werktag", "werktage", "alltag", "vortag", "mittag", "nachmittag",
        "vormittag", "nachmittags", "vormittags", "mittags", "montags", "dienstags", "mittwochs", "donnerstags",
        "freitags", "samstags", "sonntags", "mondays", "tuesdays", "wednesdays", "thursdays", "fridays",
        "saturdays", "sundays", "sonnabends",
    }
)  # fmt: skip
_UNKNOWN_DAY_WORD = re.compile(r"\b[a-z]+(?:day|days|tag|tage|tags)\b")
# A month alone ("in December") names no day to search; "may" is left out, it is mostly a verb.
_LONE_MONTH = re.compile(
    r"\b(?:january|januar|february|februar|march|maerz|april|june|juni|july|juli|august|september|october"
    r"|oktober|november|december|dezember)\b"
)


# "after 2 days" or "for 1 hour" are no clock times.
_NOT_A_LENGTH = r"(?!\s*(?:days?|tagen?|weeks?|wochen?|hours?|hrs?|stunden?|minutes?|minuten?|mins?)\b)"


def _hour(suffix: str) -> str:
    """A clock time; named groups end in ``suffix`` so one pattern can hold two."""
    return (
        rf"(?:(?P<noon{suffix}>noon|midday|mittag)"
        rf"|(?P<h{suffix}>\d{{1,2}})(?:(?::|\.(?=\d{{2}}\s*uhr))(?P<m{suffix}>\d{{2}}))?"
        rf"(?:\s*(?P<mer{suffix}>{_AM}|p\.?m\.?(?!\w)|uhr\b))?)(?![\w:]){_NOT_A_LENGTH}"
    )


_H1, _H2 = _hour("1"), _hour("2")


class _Unreadable(Exception):
    """A phrase looks like a time but names none."""


@dataclass(frozen=True, slots=True)
class _Clock:
    value: time
    guessed_pm: bool  # read as afternoon only because the hour was small


def _clock(match: re.Match[str], suffix: str, guess_pm: bool = True) -> _Clock:
    if match.group(f"noon{suffix}"):
        return _Clock(time(12), guessed_pm=False)
    hour_text = match.group(f"h{suffix}")
    hour, minute = int(hour_text), int(match.group(f"m{suffix}") or 0)
    meridiem = (match.group(f"mer{suffix}") or "").replace(".", "")
    if minute > 59:
        raise _Unreadable
    if meridiem in ("am", "pm"):
        if not 1 <= hour <= 12:
            raise _Unreadable
        return _Clock(time(hour % 12 + (12 if meridiem == "pm" else 0), minute), guessed_pm=False)
    if hour > 23:
        raise _Unreadable
    # Appointments happen in business hours: "after 3" means 15:00, but "07:30" keeps its leading zero.
    if guess_pm and 1 <= hour <= 7 and not hour_text.startswith("0"):
        return _Clock(time(hour + 12, minute), guessed_pm=True)
    return _Clock(time(hour, minute), guessed_pm=False)


def _shift(moment: time, delta: timedelta) -> time:
    """``moment`` moved by ``delta``, held within the same day."""
    minutes = moment.hour * 60 + moment.minute + delta // timedelta(minutes=1)
    return time(*divmod(min(max(minutes, 0), 24 * 60 - 1), 60))


# --- what the scanner collects -----------------------------------------------------------------------


@dataclass(slots=True)
class _Qualifier:
    """A part of the day or a clock time that narrows the day it belongs to."""

    span: Span
    part: DayPart | None = None
    after: time | None = None
    before: time | None = None
    at: time | None = None


@dataclass(slots=True)
class _DayRef:
    span: Span
    dates: list[date]
    weekend: bool = False
    qualifiers: list[_Qualifier] = field(default_factory=list)
    # For "this <weekday>" naming today: the date to use instead once today's window has passed.
    later: date | None = None


@dataclass(slots=True)
class _Context:
    text: FoldedText
    today: date
    day_refs: list[_DayRef] = field(default_factory=list)
    qualifiers: list[_Qualifier] = field(default_factory=list)
    spans: list[Span] = field(default_factory=list)
    understood: bool = True

    def day(self, match: re.Match[str], dates: Iterable[date], weekend: bool = False) -> _DayRef:
        ref = _DayRef(match.span(), list(dates), weekend)
        self.day_refs.append(ref)
        return ref

    def qualify(
        self,
        match: re.Match[str],
        *,
        part: DayPart | None = None,
        after: time | None = None,
        before: time | None = None,
        at: time | None = None,
    ) -> None:
        self.qualifiers.append(_Qualifier(match.span(), part=part, after=after, before=before, at=at))


def _week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _this_weekday(ctx: _Context, weekday: int, ref_span: Span) -> _DayRef:
    ahead = (weekday - ctx.today.weekday()) % 7
    ref = _DayRef(ref_span, [ctx.today + timedelta(days=ahead)])
    if ahead == 0:
        ref.later = ctx.today + timedelta(days=7)
    ctx.day_refs.append(ref)
    return ref


def _next_weekday(today: date, weekday: int) -> date:
    return today + timedelta(days=(weekday - today.weekday() - 1) % 7 + 1)


def _upcoming(today: date, month: int, day: int, year: int | None) -> date:
    """The date with this month and day: in ``year``, or else the next one from ``today`` on."""
    try:
        if year is not None:
            return date(year, month, day)
        candidate = date(today.year, month, day)
        return candidate if candidate >= today else date(today.year + 1, month, day)
    except ValueError:
        raise _Unreadable from None


# --- rules -------------------------------------------------------------------------------------------

_Handler = Callable[[_Context, re.Match[str]], bool]
_RULES: list[tuple[re.Pattern[str], _Handler]] = []


def _rule(pattern: str) -> Callable[[_Handler], _Handler]:
    def register(handler: _Handler) -> _Handler:
        _RULES.append((re.compile(pattern), handler))
        return handler

    return register


@_rule(r"\b(?P<y>\d{4})-(?P<mo>\d{1,2})-(?P<d>\d{1,2})\b")
def _iso_date(ctx: _Context, m: re.Match[str]) -> bool:
    ctx.day(m, [_upcoming(ctx.today, int(m["mo"]), int(m["d"]), int(m["y"]))])
    return True


@_rule(r"(?<![\w.])(?P<d>\d{1,2})\.(?P<mo>\d{1,2})\.(?P<y>\d{4}|\d{2}(?!\d))?")
def _numeric_date(ctx: _Context, m: re.Match[str]) -> bool:
    year = None if m["y"] is None else int(m["y"]) + (2000 if len(m["y"]) == 2 else 0)
    ctx.day(m, [_upcoming(ctx.today, int(m["mo"]), int(m["d"]), year)])
    return True


def _dateparser_date(ctx: _Context, m: re.Match[str]) -> bool:
    """Month names in their many spellings are dateparser's job; we only settle the year."""
    written = ctx.text.original_span(*m.span())
    year = int(m["y"]) if m["y"] else ctx.today.year
    settings = {"DATE_ORDER": "DMY", "REQUIRE_PARTS": ["day", "month"]}
    parsed = None
    # dateparser knows "März" but not "Maerz": try the umlaut back if it was spelt out.
    for candidate in dict.fromkeys((written, written.replace("ae", "ä").replace("Ae", "Ä"))):
        text = candidate if m["y"] else f"{candidate} {year}"
        parsed = dateparser.parse(text, languages=["en", "de"], settings=settings)
        if parsed is not None:
            break
    if parsed is None:
        raise _Unreadable
    ctx.day(m, [_upcoming(ctx.today, parsed.month, parsed.day, int(m["y"]) if m["y"] else None)])
    return True


_rule(rf"\b\d{{1,2}}(?:st|nd|rd|th|\.)?\s+(?:of\s+)?{_MONTH}(?:\s+(?P<y>\d{{4}}))?(?!\w)")(_dateparser_date)
_rule(rf"\b{_MONTH}\s+(?:the\s+)?\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+(?P<y>\d{{4}}))?(?!\w)")(_dateparser_date)


@_rule(
    rf"\b(?:from\s+|von\s+|between\s+|zwischen\s+)?(?P<a>{_WEEKDAY})\.?\s*(?:-|to|till|until|through|bis|and|und)\s*"
    rf"(?P<b>{_WEEKDAY})\b"
)
def _weekday_range(ctx: _Context, m: re.Match[str]) -> bool:
    span_text = m.group(0)
    if re.search(r"\b(?:and|und)\b", span_text) and not re.match(r"(?:between|zwischen)\b", span_text):
        return False  # "Monday and Wednesday" names two days, not a range.
    first = ctx.today + timedelta(days=(_WEEKDAYS[m["a"]] - ctx.today.weekday()) % 7)
    length = (_WEEKDAYS[m["b"]] - _WEEKDAYS[m["a"]]) % 7
    ctx.day(m, [first + timedelta(days=offset) for offset in range(length + 1)])
    return True


def _weekday_next_week(ctx: _Context, m: re.Match[str]) -> bool:
    monday = _week_start(ctx.today) + timedelta(days=7)
    ctx.day(m, [monday + timedelta(days=_WEEKDAYS[m["w"]])])
    return True


_NEXT_WEEK = r"(?:next\s+week|naechste[nr]?\s+woche|kommende[nr]?\s+woche)"
_rule(rf"\b(?:on\s+|am\s+)?(?P<w>{_WEEKDAY})\s+(?:of\s+|in\s+der\s+)?{_NEXT_WEEK}\b")(_weekday_next_week)
_rule(rf"\b{_NEXT_WEEK}\s+(?:on\s+|am\s+)?(?P<w>{_WEEKDAY})\b")(_weekday_next_week)

_PART_STEMS = {"vormittag": MORNING, "morgen": MORNING, "mittag": MIDDAY, "nachmittag": AFTERNOON, "abend": EVENING}


@_rule(
    rf"\b(?:(?P<mod>{_NEXT}|{_THIS})\s+)?(?P<w>{_GERMAN_WEEKDAY})(?P<part>vormittag|nachmittag|morgen|mittag|abend)s?\b"
)
def _german_compound(ctx: _Context, m: re.Match[str]) -> bool:
    weekday = _WEEKDAYS[m["w"]]
    if m["mod"] and re.fullmatch(_NEXT, m["mod"]):
        ref = ctx.day(m, [_next_weekday(ctx.today, weekday)])
    else:
        ref = _this_weekday(ctx, weekday, m.span())
    ref.qualifiers.append(_Qualifier(m.span(), part=_PART_STEMS[m["part"]]))
    return True


@_rule(rf"\b(?:between|zwischen)\s+{_H1}\s*(?:and|und|-)\s*{_H2}")
def _between(ctx: _Context, m: re.Match[str]) -> bool:
    return _range(ctx, m, require_mark=False)


@_rule(rf"\b(?:from|von|ab)\s+{_H1}\s*(?:to|till|until|bis|-)\s*{_H2}")
def _from_to(ctx: _Context, m: re.Match[str]) -> bool:
    return _range(ctx, m, require_mark=False)


@_rule(rf"(?<![\w.:]){_H1}\s*(?:-|to|bis)\s*{_H2}")
def _bare_range(ctx: _Context, m: re.Match[str]) -> bool:
    return _range(ctx, m, require_mark=True)


def _marked(m: re.Match[str], suffix: str) -> bool:
    return any(m.group(f"{name}{suffix}") for name in ("noon", "m", "mer"))


def _range(ctx: _Context, m: re.Match[str], require_mark: bool) -> bool:
    plausible_hours = all(m[f"h{n}"] and 1 <= int(m[f"h{n}"]) <= 23 for n in "12")
    if require_mark and not (_marked(m, "1") or _marked(m, "2") or plausible_hours):
        return False  # "30-45" is no time range, but a bare "10-12" is
    start, end = _clock(m, "1"), _clock(m, "2")
    meridiem_start, meridiem_end = (m["mer1"] or "").replace(".", ""), (m["mer2"] or "").replace(".", "")
    if meridiem_start not in ("am", "pm") and meridiem_end in ("am", "pm") and m["h1"]:
        # "between 2 and 4pm": the first hour shares the second's am/pm when that keeps the order.
        hour = int(m["h1"]) % 12 + (12 if meridiem_end == "pm" else 0)
        if 0 <= hour < 24 and time(hour) <= end.value:
            start = _Clock(time(hour, start.value.minute), guessed_pm=False)
    if start.value >= end.value and start.guessed_pm:
        start = _clock(m, "1", guess_pm=False)  # "between 7 and 9" is the morning
    if start.value >= end.value:
        raise _Unreadable
    ctx.qualify(m, after=start.value, before=end.value)
    return True


@_rule(rf"\b(?:around|about|approximately|approx\.?|gegen|circa|ca\.|so\s+um)\s+{_H1}")
def _around(ctx: _Context, m: re.Match[str]) -> bool:
    center = _clock(m, "1").value
    ctx.qualify(m, after=_shift(center, timedelta(hours=-1)), before=_shift(center, timedelta(hours=1)))
    return True


@_rule(rf"\b(?:after|later\s+than|not\s+before|from|nach|ab|fruehestens(?:\s+um)?|nicht\s+vor)\s+{_H1}")
def _after(ctx: _Context, m: re.Match[str]) -> bool:
    ctx.qualify(m, after=_clock(m, "1").value)
    return True


@_rule(rf"\b(?:before|until|till|by|no\s+later\s+than|not\s+after|vor|bis|spaetestens(?:\s+um)?)\s+{_H1}")
def _before(ctx: _Context, m: re.Match[str]) -> bool:
    ctx.qualify(m, before=_clock(m, "1").value)
    return True


@_rule(rf"(?:\b(?:at|um)\s+|@\s*){_H1}")
def _at(ctx: _Context, m: re.Match[str]) -> bool:
    ctx.qualify(m, at=_clock(m, "1").value)
    return True


@_rule(rf"(?<![\w.:]){_H1}")
def _bare_time(ctx: _Context, m: re.Match[str]) -> bool:
    if not _marked(m, "1"):
        return False  # a lone number is not a time
    ctx.qualify(m, at=_clock(m, "1").value)
    return True


@_rule(r"\b(?:the\s+)?day\s+after\s+tomorrow\b|\buebermorgen\b")
def _day_after_tomorrow(ctx: _Context, m: re.Match[str]) -> bool:
    ctx.day(m, [ctx.today + timedelta(days=2)])
    return True


@_rule(r"\bmorgen\s+(?:frueh|vormittags?)\b")
def _tomorrow_morning(ctx: _Context, m: re.Match[str]) -> bool:
    ctx.day(m, [ctx.today + timedelta(days=1)]).qualifiers.append(_Qualifier(m.span(), part=MORNING))
    return True


@_rule(r"\btonight\b|\bthis\s+(?P<part>morning|afternoon|evening)\b")
def _today_part(ctx: _Context, m: re.Match[str]) -> bool:
    part = {"morning": MORNING, "afternoon": AFTERNOON}.get(m["part"] or "", EVENING)
    ctx.day(m, [ctx.today]).qualifiers.append(_Qualifier(m.span(), part=part))
    return True


@_rule(r"\b(?:am|den|jeden)\s+morgen\b")
def _am_morgen(ctx: _Context, m: re.Match[str]) -> bool:
    ctx.qualify(m, part=MORNING)  # "am Morgen" is the morning; bare "morgen" is tomorrow
    return True


@_rule(rf"\b(?:(?P<mod>{_NEXT}|{_THIS})\s+)?(?P<w>{_WEEKDAY})(?:s\b|\.|\b)")
def _weekday(ctx: _Context, m: re.Match[str]) -> bool:
    weekday = _WEEKDAYS[m["w"]]
    if m["mod"] and re.fullmatch(_NEXT, m["mod"]):
        ctx.day(m, [_next_weekday(ctx.today, weekday)])
    else:
        _this_weekday(ctx, weekday, m.span())
    return True


@_rule(
    r"\b(?:(?P<after>the\s+week\s+after\s+next|uebernaechste[nr]?\s+woche)|(?P<next>next\s+week|naechste[nr]?\s+woche"
    r"|kommende[nr]?\s+woche)|(?P<this>(?:later\s+)?this\s+week|(?:noch\s+)?diese[nr]?\s+woche))\b"
)
def _week(ctx: _Context, m: re.Match[str]) -> bool:
    monday = _week_start(ctx.today)
    if m["this"]:
        days = [monday + timedelta(days=offset) for offset in range(5)]
        ctx.day(m, [d for d in days if d >= ctx.today])
        return True
    monday += timedelta(days=14 if m["after"] else 7)
    ctx.day(m, [monday + timedelta(days=offset) for offset in range(5)])
    return True


@_rule(
    r"\b(?:(?P<next>next|naechste[sn]?|kommende[sn]?)\s+|(?:this|the|dieses|diesem|am|at\s+the|over\s+the)\s+)?"
    r"(?:weekend|wochenende)\b"
)
def _weekend(ctx: _Context, m: re.Match[str]) -> bool:
    saturday = _week_start(ctx.today) + timedelta(days=5 + (7 if m["next"] else 0))
    ctx.day(m, [d for d in (saturday, saturday + timedelta(days=1)) if d >= ctx.today], weekend=True)
    return True


@_rule(r"\b(?P<tomorrow>tomorrow|morgen)\b|\b(?:today|heute)\b")
def _today_tomorrow(ctx: _Context, m: re.Match[str]) -> bool:
    ctx.day(m, [ctx.today + timedelta(days=1 if m["tomorrow"] else 0)])
    return True


@_rule(r"\bin\s+(?P<n>\d{1,2}|" + "|".join(_NUMBER_WORDS) + r")\s+(?:days?|tagen)\b")
def _in_days(ctx: _Context, m: re.Match[str]) -> bool:
    ctx.day(m, [ctx.today + timedelta(days=int(m["n"]) if m["n"].isdigit() else _NUMBER_WORDS[m["n"]])])
    return True


@_rule(r"\b(?:on\s+the|the|am|den)\s+(?P<d>\d{1,2})(?:st|nd|rd|th|\.)(?!\w|\d)")
def _day_of_month(ctx: _Context, m: re.Match[str]) -> bool:
    day = int(m["d"])
    if not 1 <= day <= 31:
        raise _Unreadable
    month_start = ctx.today.replace(day=1)
    for _ in range(13):
        try:
            candidate = month_start.replace(day=day)
        except ValueError:
            candidate = None
        if candidate is not None and candidate >= ctx.today:
            ctx.day(m, [candidate])
            return True
        month_start = (month_start + timedelta(days=32)).replace(day=1)
    raise _Unreadable  # pragma: no cover - some month within a year has every day from 1 to 31


@_rule(
    r"\b(?:(?:in\s+the|early\s+in\s+the|am|in\s+der|jeden)\s+)?(?:(?P<morning>(?:early\s+)?mornings?|vormittags?|morgens)"
    r"|(?P<midday>noon|midday|lunch\s*time|lunch|mittags?|mittagszeit|mittagspause)"
    r"|(?P<afternoon>afternoons?|nachmittags?)|(?P<evening>evenings?|abends?|after\s+work|nach\s+der\s+arbeit"
    r"|nach\s+feierabend))\b"
)
def _part(ctx: _Context, m: re.Match[str]) -> bool:
    part = next(p for name, p in _NAMED_PARTS.items() if m[name])
    ctx.qualify(m, part=part)
    return True


_NAMED_PARTS = {"morning": MORNING, "midday": MIDDAY, "afternoon": AFTERNOON, "evening": EVENING}


# --- from phrases to windows -------------------------------------------------------------------------


def _scan(text: FoldedText, today: date) -> _Context:
    ctx = _Context(text, today)
    for pattern, handler in _RULES:
        for match in pattern.finditer(text.folded):
            start, end = match.span()
            if start == end or any(start < s_end and s_start < end for s_start, s_end in ctx.spans):
                continue
            try:
                taken = handler(ctx, match)
            except _Unreadable:
                ctx.understood = False
                taken = True
            if taken:
                ctx.spans.append((start, end))
    return ctx


def _gap(a: Span, b: Span) -> int:
    return max(b[0] - a[1], a[0] - b[1], 0)


def _bind(ctx: _Context) -> None:
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


def _ranges(weekend: bool, qualifiers: Sequence[_Qualifier], duration: timedelta) -> list[tuple[time, time]]:
    """The local ``(start, end)`` ranges of one day under its parts and clock times."""
    exact = [q.at for q in qualifiers if q.at is not None]
    if exact:
        return [(at, _shift(at, duration + AT_TIME_SLACK)) for at in exact]
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
        return [(lower, base.end if lower < base.end else LATEST)]
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


def read_times(text: FoldedText, now: datetime, zone: ZoneInfo, duration_minutes: int) -> TimeReading:
    """Find the time phrases in ``text`` and turn them into windows relative to ``now`` in ``zone``."""
    ensure_aware(now, "current time")
    today = now.astimezone(zone).date()
    ctx = _scan(text, today)
    _bind(ctx)
    duration = timedelta(minutes=duration_minutes)
    windows: list[TimeWindow] = []
    if not ctx.day_refs:
        ranges = _ranges(False, ctx.qualifiers, duration)
        for day in default_days(today):
            windows += _windows_on(day, ranges, zone)
    for ref in ctx.day_refs:
        ranges = _ranges(ref.weekend, ref.qualifiers, duration)
        for day in ref.dates:
            on_day = _windows_on(day, ranges, zone)
            if ref.later is not None and not finalize(on_day, now):
                on_day = _windows_on(ref.later, ranges, zone)
            windows += on_day
    return TimeReading(finalize(windows, now), sorted(ctx.spans), ctx.understood)


def names_unknown_time(folded: str, ignore: Sequence[Span]) -> bool:
    """Whether ``folded`` names a time that ``read_times`` could not place: a word that looks like a day but
    is none (``blursday``) or a month without a day (``in December``). Words inside ``ignore`` are skipped."""
    for pattern in (_UNKNOWN_DAY_WORD, _LONE_MONTH):
        for match in pattern.finditer(folded):
            word = match.group(0)
            if any(s <= match.start() < e for s, e in ignore) or word in _DAY_WORD_ALLOWED or word in _WEEKDAYS:
                continue
            return True
    return False
