"""Is an offer grounded in what the receptionist said? A pure check of one offer against a call's transcript.

A voice agent now and then reports a time nobody said. ``ground_offer`` answers whether the receptionist's
own words support the offer's date and time, and quotes the words that do. It reads English and German the
way front desks speak: ``14:30``, ``2 pm``, ``half past two``, ``quarter to four``, ``ten to four``,
``half three``; ``um 15 Uhr``, ``9 Uhr 30``, ``halb drei`` (14:30), ``Viertel nach drei``, ``Viertel vor
vier``, ``fünf vor halb drei``, ``drei viertel zehn``; dates as ``Tuesday 8 December``, ``the 3rd``,
``December 10th``, ``tomorrow``, ``next Tuesday``, ``a week from Tuesday``; ``Dienstag, der 8. Dezember``,
``am 10.12.``, ``am Dritten``, ``übermorgen``, ``Dienstag in einer Woche``, ``Montag nächste Woche``.

Conventions (lenient where people are ambiguous, strict where a fault would hide):
- A twelve-hour word or number without ``am``/``pm`` may be either half of the day (``halb drei`` is 02:30 or
  14:30); the offer's time must be one of them.
- A time takes its date from a date said right after it (``11 on Monday``), else the last date said before
  it in the same utterance, else the last turn (of either side) that named a date: ``Yes, at ten`` after
  ``Anything on Thursday?`` is Thursday at ten. A time with no date anywhere supports nothing.
- A clause that says no (``taken``, ``not``, ``nothing``, ``vergeben``, ``geht nicht``, ``weg``) or only
  names opening hours supports none of its times; a clause that takes a time back without naming one
  (``that one has just been taken``, ``der ist jetzt weg``) withdraws the times of the clause before it in
  the same utterance. The last word on a time counts.
- ``Yes, that works`` / ``Ja, das passt`` right after the agent proposed a time supports the agent's time;
  a mere acknowledgement (``Noted``) does not.
- Only the receptionist's (``provider``) words support an offer; the agent's words only give dates context.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from domain.models import Turn

RECEPTIONIST = "provider"

__all__ = ["Grounding", "ground_offer"]


@dataclass(frozen=True, slots=True)
class Grounding:
    """The answer: ``verified`` when the receptionist's words support the offer; ``evidence`` quotes them (or
    says why not)."""

    verified: bool
    evidence: str


# --- words -----------------------------------------------------------------------------------------------

_WEEKDAYS = {
    "monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4, "saturday": 5, "sunday": 6,
    "montag": 0, "dienstag": 1, "mittwoch": 2, "donnerstag": 3, "freitag": 4, "samstag": 5, "sonnabend": 5,
    "sonntag": 6,
}  # fmt: skip
_MONTHS = {
    "january": 1, "february": 2, "march": 3, "april": 4, "may": 5, "june": 6, "july": 7, "august": 8,
    "september": 9, "october": 10, "november": 11, "december": 12,
    "januar": 1, "jänner": 1, "februar": 2, "märz": 3, "mai": 5, "juni": 6, "juli": 7, "oktober": 10,
    "dezember": 12,
}  # fmt: skip
_HOURS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "eleven": 11, "twelve": 12,
    "eins": 1, "ein": 1, "zwei": 2, "drei": 3, "vier": 4, "fünf": 5, "sechs": 6, "sieben": 7, "acht": 8,
    "neun": 9, "zehn": 10, "elf": 11, "zwölf": 12, "dreizehn": 13, "vierzehn": 14, "fünfzehn": 15,
    "sechzehn": 16, "siebzehn": 17, "achtzehn": 18, "neunzehn": 19, "zwanzig": 20,
}  # fmt: skip
_MINUTES = {
    "five": 5, "ten": 10, "fifteen": 15, "twenty": 20, "twenty-five": 25, "twenty five": 25, "thirty": 30,
    "forty": 40, "forty-five": 45, "forty five": 45, "fifty": 50, "o five": 5,
    "fünf": 5, "zehn": 10, "fünfzehn": 15, "zwanzig": 20, "fünfundzwanzig": 25, "dreißig": 30, "vierzig": 40,
    "fünfundvierzig": 45, "fünfzig": 50,
}  # fmt: skip
_ORDINALS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8,
    "ninth": 9, "tenth": 10,
    "ersten": 1, "zweiten": 2, "dritten": 3, "vierten": 4, "fünften": 5, "sechsten": 6, "siebten": 7,
    "achten": 8, "neunten": 9, "zehnten": 10, "elften": 11, "zwölften": 12,
}  # fmt: skip


def _alternation(words: Iterable[str]) -> str:
    return "|".join(sorted((re.escape(w) for w in words), key=len, reverse=True))


_WD = _alternation(_WEEKDAYS)
_MO = _alternation(_MONTHS)
_HW = _alternation(_HOURS)
_MW = _alternation(_MINUTES)
_OW = _alternation(_ORDINALS)
_H = rf"(?:\d{{1,2}}|{_HW})"  # an hour as a number or a word
_SUFFIX = r"(?:st|nd|rd|th)"
_AMPM = r"(?:a\.?m\.?|p\.?m\.?)"

# --- dates ----------------------------------------------------------------------------------------------

# Each pattern names its parts; the longest match at a place wins.
_DATE_PATTERNS = [
    re.compile(r"\b(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})\b"),
    re.compile(rf"(?:\b(?:{_WD}),?\s+)?\b(?P<d>\d{{1,2}})\.(?P<m>\d{{1,2}})\.(?P<y>\d{{2,4}})?"),
    re.compile(
        rf"(?:\b(?:{_WD}),?\s+)?(?:\b(?:der|den|dem|am|the)\s+)?\b(?P<d>\d{{1,2}})(?:\.|{_SUFFIX})?"
        rf"(?:\s+of)?\s+(?P<mn>{_MO})\b"
    ),
    re.compile(rf"\b(?P<mn>{_MO})\s+(?:the\s+)?(?P<d>\d{{1,2}}){_SUFFIX}?\b"),
    re.compile(rf"(?:\b(?:{_WD}),?\s+)?\b(?:the|den|am|dem)\s+(?P<od>{_OW})(?:\s+(?P<mn>{_MO}))?\b"),
    re.compile(rf"(?:\b(?:{_WD}),?\s+)?\bthe\s+(?P<d>\d{{1,2}}){_SUFFIX}\b"),
    re.compile(r"\b(?:am|den)\s+(?P<d>\d{1,2})\.(?!\d)"),
    re.compile(rf"\b(?:a\s+week\s+from\s+|next\s+week\s+(?:on\s+)?|nächste\s+woche\s+)(?P<wk>{_WD})\b"),
    re.compile(
        rf"\b(?P<wk>{_WD})\s+(?:week|next\s+week|in\s+a\s+week|in\s+einer\s+woche|nächste\s+woche"
        rf"|kommende\s+woche|in\s+acht\s+tagen)\b"
    ),
    re.compile(rf"\b(?P<next>next|coming|nächsten|nächster|kommenden)\s+(?P<w>{_WD})\b"),
    re.compile(rf"\b(?P<w>{_WD})\b"),
    re.compile(r"\b(?P<rel>day after tomorrow|übermorgen|today|tomorrow|heute|in a week|in einer woche)\b"),
    re.compile(r"(?<!guten )(?<!good )\b(?P<rel>morgen)\b(?!s)"),
]

_RELATIVE = {
    "today": 0, "heute": 0, "tomorrow": 1, "morgen": 1, "day after tomorrow": 2, "übermorgen": 2,
    "in a week": 7, "in einer woche": 7,
}  # fmt: skip


def _next_on_or_after(today: date, month: int, day: int, year: int | None = None) -> set[date]:
    years = [year] if year is not None else [today.year, today.year + 1]
    for candidate_year in years:
        try:
            candidate = date(candidate_year, month, day)
        except ValueError:
            continue
        if year is not None or candidate >= today:
            return {candidate}
    return set()


def _upcoming(today: date, weekday: int, *, include_today: bool) -> date:
    ahead = (weekday - today.weekday()) % 7
    if ahead == 0 and not include_today:
        ahead = 7
    return today + timedelta(days=ahead)


def _dates(match: re.Match[str], today: date) -> set[date]:
    parts = {k: v for k, v in match.groupdict().items() if v is not None}
    if "rel" in parts:
        return {today + timedelta(days=_RELATIVE[parts["rel"]])}
    if "wk" in parts:  # a week from that weekday
        first = _upcoming(today, _WEEKDAYS[parts["wk"]], include_today=False)
        return {first + timedelta(days=7), first}
    if "w" in parts:
        weekday = _WEEKDAYS[parts["w"]]
        if "next" in parts:
            first = _upcoming(today, weekday, include_today=False)
            return {first, first + timedelta(days=7)}
        first = _upcoming(today, weekday, include_today=True)
        return {first, first + timedelta(days=7)} if first == today else {first}
    day = _ORDINALS[parts["od"]] if "od" in parts else int(parts["d"])
    if "mn" in parts:
        month: int | None = _MONTHS[parts["mn"]]
    elif "m" in parts:
        month = int(parts["m"])
    else:
        month = None
    year = None
    if "y" in parts:
        year = int(parts["y"]) + (2000 if len(parts["y"]) == 2 else 0)
    if month is None:  # "the 3rd": the next such day of a month
        for offset in range(0, 3):
            first = today.replace(day=1)
            month_start = (first + timedelta(days=32 * offset)).replace(day=1)
            try:
                candidate = month_start.replace(day=day)
            except ValueError:
                continue
            if candidate >= today:
                return {candidate}
        return set()
    if not 1 <= month <= 12:
        return set()
    return _next_on_or_after(today, month, day, year)


# --- times ----------------------------------------------------------------------------------------------


def _hour(word: str) -> int:
    return int(word) if word.isdigit() else _HOURS[word]


def _either_half(hour: int, minute: int) -> set[tuple[int, int]]:
    """``(hour, minute)`` and, for a twelve-hour reading, the same time in the other half of the day."""
    if not (0 <= hour <= 24 and 0 <= minute < 60):
        return set()
    hour %= 24
    if 1 <= hour <= 12:
        return {(hour % 12, minute), (hour % 12 + 12, minute)}
    return {(hour, minute)}


def _before(hour: int, minutes: int) -> set[tuple[int, int]]:
    """``minutes`` before the full ``hour`` (both halves of the day)."""
    result = set()
    for h, _ in _either_half(hour, 0):
        total = (h * 60 - minutes) % (24 * 60)
        result.add((total // 60, total % 60))
    return result


def _after(hour: int, minutes: int) -> set[tuple[int, int]]:
    return {(h, minutes) for h, _ in _either_half(hour, 0)}


def _ampm(hour: int, minute: int, marker: str) -> set[tuple[int, int]]:
    if not (1 <= hour <= 12 and 0 <= minute < 60):
        return set()
    return {((hour % 12) + (12 if marker.startswith("p") else 0), minute)}


_MIN = rf"(?:\d{{1,2}}|{_MW})"


def _minutes(word: str) -> int:
    return int(word) if word.isdigit() else _MINUTES[word]


_TIME_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(rf"\b(?P<h>\d{{1,2}})[:.](?P<m>\d{{2}})\s*(?P<ap>{_AMPM})?(?:\s*uhr)?"), "clock"),
    (re.compile(rf"\b(?P<h>\d{{1,2}})\s*(?P<ap>{_AMPM})(?!\w)"), "ampm"),
    (re.compile(rf"\b(?P<h>{_H})\s+uhr(?:\s+(?P<m>{_MIN})\b)?"), "uhr"),
    (re.compile(rf"\b(?P<h>{_H})\s+o'?\s?clock\b"), "full"),
    (re.compile(rf"\b(?P<n>{_MIN})\s+(?:minutes\s+)?(?P<dir>vor|nach)\s+halb\s+(?P<h>{_H})\b"), "around_half"),
    (re.compile(rf"\bhalf\s+past\s+(?P<h>{_H})\b"), "half_past"),
    (re.compile(rf"\bhalb\s+(?P<h>{_H})\b"), "halb"),
    (re.compile(rf"\bhalf\s+(?P<h>{_H})\b"), "half_past"),  # British "half three" is 15:30
    (re.compile(rf"\bquarter\s+(?P<dir>past|after|to|before)\s+(?P<h>{_H})\b"), "quarter"),
    (re.compile(rf"\b(?:drei\s*viertel|dreiviertel)\s+(?P<h>{_H})\b"), "three_quarters"),
    (re.compile(rf"\bviertel\s+(?P<dir>nach|vor)\s+(?P<h>{_H})\b"), "quarter"),
    (re.compile(rf"\bviertel\s+(?P<h>{_H})\b"), "viertel"),
    (re.compile(rf"\b(?P<n>{_MIN})\s+(?:minutes\s+)?(?P<dir>past|after|to|nach|vor)\s+(?P<h>{_H})\b"), "minutes"),
    (re.compile(rf"\b(?P<h>{_HW})\s+(?P<m>{_MW})\b"), "spoken_pair"),  # "two thirty"
    (re.compile(r"\b(?:noon|midday|mittag)\b"), "noon"),
    # a bare hour counts only where a time is plainly meant: "at 3", "um zehn", "or 11 on Monday"
    (
        re.compile(
            rf"\b(?:at|um|or|oder|gegen|around|ab|from|before|vor|until|bis)\s+(?P<h>{_H})\b(?![.:]\d)"
            rf"(?!\s+(?:minutes|minuten|people|leute|patients|patienten|days|tage|weeks|wochen))"
        ),
        "bare",
    ),
    (re.compile(r"\b(?P<h>\d{1,2})\s+(?=(?:on|am|in\s+the)\s)"), "bare"),
]


def _times(match: re.Match[str], kind: str) -> set[tuple[int, int]]:
    g = match.groupdict()
    if kind == "noon":
        return {(12, 0)}
    hour = _hour(g["h"])
    if kind == "clock":
        minute = int(g["m"])
        return _ampm(hour, minute, g["ap"]) if g.get("ap") else _either_half(hour, minute)
    if kind == "ampm":
        return _ampm(hour, 0, g["ap"])
    if kind == "uhr":
        return _either_half(hour, _minutes(g["m"]) if g.get("m") else 0)
    if kind in ("full", "bare"):
        return _either_half(hour, 0)
    if kind == "spoken_pair":
        return _either_half(hour, _minutes(g["m"]))
    if kind == "half_past":
        return _after(hour, 30)
    if kind == "halb":
        return _before(hour, 30)
    if kind == "three_quarters":
        return _before(hour, 15)
    if kind == "viertel":  # regional "viertel drei" is 2:15
        return _before(hour, 45)
    if kind == "quarter":
        return _after(hour, 15) if g["dir"] in ("past", "after", "nach") else _before(hour, 15)
    if kind == "minutes":
        n = _minutes(g["n"])
        return _after(hour, n) if g["dir"] in ("past", "after", "nach") else _before(hour, n)
    if kind == "around_half":
        n = _minutes(g["n"])
        return _before(hour, 30 - n) if g["dir"] == "nach" else _before(hour, 30 + n)
    raise AssertionError(kind)


# --- clauses and what they say ---------------------------------------------------------------------------

_NO = re.compile(
    r"\b(?:not|no|nothing|none|never|can't|cannot|couldn't|won't|isn't|wasn't|don't|doesn't|taken|gone|booked"
    r"|full|unavailable|closed|open|opens|closes|no longer|nicht|nichts|kein|keine|keinen|nein|vergeben|belegt"
    r"|weg|ausgebucht|besetzt|voll|geschlossen|geöffnet|öffnen|schließen|schon weg)\b"
)
_NOT_A_NO = re.compile(r"\b(?:no problem|not a problem|no worries|kein problem|keine ursache|no,? wait)\b")
_TAKE_BACK = re.compile(
    r"\b(?:taken|gone|booked|no longer|vergeben|weg|belegt|ausgebucht|doch nicht|nicht mehr|just went)\b"
)
_YES = re.compile(
    r"^\s*(?:yes|yeah|yep|sure|of course|certainly|fine|that works|that's fine|perfect|great|absolutely"
    r"|ja|jawohl|gerne|gern|klar|natürlich|passt|das passt|das geht|geht klar|in ordnung|einverstanden|prima"
    r"|super|sehr gut|geht)\b"
)
_CLAUSE_BREAK = re.compile(r"[.!?;,…]+|\s(?:but|however|aber|jedoch|sondern|dafür|oh|ach)\s|\s-\s")
_DATE_JOINER = re.compile(r"^\s*,?\s*(?:on|am|at|this|next|the|den|dem|,)?\s*$")


@dataclass(frozen=True, slots=True)
class _Mention:
    start: int
    end: int
    text: str


@dataclass(frozen=True, slots=True)
class _DateMention(_Mention):
    dates: frozenset[date]


@dataclass(frozen=True, slots=True)
class _TimeMention(_Mention):
    times: frozenset[tuple[int, int]]


def _find(text: str, today: date) -> tuple[list[_DateMention], list[_TimeMention]]:
    """Date and time mentions in ``text`` (lower case), longest first where they overlap."""
    taken: list[tuple[int, int]] = []

    def free(start: int, end: int) -> bool:
        return all(end <= s or start >= e for s, e in taken)

    dates: list[_DateMention] = []
    found = [(m, p) for p in _DATE_PATTERNS for m in p.finditer(text)]
    for match, _ in sorted(found, key=lambda mp: (-(mp[0].end() - mp[0].start()), mp[0].start())):
        if free(match.start(), match.end()):
            values = _dates(match, today)
            if values:
                taken.append((match.start(), match.end()))
                dates.append(_DateMention(match.start(), match.end(), match.group(0), frozenset(values)))
    times: list[_TimeMention] = []
    found_times = [(m, kind) for pattern, kind in _TIME_PATTERNS for m in pattern.finditer(text)]
    for match, kind in sorted(found_times, key=lambda mk: (-(mk[0].end() - mk[0].start()), mk[0].start())):
        if free(match.start(), match.end()):
            clock = _times(match, kind)
            if clock:
                taken.append((match.start(), match.end()))
                times.append(_TimeMention(match.start(), match.end(), match.group(0), frozenset(clock)))
    return sorted(dates, key=lambda d: d.start), sorted(times, key=lambda t: t.start)


def _clauses(text: str, protected: list[_Mention]) -> list[tuple[int, int]]:
    """Spans of the clauses of ``text``; breaks inside a date or time (``9.30``, ``2.12.``) do not count."""
    spans, begin = [], 0
    for brk in _CLAUSE_BREAK.finditer(text):
        if any(m.start <= brk.start() < m.end for m in protected):
            continue
        spans.append((begin, brk.start()))
        begin = brk.end()
    spans.append((begin, len(text)))
    return [(s, e) for s, e in spans if text[s:e].strip()]


def _says_no(clause: str) -> bool:
    return _NO.search(_NOT_A_NO.sub(" ", clause)) is not None


@dataclass(frozen=True, slots=True)
class _Claim:
    """One time said with its date, and whether it was offered (``True``) or refused (``False``)."""

    dates: frozenset[date]
    times: frozenset[tuple[int, int]]
    offered: bool
    words: str


@dataclass(frozen=True, slots=True)
class _Heard:
    speaker: str
    text: str
    dates: list[_DateMention]
    claims: list[_Claim]
    first_clause: str


def _listen(turns: Sequence[Turn], today: date) -> list[_Heard]:
    heard: list[_Heard] = []
    context: frozenset[date] = frozenset()  # the last date named in an earlier turn
    for turn in turns:
        text = turn.text.lower()
        dates, times = _find(text, today)
        spans = _clauses(text, [*dates, *times])
        claims: list[_Claim] = []
        previous_offers: list[_Claim] = []
        for start, end in spans:
            clause = text[start:end]
            in_clause = [t for t in times if start <= t.start < end]
            dated = [d for d in dates if start <= d.start < end]
            no = _says_no(clause)
            if not in_clause:
                if no and not dated and _TAKE_BACK.search(clause):
                    claims += [_Claim(c.dates, c.times, False, clause.strip()) for c in previous_offers]
                continue
            current: list[_Claim] = []
            for mention in in_clause:
                when = _date_of(mention, dates, text, context)
                current.append(_Claim(when, mention.times, not no, clause.strip()))
            claims += current
            previous_offers = [c for c in current if c.offered]
        first = text[spans[0][0] : spans[0][1]] if spans else ""
        heard.append(_Heard(turn.speaker, turn.text, dates, claims, first))
        if dates:
            context = dates[-1].dates
    return heard


def _date_of(mention: _TimeMention, dates: list[_DateMention], text: str, context: frozenset[date]) -> frozenset[date]:
    after = next((d for d in dates if d.start >= mention.end), None)
    if after is not None and _DATE_JOINER.match(text[mention.end : after.start]):
        return after.dates
    before = [d for d in dates if d.end <= mention.start]
    if before:
        return before[-1].dates
    if after is not None:  # "at 3 pm, on Friday" or "3 pm is fine. Friday, then"
        return after.dates
    return context


def ground_offer(start: datetime, turns: Sequence[Turn], reference: datetime, timezone: str) -> Grounding:
    """Whether the receptionist's words in ``turns`` support an offer starting at ``start``.

    ``reference`` is when the call took place (dates without a year, weekdays and ``tomorrow`` are read from
    it); ``timezone`` the campaign's, in which the receptionist speaks. Pure: no clock, no storage.
    """
    zone = ZoneInfo(timezone)
    local = start.astimezone(zone)
    wanted_day, wanted_time = local.date(), (local.hour, local.minute)
    heard = _listen(turns, reference.astimezone(zone).date())
    verdict: tuple[bool, str] | None = None
    for index, turn in enumerate(heard):
        if turn.speaker != RECEPTIONIST:
            continue
        for claim in turn.claims:
            if wanted_day in claim.dates and wanted_time in claim.times:
                verdict = (claim.offered, turn.text.strip() if claim.offered else claim.words)
        proposal = heard[index - 1] if index > 0 else None
        agreed = _YES.search(turn.first_clause) and not _says_no(turn.first_clause)
        if agreed and proposal is not None and proposal.speaker != RECEPTIONIST:
            for claim in proposal.claims:
                if claim.offered and wanted_day in claim.dates and wanted_time in claim.times:
                    verdict = (True, f"{proposal.text.strip()} / {turn.text.strip()}")
    if verdict is None:
        return Grounding(False, "The receptionist never named this date and time.")
    offered, words = verdict
    if not offered:
        return Grounding(False, f"The receptionist turned this time down: {words}")
    return Grounding(True, words)
