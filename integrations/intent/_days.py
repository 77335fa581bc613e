"""Which days: dates, weekdays, relative days, weeks and months, ranges of weekdays and days left out."""

from __future__ import annotations

import itertools
import re
from datetime import date, timedelta

import dateparser

from integrations.intent._scanner import NEXT, NEXT_WEEK, THIS, WEEKDAY, WEEKDAYS, Context, Unreadable, rule, week_start

_MONTH = (
    r"(?:january|januar|jaenner|jan|february|februar|feb|march|maerz|mar|april|apr|may|mai|june|juni|jun|"
    r"july|juli|jul|august|aug|september|sept|sep|october|oktober|oct|okt|november|nov|december|dezember|"
    r"dec|dez)\.?"
)
NUMBER_WORDS: dict[str, int] = {
    "a": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "ten": 10,
    "einem": 1, "einen": 1, "einer": 1, "zwei": 2, "drei": 3, "vier": 4, "fuenf": 5, "sechs": 6, "sieben": 7,
    "zehn": 10,
}  # fmt: skip
_NUMBER = r"(?P<n>\d{1,2}|" + "|".join(NUMBER_WORDS) + ")"
_WEEKDAY_LIST = rf"(?:on\s+|am\s+|den\s+)?{WEEKDAY}s?(?:\s*(?:,|and|und|or|oder|&|/)\s*(?:on\s+|am\s+)?{WEEKDAY}s?)*"
_WEEKDAY_WORD = re.compile(rf"\b{WEEKDAY}")


def _upcoming(today: date, month: int, day: int, year: int | None) -> date:
    """The date with this month and day: in ``year``, or else the next one from ``today`` on."""
    try:
        if year is not None:
            return date(year, month, day)
        candidate = date(today.year, month, day)
        return candidate if candidate >= today else date(today.year + 1, month, day)
    except ValueError:
        raise Unreadable from None


def _weekdays_named(text: str) -> list[int]:
    return [WEEKDAYS[found.group(0)] for found in _WEEKDAY_WORD.finditer(text)]


def _weekdays_between(first: date, last: date, today: date) -> list[date]:
    """The weekdays (Monday to Friday) from ``first`` to ``last``, none before today."""
    days = (first + timedelta(days=offset) for offset in range((last - first).days + 1))
    return [d for d in days if d.weekday() < 5 and d >= today]


# --- days left out -----------------------------------------------------------------------------------


@rule(
    5,
    rf"\b(?:but\s+not|just\s+not|(?:any\s*day|any\s*time|anything|every\s+day|all)\s+but|except(?:\s+for|\s+on)?|apart\s+from|excluding|other\s+than|not|aber\s+nicht"
    rf"|nur\s+nicht|au(?:ss|ß)er|ohne|nicht)\s+{_WEEKDAY_LIST}\b",
)
def _except_days(ctx: Context, m: re.Match[str]) -> bool:
    ctx.excluded_weekdays.update(_weekdays_named(m.group(0)))
    return True


@rule(6, rf"\b(?:aber|but)\s+{_WEEKDAY_LIST}\s+(?:nicht|geht\s+nicht|not|is\s+bad|doesn'?t\s+work|won'?t\s+work)\b")
def _days_that_do_not_work(ctx: Context, m: re.Match[str]) -> bool:
    ctx.excluded_weekdays.update(_weekdays_named(m.group(0)))
    return True


# --- written dates -----------------------------------------------------------------------------------


@rule(10, r"\b(?P<y>\d{4})-(?P<mo>\d{1,2})-(?P<d>\d{1,2})\b")
def _iso_date(ctx: Context, m: re.Match[str]) -> bool:
    ctx.day(m, [_upcoming(ctx.today, int(m["mo"]), int(m["d"]), int(m["y"]))]).written_date = True
    return True


@rule(
    11,
    r"(?<![\w.:])(?P<d>\d{1,2})\.(?P<mo>\d{1,2})(?:\.(?P<y>\d{4}|\d{2}(?!\d))?|(?![\d:])"
    r"(?!\s*(?:h\b|hours?|hrs?|stunden?|std|min)))",
)
def _numeric_date(ctx: Context, m: re.Match[str]) -> bool:
    year = None if m["y"] is None else int(m["y"]) + (2000 if len(m["y"]) == 2 else 0)
    ctx.day(m, [_upcoming(ctx.today, int(m["mo"]), int(m["d"]), year)]).written_date = True
    return True


def _dateparser_date(ctx: Context, m: re.Match[str]) -> bool:
    """Month names in their many spellings are dateparser's job; we only settle the year."""
    written = ctx.text.folded[m.start() : m.end()]
    year = int(m["y"]) if m["y"] else ctx.today.year
    settings = {"DATE_ORDER": "DMY", "REQUIRE_PARTS": ["day", "month"]}
    parsed = None
    # dateparser knows "März" but not "Maerz": try the umlaut back if it was spelt out.
    for candidate in dict.fromkeys((written, written.replace("ae", "ä"))):
        text = candidate if m["y"] else f"{candidate} {year}"
        parsed = dateparser.parse(text, languages=["en", "de"], settings=settings)
        if parsed is not None:
            break
    if parsed is None:
        raise Unreadable
    day = _upcoming(ctx.today, parsed.month, parsed.day, int(m["y"]) if m["y"] else None)
    ctx.day(m, [day]).written_date = True
    return True


rule(12, rf"\b\d{{1,2}}(?:st|nd|rd|th|\.)?\s+(?:of\s+)?{_MONTH}(?:\s+(?P<y>\d{{4}}))?(?!\w)")(_dateparser_date)
rule(13, rf"\b{_MONTH}\s+(?:the\s+)?\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+(?P<y>\d{{4}}))?(?!\w)")(_dateparser_date)


@rule(55, r"\b(?:(?:on\s+the|the|am|den)\s+(?P<d>\d{1,2})(?:st|nd|rd|th|\.)|(?P<d2>\d{1,2})(?:st|nd|rd|th))(?!\w|\d)")
def _day_of_month(ctx: Context, m: re.Match[str]) -> bool:
    day = int(m["d"] or m["d2"])
    if not 1 <= day <= 31:
        raise Unreadable
    month_start = ctx.today.replace(day=1)
    for _ in range(13):
        try:
            candidate = month_start.replace(day=day)
        except ValueError:
            candidate = None
        if candidate is not None and candidate >= ctx.today:
            ctx.day(m, [candidate]).written_date = True
            return True
        month_start = (month_start + timedelta(days=32)).replace(day=1)
    raise Unreadable  # pragma: no cover - some month within a year has every day from 1 to 31


@rule(19, rf"\b(?:or|and|oder|und)\s+(?:the\s+)?(?P<d>\d{{1,2}})(?:st|nd|rd|th)(?!\w)(?!\s*(?:of\s+)?{_MONTH})")
def _another_day_of_that_month(ctx: Context, m: re.Match[str]) -> bool:
    ctx.day(m, []).same_month_day = int(m["d"])
    return True


# --- weeks and months --------------------------------------------------------------------------------


@rule(14, rf"\bin\s+(?:{_NUMBER}\s+(?:weeks?|wochen?)|(?P<fortnight>a\s+fortnight))\b")
def _in_weeks(ctx: Context, m: re.Match[str]) -> bool:
    weeks = 2 if m["fortnight"] else int(m["n"]) if m["n"].isdigit() else NUMBER_WORDS[m["n"]]
    monday = week_start(ctx.today + timedelta(weeks=weeks))
    ctx.day(m, _weekdays_between(monday, monday + timedelta(days=4), ctx.today)).week = monday
    return True


@rule(14, rf"\b(?:this|diese)\s+(?:or|oder)\s+{NEXT}\s+(?:week|woche)\b")
def _this_or_next_week(ctx: Context, m: re.Match[str]) -> bool:
    monday = week_start(ctx.today)
    ctx.day(m, _weekdays_between(monday, monday + timedelta(days=11), ctx.today))
    return True


_PORTION = (
    r"(?:(?P<early>early|beginning\s+of|start\s+of|anfang)|(?P<mid>mid|middle\s+of|mitte)"
    r"|(?P<late>end\s+of|late|ende))\s+(?:the\s+|der\s+|des\s+|dieser\s+|diesen\s+|this\s+)?"
)
_WEEK_PORTIONS = {"early": (0, 1), "mid": (1, 3), "late": (3, 4)}


@rule(15, rf"\b{_PORTION}(?P<next>{NEXT}\s+)?(?:week|woche)\b")
def _part_of_week(ctx: Context, m: re.Match[str]) -> bool:
    first, last = _WEEK_PORTIONS[next(name for name in _WEEK_PORTIONS if m[name])]
    monday = week_start(ctx.today) + timedelta(days=7 if m["next"] else 0)
    days = _weekdays_between(monday + timedelta(days=first), monday + timedelta(days=last), ctx.today)
    if not days:  # the end of this week is over: the same part of next week
        monday += timedelta(days=7)
        days = _weekdays_between(monday + timedelta(days=first), monday + timedelta(days=last), ctx.today)
    ctx.day(m, days)
    return True


def _month_start(day: date, months_ahead: int) -> date:
    month_index = day.year * 12 + day.month - 1 + months_ahead
    return date(month_index // 12, month_index % 12 + 1, 1)


@rule(
    16,
    rf"\b(?:{_PORTION})?(?:(?P<next>{NEXT}|im\s+{NEXT})|(?P<this>this|diese[nrs]?|im))\s+(?:month|monats?)\b",
)
def _month(ctx: Context, m: re.Match[str]) -> bool:
    groups = m.groupdict()
    start = _month_start(ctx.today, 1 if groups.get("next") else 0)
    end = _month_start(start, 1) - timedelta(days=1)
    if m["early"]:
        end = start + timedelta(days=6)
    elif m["mid"]:
        start, end = start + timedelta(days=10), start + timedelta(days=19)
    elif m["late"]:
        start = end - timedelta(days=6)
    ctx.day(m, _weekdays_between(start, end, ctx.today))
    return True


@rule(17, rf"\b{_PORTION}(?:the\s+)?(?:month|monats?)\b")
def _part_of_this_month(ctx: Context, m: re.Match[str]) -> bool:
    return _month(ctx, m)


_MONTH_NUMBERS = {
    "jan": 1, "feb": 2, "mar": 3, "maer": 3, "apr": 4, "may": 5, "mai": 5, "jun": 6, "jul": 7, "aug": 8,
    "sep": 9, "oct": 10, "okt": 10, "nov": 11, "dec": 12, "dez": 12,
}  # fmt: skip


@rule(18, rf"\b{_PORTION}(?:of\s+)?(?P<month>{_MONTH})(?!\s*\d)")
def _part_of_named_month(ctx: Context, m: re.Match[str]) -> bool:
    """``early December``, ``Ende Januar``: that part of the next such month (this one while it lasts)."""
    number = _MONTH_NUMBERS[m["month"][:4].rstrip(".") if m["month"].startswith("maer") else m["month"][:3]]
    year = ctx.today.year + (1 if number < ctx.today.month else 0)
    start = date(year, number, 1)
    end = _month_start(start, 1) - timedelta(days=1)
    if m["early"]:
        end = start + timedelta(days=6)
    elif m["mid"]:
        start, end = start + timedelta(days=10), start + timedelta(days=19)
    else:
        start = end - timedelta(days=6)
    ctx.day(m, _weekdays_between(start, end, ctx.today))
    return True


# --- weekdays ----------------------------------------------------------------------------------------


@rule(
    20,
    rf"\b(?P<nw>{NEXT_WEEK}\s+)?(?:from\s+|von\s+|between\s+|zwischen\s+)?(?P<a>{WEEKDAY})\.?\s*"
    rf"(?:-|to|till|until|through|thru|bis|and|und)\s*(?P<b>{WEEKDAY})\b\.?"
    rf"(?P<nw_after>\s+(?:of\s+|in\s+der\s+)?{NEXT_WEEK}\b)?",
)
def _weekday_range(ctx: Context, m: re.Match[str]) -> bool:
    span_text = m.group(0)
    if re.search(r"\b(?:and|und)\b", span_text) and not re.search(r"\b(?:between|zwischen)\b", span_text):
        return False  # "Monday and Wednesday" names two days, not a range.
    if m["nw"] or m["nw_after"]:
        first = week_start(ctx.today) + timedelta(days=7 + WEEKDAYS[m["a"]])
    else:
        first = ctx.today + timedelta(days=(WEEKDAYS[m["a"]] - ctx.today.weekday()) % 7)
    length = (WEEKDAYS[m["b"]] - WEEKDAYS[m["a"]]) % 7
    ctx.day(m, [first + timedelta(days=offset) for offset in range(length + 1)])
    return True


@rule(21, rf"\b(?:on\s+|am\s+)?(?P<w>{WEEKDAY})\s+(?:of\s+|in\s+der\s+)?{NEXT_WEEK}\b")
def _weekday_next_week(ctx: Context, m: re.Match[str]) -> bool:
    monday = week_start(ctx.today) + timedelta(days=7)
    ctx.day(m, [monday + timedelta(days=WEEKDAYS[m["w"]])]).in_week = monday
    return True


@rule(22, rf"\b{NEXT_WEEK}\s+(?P<days>{_WEEKDAY_LIST})\b")
def _next_week_weekdays(ctx: Context, m: re.Match[str]) -> bool:
    """``next week Tuesday or Thursday``: every weekday listed is in next week."""
    monday = week_start(ctx.today) + timedelta(days=7)
    ctx.day(m, [monday + timedelta(days=weekday) for weekday in _weekdays_named(m["days"])]).in_week = monday
    return True


@rule(50, rf"\b(?:(?P<mod>{NEXT}|{THIS})\s+)?(?P<w>{WEEKDAY})(?:s\b|\.|\b)")
def _weekday(ctx: Context, m: re.Match[str]) -> bool:
    weekday = WEEKDAYS[m["w"]]
    if m["mod"] and re.fullmatch(NEXT, m["mod"]):
        ctx.day(m, [ctx.next_weekday(weekday)]).next_of = weekday
    else:
        ctx.this_weekday(weekday, m.span())
    return True


@rule(24, rf"\b(?:this|diese[nrs]?)\s+(?:or|oder)\s+{NEXT}\s+(?P<w>{WEEKDAY})\b")
def _this_or_next_weekday(ctx: Context, m: re.Match[str]) -> bool:
    ref = ctx.this_weekday(WEEKDAYS[m["w"]], m.span())
    ref.dates.append(ref.dates[0] + timedelta(days=7))
    ref.weekday = None
    return True


@rule(
    51,
    r"\b(?:(?P<after>the\s+week\s+after\s+next|uebernaechste[nr]?\s+woche)|(?P<next>next\s+week|naechste[nr]?\s+woche"
    r"|kommende[nr]?\s+woche)|(?P<this>(?:later\s+)?this\s+week|(?:noch\s+)?diese[nr]?\s+woche))\b",
)
def _week(ctx: Context, m: re.Match[str]) -> bool:
    monday = week_start(ctx.today)
    if m["this"]:
        days = [monday + timedelta(days=offset) for offset in range(5)]
        ctx.day(m, [d for d in days if d >= ctx.today]).week = monday
        return True
    monday += timedelta(days=14 if m["after"] else 7)
    ctx.day(m, [monday + timedelta(days=offset) for offset in range(5)]).week = monday
    return True


@rule(
    52,
    r"\b(?:(?P<next>next|naechste[sn]?|kommende[sn]?)\s+|(?:this|the|dieses|diesem|am|at\s+the|over\s+the)\s+)?"
    r"(?:weekend|wochenende)\b",
)
def _weekend(ctx: Context, m: re.Match[str]) -> bool:
    saturday = week_start(ctx.today) + timedelta(days=5 + (7 if m["next"] else 0))
    ctx.day(m, [d for d in (saturday, saturday + timedelta(days=1)) if d >= ctx.today], weekend=True)
    return True


# --- days relative to today --------------------------------------------------------------------------


@rule(
    39,
    r"\b(?:or|oder)\s+(?:(?:else\s+)?the\s+(?:day\s+after|next\s+day|following\s+day)|(?:am|den)\s+tag\s+danach"
    r"|tags?\s+darauf|am\s+folgetag)\b(?!\s+tomorrow)",
)
def _or_the_day_after(ctx: Context, m: re.Match[str]) -> bool:
    ctx.day(m, []).after_previous = True
    return True


@rule(40, r"\b(?:the\s+)?day\s+after\s+tomorrow\b|\buebermorgen\b")
def _day_after_tomorrow(ctx: Context, m: re.Match[str]) -> bool:
    ctx.day(m, [ctx.today + timedelta(days=2)])
    return True


@rule(53, r"\b(?P<tomorrow>tomorrow|morgen)\b|\b(?:today|heute)\b")
def _today_tomorrow(ctx: Context, m: re.Match[str]) -> bool:
    ctx.day(m, [ctx.today + timedelta(days=1 if m["tomorrow"] else 0)])
    return True


@rule(54, rf"\bin\s+{_NUMBER}\s+(?:days?|tagen)\b")
def _in_days(ctx: Context, m: re.Match[str]) -> bool:
    ctx.day(m, [ctx.today + timedelta(days=int(m["n"]) if m["n"].isdigit() else NUMBER_WORDS[m["n"]])])
    return True


# --- once every phrase is read -----------------------------------------------------------------------

_BETWEEN_DAY_AND_DATE = re.compile(r"[\s,]*(?:(?:den|the|der|on|am)\s*)?[\s,]*")


def _weekdays_into_the_week_named(ctx: Context) -> None:
    """``Tuesday in two weeks``, ``übernächste Woche Dienstag``: the weekdays named go to the one week named."""
    whole_weeks = [ref for ref in ctx.day_refs if ref.week is not None]
    mondays = {ref.week for ref in whole_weeks} | {ref.in_week for ref in ctx.day_refs if ref.in_week is not None}
    weekdays = [ref for ref in ctx.day_refs if ref.weekday is not None]
    if len(mondays) != 1 or not weekdays:
        return
    [monday] = mondays
    assert monday is not None
    for ref in weekdays:
        ref.dates, ref.later = [monday + timedelta(days=ref.weekday or 0)], None
    for ref in whole_weeks:
        ctx.day_refs.remove(ref)


def settle_days(ctx: Context) -> None:
    """Join a weekday to the date written next to it, give ``or the day after`` its day, leave out the
    weekdays excluded."""
    refs = sorted(ctx.day_refs, key=lambda r: r.span)
    for weekday_ref, date_ref in itertools.pairwise(refs):
        if weekday_ref.weekday is None or not date_ref.written_date or len(date_ref.dates) != 1:
            continue
        gap = ctx.text.folded[weekday_ref.span[1] : date_ref.span[0]]
        if not _BETWEEN_DAY_AND_DATE.fullmatch(gap):
            continue
        written = date_ref.dates[0]
        if written.weekday() != weekday_ref.weekday:
            date_ref.alternative = week_start(written) + timedelta(days=weekday_ref.weekday)
        date_ref.qualifiers = weekday_ref.qualifiers + date_ref.qualifiers
        date_ref.span = (weekday_ref.span[0], date_ref.span[1])
        ctx.day_refs.remove(weekday_ref)
    _weekdays_into_the_week_named(ctx)
    for ref in ctx.day_refs:
        # "this Wednesday or next Wednesday": the second is the one a week later.
        if ref.next_of is not None and any(r.weekday == ref.next_of and r.dates == ref.dates for r in ctx.day_refs):
            ref.dates = [d + timedelta(days=7) for d in ref.dates]
    refs = sorted(ctx.day_refs, key=lambda r: r.span)
    for index, ref in enumerate(refs):
        before = [r for r in refs[:index] if r.dates]
        if ref.after_previous and before:
            ref.dates = [max(before[-1].dates) + timedelta(days=1)]
        if ref.same_month_day is not None and before:
            try:
                ref.dates = [max(before[-1].dates).replace(day=ref.same_month_day)]
            except ValueError:
                ctx.understood = False
    if ctx.excluded_weekdays:
        for ref in ctx.day_refs:
            kept = [d for d in ref.dates if d.weekday() not in ctx.excluded_weekdays]
            if kept or len(ref.dates) <= 1:
                ref.dates = kept
            if ref.alternative is not None and not ref.dates:
                # "Mittwoch 8.12. außer Dienstag": the date written is a Tuesday, so the weekday named decides
                # (no doubt left to ask), unless that weekday is excluded too.
                if ref.alternative.weekday() not in ctx.excluded_weekdays:
                    ref.dates = [ref.alternative]
                ref.alternative = None
