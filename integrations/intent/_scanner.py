"""What the time rules share: the phrases they collect, the rule registry, and the vocabulary of days.

Each rule is a pattern and a handler, registered with a priority: the scanner tries rules in priority order
and a rule only sees text no earlier rule has taken, so a longer phrase ("the day after tomorrow") is read
before the shorter one inside it ("tomorrow").
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, time, timedelta
from typing import TYPE_CHECKING

from domain.wording import WEEKDAY_NUMBERS

if TYPE_CHECKING:
    from integrations.intent._parts import DayPart
    from integrations.intent._text import FoldedText

Span = tuple[int, int]

WEEKDAYS = WEEKDAY_NUMBERS
WEEKDAY = "(?:" + "|".join(sorted(WEEKDAYS, key=len, reverse=True)) + ")"
GERMAN_WEEKDAY = "(?:montag|dienstag|mittwoch|donnerstag|freitag|samstag|sonnabend|sonntag)"
NEXT = r"(?:next|naechste[nrs]?|kommende[nrs]?|coming)"
THIS = r"(?:this|diese[nrs]?|on|am|den)"
NEXT_WEEK = r"(?:next\s+week|naechste[nr]?\s+woche|kommende[nr]?\s+woche)"


class Unreadable(Exception):
    """A phrase looks like a time but names none."""


@dataclass(slots=True)
class Qualifier:
    """A part of the day or a clock time that narrows the day it belongs to."""

    span: Span
    part: DayPart | None = None
    after: time | None = None
    before: time | None = None
    at: time | None = None


@dataclass(slots=True)
class DayRef:
    """Days named together by one phrase, and what narrows them."""

    span: Span
    dates: list[date]
    weekend: bool = False
    qualifiers: list[Qualifier] = field(default_factory=list)
    # For "this <weekday>" naming today: the date to use instead once today's window has passed.
    later: date | None = None
    # The weekday a bare weekday phrase named, so that a date written next to it can be checked against it.
    weekday: int | None = None
    # A date written out (not relative), which a weekday next to it may confirm or contradict.
    written_date: bool = False
    # "or the day after": the day after the day named before it, settled once every day is read.
    after_previous: bool = False
    # "next <weekday>": that weekday, which a week later when "this <weekday>" is named beside it.
    next_of: int | None = None
    # A whole week named ("next week", "in two weeks"): the Monday of that week. Weekdays named with it
    # ("Tuesday in two weeks", "übernächste Woche Dienstag") are read in that week instead.
    week: date | None = None
    # The Monday of the week a phrase put its own weekdays in ("next week Tuesday").
    in_week: date | None = None
    # "Dec 10th or 11th": a day of the month of the date named before it, settled once every day is read.
    same_month_day: int | None = None
    # The date the person may have meant instead (a weekday that contradicts the date written next to it).
    alternative: date | None = None


@dataclass(slots=True)
class Context:
    """Everything the rules have read from one text so far."""

    text: FoldedText
    today: date
    day_refs: list[DayRef] = field(default_factory=list)
    qualifiers: list[Qualifier] = field(default_factory=list)
    spans: list[Span] = field(default_factory=list)
    excluded_weekdays: set[int] = field(default_factory=set)
    understood: bool = True

    def day(self, match: re.Match[str], dates: Iterable[date], weekend: bool = False) -> DayRef:
        ref = DayRef(match.span(), list(dates), weekend)
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
        self.qualifiers.append(Qualifier(match.span(), part=part, after=after, before=before, at=at))

    def this_weekday(self, weekday: int, ref_span: Span) -> DayRef:
        """That weekday of the current week if still ahead (today counts while its window is), else the next."""
        ahead = (weekday - self.today.weekday()) % 7
        ref = DayRef(ref_span, [self.today + timedelta(days=ahead)], weekday=weekday)
        if ahead == 0:
            ref.later = self.today + timedelta(days=7)
        self.day_refs.append(ref)
        return ref

    def next_weekday(self, weekday: int) -> date:
        """The first such weekday after today."""
        return self.today + timedelta(days=(weekday - self.today.weekday() - 1) % 7 + 1)


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


Handler = Callable[[Context, re.Match[str]], bool]
RULES: list[tuple[int, re.Pattern[str], Handler]] = []


def rule(priority: int, pattern: str) -> Callable[[Handler], Handler]:
    """Register ``handler`` for ``pattern``; lower priorities read first. A handler returns whether it took
    the match (``False`` leaves the text to later rules) and raises ``Unreadable`` for a time it cannot place."""

    def register(handler: Handler) -> Handler:
        RULES.append((priority, re.compile(pattern), handler))
        RULES.sort(key=lambda entry: entry[0])
        return handler

    return register


def scan(text: FoldedText, today: date) -> Context:
    """Run every rule over ``text`` in priority order."""
    ctx = Context(text, today)
    for _, pattern, handler in RULES:
        for match in pattern.finditer(text.folded):
            start, end = match.span()
            if start == end or any(start < s_end and s_start < end for s_start, s_end in ctx.spans):
                continue
            try:
                taken = handler(ctx, match)
            except Unreadable:
                ctx.understood = False
                taken = True
            if taken:
                ctx.spans.append((start, end))
    return ctx
