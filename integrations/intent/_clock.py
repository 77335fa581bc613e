"""Clock times: ``at 3pm``, ``um 15 Uhr``, ranges, ``after``/``ab``, ``before``/``bis``, ``around``/``gegen``.

German clock words (``halb 11``, ``Viertel nach 9``) reach these rules already written as ``10:30`` and
``9:15`` (see ``_spelling``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import time, timedelta

from integrations.intent._scanner import GERMAN_WEEKDAY, Context, Unreadable, rule

# "am" after a number is "a.m." unless German words show it is the preposition ("vor 10 am Dienstag").
_AM = (
    r"a\.?m\.?(?!\w)(?!\s+(?:" + GERMAN_WEEKDAY + r"|\d|morgen|vormittag|nachmittag|abend|wochenende|naechst|kommend))"
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
        raise Unreadable
    if meridiem in ("am", "pm"):
        if not 1 <= hour <= 12:
            raise Unreadable
        return _Clock(time(hour % 12 + (12 if meridiem == "pm" else 0), minute), guessed_pm=False)
    if hour > 23:
        raise Unreadable
    # Appointments happen in business hours: "after 3" means 15:00, but "07:30" keeps its leading zero.
    if guess_pm and 1 <= hour <= 7 and not hour_text.startswith("0"):
        return _Clock(time(hour + 12, minute), guessed_pm=True)
    return _Clock(time(hour, minute), guessed_pm=False)


def shift(moment: time, delta: timedelta) -> time:
    """``moment`` moved by ``delta``, held within the same day."""
    minutes = moment.hour * 60 + moment.minute + delta // timedelta(minutes=1)
    return time(*divmod(min(max(minutes, 0), 24 * 60 - 1), 60))


@rule(30, rf"\b(?:between|zwischen)\s+{_H1}\s*(?:and|und|-)\s*{_H2}")
def _between(ctx: Context, m: re.Match[str]) -> bool:
    return _range(ctx, m, require_mark=False)


@rule(31, rf"\b(?:from|von|ab)\s+{_H1}\s*(?:to|till|until|bis|-)\s*{_H2}")
def _from_to(ctx: Context, m: re.Match[str]) -> bool:
    return _range(ctx, m, require_mark=False)


@rule(32, rf"(?<![\w.:]){_H1}\s*(?:-|to|bis)\s*{_H2}")
def _bare_range(ctx: Context, m: re.Match[str]) -> bool:
    return _range(ctx, m, require_mark=True)


def _marked(m: re.Match[str], suffix: str) -> bool:
    return any(m.group(f"{name}{suffix}") for name in ("noon", "m", "mer"))


def _range(ctx: Context, m: re.Match[str], require_mark: bool) -> bool:
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
        raise Unreadable
    ctx.qualify(m, after=start.value, before=end.value)
    return True


@rule(33, rf"\b(?:around|about|approximately|approx\.?|gegen|circa|ca\.|so\s+um)\s+{_H1}")
def _around(ctx: Context, m: re.Match[str]) -> bool:
    center = _clock(m, "1").value
    ctx.qualify(m, after=shift(center, timedelta(hours=-1)), before=shift(center, timedelta(hours=1)))
    return True


@rule(
    34,
    rf"\b(?:after|later\s+than|not\s+before|from|nach|ab|fruehestens(?:\s+um)?|nicht\s+vor)\s+{_H1}"
    r"(?:\s+(?:onwards|on|or\s+later|oder\s+spaeter))?",
)
def _after(ctx: Context, m: re.Match[str]) -> bool:
    ctx.qualify(m, after=_clock(m, "1").value)
    return True


@rule(35, rf"\b(?:before|until|till|by|no\s+later\s+than|not\s+after|vor|bis|spaetestens(?:\s+um)?)\s+{_H1}")
def _before(ctx: Context, m: re.Match[str]) -> bool:
    ctx.qualify(m, before=_clock(m, "1").value)
    return True


@rule(36, rf"(?:\b(?:at|um)\s+|@\s*){_H1}")
def _at(ctx: Context, m: re.Match[str]) -> bool:
    ctx.qualify(m, at=_clock(m, "1").value)
    return True


@rule(37, rf"(?<![\w.:]){_H1}")
def _bare_time(ctx: Context, m: re.Match[str]) -> bool:
    if not _marked(m, "1") or m["noon1"]:
        return False  # a lone number is not a time; "Mittag" alone is the midday part
    ctx.qualify(m, at=_clock(m, "1").value)
    return True
