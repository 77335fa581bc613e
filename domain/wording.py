"""Times and places in words, for the sentences NEXUS says to agents and people."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from zoneinfo import ZoneInfo

from domain.expertise import catalogue
from domain.models import TimeWindow

_WEEKDAYS = {
    "en": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"],
    "de": ["Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag"],
}
_MONTHS = {
    "en": [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ],
    "de": [
        "Januar",
        "Februar",
        "März",
        "April",
        "Mai",
        "Juni",
        "Juli",
        "August",
        "September",
        "Oktober",
        "November",
        "Dezember",
    ],
}


# Weekday names and abbreviations people say, English and German, lowercase, Monday = 0.
WEEKDAY_NUMBERS: dict[str, int] = {
    "monday": 0, "mon": 0, "montag": 0,
    "tuesday": 1, "tue": 1, "tues": 1, "dienstag": 1,
    "wednesday": 2, "wed": 2, "mittwoch": 2,
    "thursday": 3, "thu": 3, "thur": 3, "thurs": 3, "donnerstag": 3,
    "friday": 4, "fri": 4, "freitag": 4,
    "saturday": 5, "sat": 5, "samstag": 5, "sonnabend": 5,
    "sunday": 6, "sun": 6, "sonntag": 6,
}  # fmt: skip


def _lang(language: str) -> str:
    return "de" if language == "de" else "en"


def day_in_words(moment: datetime, timezone: str, language: str = "en") -> str:
    """``Tuesday 1 December`` / ``Dienstag, 1. Dezember`` in the given timezone."""
    local = moment.astimezone(ZoneInfo(timezone))
    lang = _lang(language)
    weekday, month = _WEEKDAYS[lang][local.weekday()], _MONTHS[lang][local.month - 1]
    if lang == "de":
        return f"{weekday}, {local.day}. {month}"
    return f"{weekday} {local.day} {month}"


def time_in_words(moment: datetime, timezone: str) -> str:
    """``14:30`` in the given timezone."""
    return moment.astimezone(ZoneInfo(timezone)).strftime("%H:%M")


def slot_in_words(window: TimeWindow, timezone: str, language: str = "en") -> str:
    """``Tuesday 1 December at 14:30``."""
    joiner = "um" if _lang(language) == "de" else "at"
    return f"{day_in_words(window.start, timezone, language)} {joiner} {time_in_words(window.start, timezone)}"


def window_in_words(window: TimeWindow, timezone: str, language: str = "en") -> str:
    """``Tuesday 1 December between 12:00 and 17:00`` (or across days, both ends in full)."""
    tz = ZoneInfo(timezone)
    start, end = window.start.astimezone(tz), window.end.astimezone(tz)
    if _lang(language) == "de":
        if start.date() == end.date():
            return f"{day_in_words(start, timezone, 'de')} zwischen {start:%H:%M} und {end:%H:%M}"
        return f"von {slot_in_words(window, timezone, 'de')} bis {day_in_words(end, timezone, 'de')} {end:%H:%M}"
    if start.date() == end.date():
        return f"{day_in_words(start, timezone)} between {start:%H:%M} and {end:%H:%M}"
    return f"from {slot_in_words(window, timezone)} to {day_in_words(end, timezone)} {end:%H:%M}"


def windows_in_words(windows: Iterable[TimeWindow], timezone: str, language: str = "en", limit: int = 4) -> str:
    """Several windows joined with ``or``; more than ``limit`` are summarised."""
    items = list(windows)
    if not items:
        return "keine Zeit" if _lang(language) == "de" else "no time"
    words = [window_in_words(w, timezone, language) for w in items[:limit]]
    extra = len(items) - limit
    if extra > 0:
        words.append(f"{extra} weitere" if _lang(language) == "de" else f"{extra} more")
    joiner = " oder " if _lang(language) == "de" else " or "
    return joiner.join(words)


# Every service the parser knows, as people name it: English singular and plural, German name (from the
# catalogue of services, ``domain/services.json``).
_SERVICE_NAMES: dict[str, tuple[str, str, str]] = {
    name: (p.singular, p.plural, p.german) for name, p in catalogue().services.items()
}


def service_in_words(service: str, language: str = "en", count: int = 1) -> str:
    """``dentist`` / ``2 dentists`` in English, ``Zahnarzt`` in German (whose sentences name the service
    once, as a kind, so it needs no plural); a service without a name here is said as it is stored."""
    singular, plural, german = _SERVICE_NAMES.get(service, (service, f"{service}s", service))
    if _lang(language) == "de":
        return german
    return singular if count == 1 else plural


def counted(count: int, singular: str, plural: str) -> str:
    """``1 offer``, ``2 offers``, ``0 offers``."""
    return f"{count} {singular if count == 1 else plural}"


_FAILURES = {
    "en": {
        "search_failed": "I could not search for providers just now. Please try again in a few minutes.",
        "no_providers": "I found no {service} within {radius} km of {place}.",
        "nobody_answered": "None of the {total} providers I called answered.",
        "all_closed": (
            "All {total} providers are closed until after the search would end. Try again when they are open."
        ),
        "nothing_fits": (
            "I reached {reached} of {total} providers, but none had a time that fits you. "
            "Try other times or a wider radius."
        ),
        "no_offer": (
            "I called {total} providers, but none offered a time that fits you before the search ended. "
            "Try again, or other times."
        ),
        "slot_gone": "{provider} could no longer offer that time, and no other offer is left.",
        "not_started": "The search could not start in time. Please try again.",
        "all_skipped": (
            "I did not call any of the {total} providers I found: they do not want automated calls, were called "
            "often enough today, or are known to have nothing free then. Try other times or a wider radius."
        ),
    },
    "de": {
        "search_failed": (
            "Ich konnte gerade nicht nach Anbietern suchen. Bitte versuch es in ein paar Minuten noch einmal."
        ),
        "no_providers": "Ich habe im Umkreis von {radius} km um {place} keinen Anbieter für {service} gefunden.",
        "nobody_answered": "Keiner der {total} angerufenen Anbieter ist rangegangen.",
        "all_closed": (
            "Alle {total} Anbieter haben geschlossen, bis die Suche vorbei wäre. Versuch es, wenn sie geöffnet haben."
        ),
        "nothing_fits": (
            "Ich habe {reached} von {total} Anbietern erreicht, aber keiner hatte eine Zeit, die dir passt. "
            "Versuch andere Zeiten oder einen größeren Umkreis."
        ),
        "no_offer": (
            "Ich habe {total} Anbieter angerufen, aber keiner hat rechtzeitig eine passende Zeit angeboten. "
            "Versuch es noch einmal oder mit anderen Zeiten."
        ),
        "slot_gone": "{provider} kann die Zeit nicht mehr anbieten, und es ist kein anderes Angebot übrig.",
        "not_started": "Die Suche konnte nicht rechtzeitig starten. Bitte versuch es noch einmal.",
        "all_skipped": (
            "Ich habe keinen der {total} gefundenen Anbieter angerufen: Sie möchten keine automatischen Anrufe, "
            "wurden heute schon oft genug angerufen oder haben bekanntermaßen dann nichts frei. "
            "Versuch andere Zeiten oder einen größeren Umkreis."
        ),
    },
}


def failure_reason(kind: str, language: str = "en", **values: object) -> str:
    """Why a campaign failed, as a sentence for its user in the campaign's language."""
    return _FAILURES[_lang(language)][kind].format(**values)
