"""The offline intent parser: our own rules plus ``dateparser``, no network.

What it reads (the time conventions are in ``integrations.intent.windows``):

- ``service``: the canonical service of the first service word (``integrations.intent.vocabulary``).
- ``location``: the place after ``near``, ``in``, ``at``, ``around``, ``close to``, ``bei``, ``in der Nähe
  von``, ``nahe``, ``am`` or ``im``, up to punctuation or the next time phrase, service word or connecting
  word (``for``, ``on``, ``and``, ``bitte``…). ``am Dienstag``, ``in the afternoon``, ``at 3pm``, ``near me``
  and ``in der Nähe`` name no place.
- ``duration_minutes``: ``for 45 minutes``, ``1 hour``, ``half an hour``, ``eine Stunde``, ``90 Minuten``,
  ``anderthalb Stunden`` (5 minutes to 8 hours), else the service's usual length (30 when unknown).
- ``language``: ``"de"`` when a German word, a German service word or an umlaut appears outside the place
  name, else ``"en"``.
- ``missing``: ``"service"`` and ``"location"`` when not found; ``"windows"`` when a time phrase could not
  be understood (``dentist on Blursday``) or every window named is already over. No time at all is not
  missing: it means the next seven days.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from domain.errors import InvalidRequest
from domain.intent import ParsedRequest, missing_parts
from domain.models import DEFAULT_TIMEZONE, ensure_aware
from integrations.intent._text import FoldedText
from integrations.intent.vocabulary import default_duration, find_service
from integrations.intent.windows import Span, names_unknown_time, read_times

MIN_DURATION_MINUTES = 5
MAX_DURATION_MINUTES = 8 * 60

_DURATION = re.compile(
    r"(?<!\bin\s)(?<!\w)(?:(?P<num>\d+(?:[.,]\d+)?)\s*|(?P<word>half\s+an|an|a|one|two|three|eine\s+halbe|eine|einer"
    r"|ein|zwei|drei|anderthalb|eineinhalb)\s+)(?P<unit>hours?|hrs?|h|stunden?|minutes?|mins?|minuten?|min)\b"
    r"(?:\s+(?:and\s+|und\s+)?(?P<extra>\d{1,2})\s*(?:minutes?|mins?|minuten?|min)\b)?"
)
_DURATION_WORDS = {
    "half an": 0.5, "an": 1, "a": 1, "one": 1, "two": 2, "three": 3, "eine halbe": 0.5, "eine": 1, "einer": 1,
    "ein": 1, "zwei": 2, "drei": 3, "anderthalb": 1.5, "eineinhalb": 1.5,
}  # fmt: skip

_PLACE_PREPOSITION = re.compile(
    r"\b(?:in\s+der\s+(?:naehe|gegend)\s+(?:von|vom|des|der|um)|close\s+to|near|around|nahe|bei|in|at"
    # "I am looking" and "Im (I'm) free" name no place; "Im Wedding" does.
    r"|(?<!\bi\s)am|im(?!\s+(?:looking|searching|trying|free|available|after|in\s+need)\b))\s+"
)
_ARTICLE = re.compile(r"(?:the|a|an|der|die|das|dem|den|einem|einer|einen)\s+")
_STOP_WORDS = frozenset(
    {
        "for", "on", "between", "after", "before", "until", "till", "from", "and", "or", "und", "oder", "please",
        "bitte", "asap", "thanks", "thank", "danke", "if", "wenn", "because", "weil", "with", "mit", "to", "i",
        "ich", "ideally", "idealerweise", "preferably", "maybe", "vielleicht", "moeglichst", "possibly", "but",
        "aber", "so", "zwischen", "nach", "vor", "ab", "bis", "um", "gerne", "gern", "next", "this", "naechste",
        "naechsten", "any", "irgendwann", "sometime", "need", "brauche", "want", "moechte",
    }
)  # fmt: skip
_TRAILING = frozenset(
    {"the", "a", "an", "some", "der", "die", "das", "dem", "den", "ein", "eine", "einen", "einem", "einer", "in", "at",
     "am", "im", "zum", "zur", "beim", "my", "mein", "meine", "meinen"}
)  # fmt: skip
_NO_PLACE = re.compile(
    r"(?:me|us|you|here|there|hier|dort|mir|uns|dir|town|the\s+city|my\s+\w+|meiner\s+\w+|naehe|gegend|area"
    r"|the\s+area|the\s+neighbou?rhood|the\s+vicinity|general|allgemeinen)\b"
)
_TIME_NOUNS = frozenset(
    {
        "day", "days", "week", "weeks", "month", "months", "morning", "afternoon", "evening", "time", "moment",
        "future", "tag", "tage", "tagen", "woche", "wochen", "monat", "monaten", "zeit", "zukunft", "january",
        "february", "march", "april", "may", "june", "july", "august", "september", "october", "november",
        "december", "januar", "februar", "maerz", "mai", "juni", "juli", "oktober", "dezember",
    }
)  # fmt: skip
_GERMAN_WORDS = frozenset(
    {
        "ich", "brauche", "suche", "einen", "eine", "einem", "termin", "bitte", "morgen", "uebermorgen", "heute",
        "naechste", "naechsten", "naechster", "naechstes", "kommende", "kommenden", "diese", "diesen", "dieses",
        "uhr", "nach", "vor", "zwischen", "und", "oder", "beim", "bei", "nahe", "naehe", "der", "dem", "des",
        "vormittag", "vormittags", "nachmittag", "nachmittags", "abend", "abends", "morgens", "mittags", "woche",
        "wochenende", "montag", "dienstag", "mittwoch", "donnerstag", "freitag", "samstag", "sonntag", "fuer",
        "mit", "gerne", "gern", "moeglichst", "irgendwann", "hallo", "danke", "stunde", "stunden", "minuten",
        "frueh", "spaeter", "ab", "bis", "im", "vom", "zum", "zur", "mein", "meine", "meinen", "wir", "brauchen",
        "einer", "sonnabend", "tagen",
    }
)  # fmt: skip
# A full stop ends the place unless it closes a short abbreviation ("St. Georg") or a house number follows
# ("Hauptstr. 5").
_PLACE_PUNCTUATION = re.compile(r"[,;!?()\n]|\.(?=\s|$)(?!\s+\d)(?<!\b\w\.)(?<!\b\w\w\.)(?<!\b\w\w\w\.)")
_UMLAUT = re.compile(r"[äöüß]", re.IGNORECASE)
_WORD = re.compile(r"[a-z]+")


def _zone(timezone: str) -> ZoneInfo:
    try:
        return ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidRequest(f"{timezone!r} is not a time zone I know (try Europe/Berlin).") from None


def _read_duration(folded: str) -> tuple[int, Span] | None:
    for match in _DURATION.finditer(folded):
        amount = float(match["num"].replace(",", ".")) if match["num"] else _DURATION_WORDS[match["word"]]
        minutes = amount * 60 if match["unit"].startswith(("h", "stunde")) else amount
        minutes += int(match["extra"] or 0)
        if MIN_DURATION_MINUTES <= minutes <= MAX_DURATION_MINUTES:
            return round(minutes), match.span()
    return None


def _inside(position: int, spans: Sequence[Span]) -> bool:
    return any(start <= position < end for start, end in spans)


def _read_location(text: FoldedText, taken: Sequence[Span]) -> tuple[str, Span] | None:
    """The place named after a place preposition, or ``None``."""
    folded = text.folded
    for preposition in _PLACE_PREPOSITION.finditer(folded):
        if _inside(preposition.start(), taken):
            continue
        start = preposition.end()
        while article := _ARTICLE.match(folded, start):
            start = article.end()
        if _inside(start, taken):
            continue  # "am Dienstag", "in the afternoon", "at the dentist"
        end = _place_end(folded, preposition.end(), taken)
        words = [w for w in re.finditer(r"\S+", folded[preposition.end() : end])]
        while words and words[-1].group(0).strip(".,:") in _TRAILING:
            words.pop()
        if not words:
            continue
        end = preposition.end() + words[-1].end()
        place = text.original_span(preposition.end(), end).strip(" \t\"'.,:-")
        head = folded[start:end]
        first_words = _WORD.findall(head)[:3]
        if not re.search(r"[^\W\d_]", place) or _NO_PLACE.match(head) or _TIME_NOUNS.intersection(first_words):
            continue
        return place, (preposition.end(), end)
    return None


def _place_end(folded: str, start: int, taken: Sequence[Span]) -> int:
    end = len(folded)
    if found := _PLACE_PUNCTUATION.search(folded, start):
        end = found.start()
    for span_start, _ in taken:
        if start <= span_start < end:
            end = span_start
    for word in re.finditer(r"[\w']+", folded[start:end]):
        if word.group(0) in _STOP_WORDS:
            return start + word.start()
    return end


def _is_german(text: FoldedText, ignore: Span | None) -> bool:
    outside = text.folded if ignore is None else text.folded[: ignore[0]] + " " + text.folded[ignore[1] :]
    original = text.original if ignore is None else text.original.replace(text.original_span(*ignore), " ")
    return bool(_UMLAUT.search(original)) or any(word in _GERMAN_WORDS for word in _WORD.findall(outside))


def parse_request(text: str, now: datetime, timezone: str = DEFAULT_TIMEZONE) -> ParsedRequest:
    """Understand ``text`` as an appointment request, relative to the aware ``now`` in ``timezone``.

    Raises ``InvalidRequest`` for a naive ``now`` or an unknown timezone.
    """
    ensure_aware(now, "current time")
    zone = _zone(timezone)
    folded = FoldedText.of(text)
    service = find_service(folded.folded)
    taken: list[Span] = []
    if service is not None:
        taken.append((service.start, service.end))
    duration = _read_duration(folded.folded)
    if duration is not None:
        taken.append(duration[1])
    duration_minutes = duration[0] if duration else default_duration(service.service if service else None)
    reading = read_times(folded, now, zone, duration_minutes)
    taken += reading.spans
    location = _read_location(folded, taken)
    if location is not None:
        taken.append(location[1])
    understood = reading.understood and not names_unknown_time(folded.folded, taken)
    windows = reading.windows if understood else []

    service_name = service.service if service else None
    place = location[0] if location else None
    german = (service is not None and service.german) or _is_german(folded, location[1] if location else None)
    return ParsedRequest(
        text=text,
        service=service_name,
        windows=windows,
        location=place,
        duration_minutes=duration_minutes,
        language="de" if german else "en",
        missing=missing_parts(service_name, windows, place),
    )


class OfflineIntentParser:
    """``IntentParser`` that needs no network: ``parse_request`` behind the async port."""

    async def parse(self, text: str, now: datetime, timezone: str) -> ParsedRequest:
        return parse_request(text, now, timezone)
