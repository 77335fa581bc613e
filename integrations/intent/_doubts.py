"""Questions instead of guesses: the doubts the parsers attach to a request, with labels short enough for
buttons, in the request's language."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from zoneinfo import ZoneInfo

from domain.intent import Doubt, DoubtOption
from domain.models import TimeWindow
from integrations.intent._text import FoldedText
from integrations.intent.windows import DateDoubt, Span, read_times

MAX_OPTIONS = 4
PART_WORDS = ("morning", "afternoon", "evening", "vormittag", "nachmittag", "abend", "morgens", "abends", "mittag")

_WEEKDAYS = {
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "de": ("Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag"),
}
_SHORT_WEEKDAYS = {
    "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
    "de": ("Mo", "Di", "Mi", "Do", "Fr", "Sa", "So"),
}
_MONTHS = {
    "en": ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"),
    "de": ("Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober",
           "November", "Dezember"),
}  # fmt: skip
_SHORT_MONTHS = {
    "en": ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
    "de": ("Jan", "Feb", "Mär", "Apr", "Mai", "Jun", "Jul", "Aug", "Sep", "Okt", "Nov", "Dez"),
}
_PART_OPTIONS = {
    "en": (("Any time", None), ("Morning", "morning"), ("Afternoon", "afternoon"), ("Evening", "evening")),
    "de": (("Egal wann", None), ("Vormittags", "vormittags"), ("Nachmittags", "nachmittags"), ("Abends", "abends")),
}
_TWO_READINGS = {
    "en": "I can read the time two ways. Which do you mean?",
    "de": "Ich kann die Zeit auf zwei Arten verstehen. Welche meinst du?",
}


def _lang(language: str) -> str:
    return "de" if language == "de" else "en"


def day_label(day: date, language: str) -> str:
    """``Tue 8 Dec`` / ``Di 8. Dez``."""
    lang = _lang(language)
    weekday, month = _SHORT_WEEKDAYS[lang][day.weekday()], _SHORT_MONTHS[lang][day.month - 1]
    return f"{weekday} {day.day}. {month}" if lang == "de" else f"{weekday} {day.day} {month}"


def _clock(moment: datetime) -> str:
    return f"{moment:%H}" if moment.minute == 0 else f"{moment:%H:%M}"


def windows_label(windows: Sequence[TimeWindow], zone: ZoneInfo, language: str) -> str:
    """``Tue 1 Dec 12–17``, ``4 days Mon 30 Nov–Fri 4 Dec 08–18``, or without the hours when they differ
    from day to day."""
    lang = _lang(language)
    local = [(w.start.astimezone(zone), w.end.astimezone(zone)) for w in windows]
    first, last = local[0], local[-1]
    days = {start.date() for start, _ in local}
    label = day_label(first[0].date(), lang)
    if len(days) > 1:
        label = f"{len(days)} {'Tage' if lang == 'de' else 'days'} {label}–{day_label(last[0].date(), lang)}"
    hours = {(_clock(start), _clock(end)) for start, end in local}
    if len(hours) == 1:
        [(start, end)] = hours
        label += f" {start}–{end}"
    return label


def date_doubt(doubt: DateDoubt, language: str) -> Doubt:
    """The written date (first: it is what is searched until the person answers) or the weekday named."""
    lang = _lang(language)
    written, named = doubt.written, doubt.weekday_date
    names, months = _WEEKDAYS[lang], _MONTHS[lang]
    if lang == "de":
        question = (
            f"Der {written.day}. {months[written.month - 1]} ist ein {names[written.weekday()]}, kein "
            f"{names[named.weekday()]}. Welchen Tag meinst du?"
        )
    else:
        question = (
            f"{written.day} {months[written.month - 1]} is a {names[written.weekday()]}, not a "
            f"{names[named.weekday()]}. Which day do you mean?"
        )
    return Doubt(
        question,
        [
            DoubtOption(day_label(written, lang), doubt.written_windows),
            DoubtOption(day_label(named, lang), doubt.weekday_windows),
        ],
    )


def part_of_day_doubt(
    folded: FoldedText,
    unread: Span,
    windows: list[TimeWindow],
    now: datetime,
    zone: ZoneInfo,
    duration_minutes: int,
    language: str,
) -> list[Doubt]:
    """A word that looks like a part of the day but cannot be read: the days as read (first), or their
    morning, afternoon or evening; no doubt when fewer than two of these are still ahead."""
    lang = _lang(language)
    options = []
    for label, part in _PART_OPTIONS[lang]:
        option = windows
        if part is not None:
            option = read_times(folded.replaced([(*unread, part)]), now, zone, duration_minutes).windows
        if option:
            options.append(DoubtOption(label, option))
    word = folded.original_span(*unread)
    if lang == "de":
        question = f"„{word}“ habe ich nicht verstanden. Welche Tageszeit meinst du?"
    else:
        question = f"I could not read “{word}”. Which time of day do you mean?"
    return [Doubt(question, options)] if len(options) > 1 else []


def two_readings(first: list[TimeWindow], others: Sequence[list[TimeWindow]], zone: ZoneInfo, language: str) -> Doubt:
    """``first`` (what is searched until the person answers) or one of ``others``, at most ``MAX_OPTIONS`` in
    all; labels that would read the same are numbered."""
    readings = [first]
    for windows in others:
        if windows and windows not in readings:
            readings.append(windows)
    readings = readings[:MAX_OPTIONS]
    labels = [windows_label(windows, zone, language) for windows in readings]
    if len(set(labels)) < len(labels):
        labels = [f"{index}. {label}" for index, label in enumerate(labels, start=1)]
    options = [DoubtOption(label, windows) for label, windows in zip(labels, readings, strict=True)]
    return Doubt(_TWO_READINGS[_lang(language)], options)
