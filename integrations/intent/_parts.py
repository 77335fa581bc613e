"""Parts of a day: the named stretches (morning, midday, afternoon, evening) and the rules that read them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import time, timedelta

from integrations.intent._scanner import GERMAN_WEEKDAY, NEXT, THIS, WEEKDAYS, Context, Qualifier, rule


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
NAMED_PARTS = {"morning": MORNING, "midday": MIDDAY, "afternoon": AFTERNOON, "evening": EVENING}
_PART_STEMS = {"vormittag": MORNING, "morgen": MORNING, "mittag": MIDDAY, "nachmittag": AFTERNOON, "abend": EVENING}


@rule(
    23,
    rf"\b(?:(?P<mod>{NEXT}|{THIS})\s+)?(?P<w>{GERMAN_WEEKDAY})(?P<part>vormittag|nachmittag|morgen|mittag|abend)s?\b",
)
def _german_compound(ctx: Context, m: re.Match[str]) -> bool:
    weekday = WEEKDAYS[m["w"]]
    if m["mod"] and re.fullmatch(NEXT, m["mod"]):
        ref = ctx.day(m, [ctx.next_weekday(weekday)])
    else:
        ref = ctx.this_weekday(weekday, m.span())
    ref.qualifiers.append(Qualifier(m.span(), part=_PART_STEMS[m["part"]]))
    return True


@rule(41, r"\bmorgen\s+(?:frueh|vormittags?)\b")
def _tomorrow_morning(ctx: Context, m: re.Match[str]) -> bool:
    ctx.day(m, [ctx.today + timedelta(days=1)]).qualifiers.append(Qualifier(m.span(), part=MORNING))
    return True


@rule(42, r"\btonight\b|\bthis\s+(?P<part>morning|afternoon|evening)\b")
def _today_part(ctx: Context, m: re.Match[str]) -> bool:
    part = {"morning": MORNING, "afternoon": AFTERNOON}.get(m["part"] or "", EVENING)
    ctx.day(m, [ctx.today]).qualifiers.append(Qualifier(m.span(), part=part))
    return True


@rule(43, r"\b(?:am|den|jeden)\s+morgen\b")
def _am_morgen(ctx: Context, m: re.Match[str]) -> bool:
    ctx.qualify(m, part=MORNING)  # "am Morgen" is the morning; bare "morgen" is tomorrow
    return True


@rule(
    60,
    r"\b(?:(?:in\s+the|early\s+in\s+the|am|in\s+der|jeden|zur|gegen|around)\s+)?"
    r"(?:(?P<morning>(?:early\s+)?mornings?|vormittags?|morgens|frueh)"
    r"|(?P<midday>noon|midday|lunch\s*time|lunch|mittags?|mittagszeit|mittagspause)"
    r"|(?P<afternoon>afternoons?|nachmittags?)|(?P<evening>evenings?|abends?|after\s+work|nach\s+der\s+arbeit"
    r"|nach\s+feierabend))\b",
)
def _part(ctx: Context, m: re.Match[str]) -> bool:
    part = next(p for name, p in NAMED_PARTS.items() if m[name])
    ctx.qualify(m, part=part)
    return True
