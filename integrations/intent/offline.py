"""The offline intent parser: our own rules plus ``dateparser``, no network.

What it reads (the time conventions are in ``integrations.intent.windows``):

- ``service``: the canonical service of the first service word (``integrations.intent.vocabulary``).
- ``location``: the place after ``near``, ``in``, ``at``, ``around``, ``close to``, ``bei``, ``beim``, ``in der
  Nähe von``, ``nahe``, ``am`` or ``im``, up to punctuation or the next time phrase, service word or connecting
  word (``for``, ``on``, ``and``, ``bitte``…). ``am Dienstag``, ``in the afternoon``, ``at 3pm``, ``near me``
  and ``in der Nähe`` name no place. A misspelt gazetteer name after a preposition is given corrected
  (``am Hackeschen Markt`` -> ``Hackescher Markt``). Without a preposition, a gazetteer name anywhere among
  the words left over is the place as written (``dentist tomorrow, Alexanderplatz``, ``Berlin Mitte``), except
  names that are ordinary words too (``wedding``, ``zoo``, ``alex``).
- ``doubts``: a written date whose weekday is not the one named with it (``Monday, Dec 8``), or a word next
  to the time that looks like a part of the day but could not be read (``tomorrow mrng``), gives one question
  with short options in the request's language; the windows are then the first option's.
- ``duration_minutes``: ``for 45 minutes``, ``1 hour``, ``half an hour``, ``eine Stunde``, ``90 Minuten``,
  ``anderthalb Stunden`` (5 minutes to 8 hours), else the service's usual length (30 when unknown).
- ``language``: ``"de"`` when a German word, a German service word or an umlaut appears outside the place
  name, else ``"en"``.
- ``missing``: ``"service"`` and ``"location"`` when not found; ``"windows"`` when a time phrase could not
  be understood (``dentist on Blursday``) or every window named is already over. No time at all is not
  missing: it means the next seven days.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from rapidfuzz import fuzz

from domain.errors import InvalidRequest
from domain.intent import ParsedRequest, missing_parts
from domain.models import DEFAULT_TIMEZONE, ensure_aware
from integrations.directory import find_place, place_names
from integrations.intent._doubts import PART_WORDS, date_doubt, part_of_day_doubt
from integrations.intent._fuzzy import closest
from integrations.intent._spelling import respell
from integrations.intent._text import FoldedText
from integrations.intent.vocabulary import default_duration, find_service, service_words
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
    r"\b(?:in\s+der\s+(?:naehe|gegend)\s+(?:von|vom|des|der|um)|close\s+to|near|around|nahe|beim|bei|in|at"
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
    r"|liebsten|besten|ehesten|schnellsten|fruehesten|spaetesten|wochenende|anfang|ende"
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
        return _corrected_place(place), (preposition.end(), end)
    return None


def _corrected_place(place: str) -> str:
    """A misspelt gazetteer name as the gazetteer spells it; any other place text as it was written."""
    if find_place(place) is not None:
        return place
    names = place_names()
    key = " ".join(_WORD.findall(FoldedText.of(place).folded))
    found = closest(key, {name: name for name in names})
    return place if found is None else names[found].name


# Gazetteer names that are ordinary words as well; they name a place only after a preposition.
_NOT_A_BARE_PLACE = frozenset({"wedding", "zoo", "alex", "old town", "east station", "main station"})
_SEGMENT_END = re.compile(r"[,;!?()\n]|\.(?=\s|$)")
_TOKEN = re.compile(r"[a-z0-9'-]+")
_BARE_PLACE_WORDS = 4


def _bare_place(text: FoldedText, taken: Sequence[Span]) -> tuple[str, Span] | None:
    """A gazetteer name among the words no other reading took, without a preposition before it."""
    folded = text.folded
    tokens = [t for t in _TOKEN.finditer(folded) if not _inside(t.start(), taken)]
    runs: list[list[re.Match[str]]] = []
    for token in tokens:
        previous = runs[-1][-1] if runs else None
        between = folded[previous.end() : token.start()] if previous else ""
        joined = (
            previous is not None
            and not _SEGMENT_END.search(between)
            and not any(previous.end() <= s < token.start() for s, _ in taken)
        )
        if joined:
            runs[-1].append(token)
        else:
            runs.append([token])
    for length in range(_BARE_PLACE_WORDS, 0, -1):
        for run in runs:
            for first in range(len(run) - length + 1):
                words = run[first : first + length]
                phrase = " ".join(w.group(0) for w in words)
                if phrase in _NOT_A_BARE_PLACE or words[0].group(0) in _STOP_WORDS:
                    continue
                if " ".join(_WORD.findall(phrase)) in place_names() or (length > 1 and find_place(phrase)):
                    span = (words[0].start(), words[-1].end())
                    return text.original_span(*span).strip(" \t\"'.,:-"), span
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
    folded = respell(FoldedText.of(text), _protected_words())
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
    location = _read_location(folded, taken) or _bare_place(folded, taken)
    if location is not None:
        taken.append(location[1])
    understood = reading.understood and not names_unknown_time(folded.folded, taken)
    windows = reading.windows if understood else []

    service_name = service.service if service else None
    place = location[0] if location else None
    german = (service is not None and service.german) or _is_german(folded, location[1] if location else None)
    language = "de" if german else "en"
    doubts = []
    if windows and reading.date_doubts:
        doubts = [date_doubt(reading.date_doubts[0], language)]
    elif windows and (unread := _unread_part_word(folded, taken)) is not None:
        doubts = part_of_day_doubt(folded, unread.span(), reading.windows, now, zone, duration_minutes, language)
    if doubts:
        windows = doubts[0].options[0].windows
    return ParsedRequest(
        text=text,
        service=service_name,
        windows=windows,
        location=place,
        duration_minutes=duration_minutes,
        language=language,
        missing=missing_parts(service_name, windows, place),
        doubts=doubts,
    )


@functools.cache
def _protected_words() -> frozenset[str]:
    """Words the spelling fixes leave alone: service and place words and the small words around them."""
    places = {word for name in place_names() for word in name.split()}
    return service_words() | places | _STOP_WORDS | _GERMAN_WORDS | _TRAILING


_LOOKS_LIKE_A_PART = 70  # rapidfuzz ratio: "mrng" and "evng" reach it, "event" and "even" do not
_NOT_A_PART = frozenset(
    {"event", "events", "even", "every", "never", "morgan", "evenly", "after", "mittagessen", "abendessen", "abendbrot",
     "morgenmuffel", "nachmittagskaffee", "afterwards"}
)  # fmt: skip


def _unread_part_word(folded: FoldedText, taken: Sequence[Span]) -> re.Match[str] | None:
    """A word no reading took that looks like a part of the day (``mrng``, ``nchmtgs``) but is none."""
    for token in _WORD.finditer(folded.folded):
        word = token.group(0)
        if len(word) < 4 or _inside(token.start(), taken) or word in _NOT_A_PART or word in _protected_words():
            continue
        if max(fuzz.ratio(word, part) for part in PART_WORDS) >= _LOOKS_LIKE_A_PART:
            return token
    return None


class OfflineIntentParser:
    """``IntentParser`` that needs no network: ``parse_request`` behind the async port."""

    async def parse(self, text: str, now: datetime, timezone: str) -> ParsedRequest:
        return parse_request(text, now, timezone)
