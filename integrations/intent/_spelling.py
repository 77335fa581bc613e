"""How people really type time words, brought to the words the time rules read.

Applied to the folded text before anything is read, each change keeping the way back to the original words:

- chat shorthand: ``tmrw``/``2moro`` -> tomorrow, ``nxt`` -> next, ``wk`` -> week, ``nachm.``/``vorm.`` ->
  nachmittag/vormittag, German weekday abbreviations ``Mo Di Mi Fr`` (``Do Sa So`` only where they cannot be
  ordinary words: before a full stop or a dash, in a range, next to a part of the day or after ``am``/``ab``);
- misspelt time words (``tomorow``, ``nachmitag``, ``Mitwoch``) by ``_fuzzy.closest``;
- German clock words: ``halb 11`` 10:30, ``Viertel nach 9`` 9:15, ``Viertel vor 10`` and ``dreiviertel 10``
  9:45, and English ``half past 10``, ``quarter past 2``, ``quarter to 10``; ``9.30`` is 9:30;
- German parts after a day: ``Montag morgen``/``Montag früh`` is Monday morning (``morgen`` alone is
  tomorrow), ``in der Früh`` the morning.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from domain.wording import WEEKDAY_NUMBERS
from integrations.intent._fuzzy import closest
from integrations.intent._text import FoldedText

_SHORTHAND = {
    "tmrw": "tomorrow", "tmr": "tomorrow", "tmrow": "tomorrow", "tmro": "tomorrow", "tomoz": "tomorrow",
    "tommorow": "tomorrow", "tommorrow": "tomorrow", "tomorrw": "tomorrow", "2moro": "tomorrow",
    "2morrow": "tomorrow", "2mrw": "tomorrow", "2morow": "tomorrow", "2day": "today", "tdy": "today",
    "nxt": "next", "heut": "heute", "hute": "heute", "tody": "today", "todya": "today",
    "wk": "week", "wks": "weeks", "woch": "woche", "wochenend": "wochenende",
    "wensday": "wednesday", "wendsday": "wednesday", "wednsday": "wednesday", "wedensday": "wednesday",
    "thurday": "thursday", "thursdy": "thursday", "aftn": "afternoon", "arvo": "afternoon",
    "nachm": "nachmittag", "nachmi": "nachmittag", "vorm": "vormittag", "vormi": "vormittag", "abds": "abends",
    "mo": "montag", "di": "dienstag", "mi": "mittwoch", "fr": "freitag", "naechst": "naechste",
    "ubermorgen": "uebermorgen",
}  # fmt: skip
# German weekday abbreviations that are also ordinary words ("do", "so", "sa"): read only in context.
_GUARDED = {"do": "donnerstag", "sa": "samstag", "so": "sonntag"}
_ABBREVIATED = r"(?:mo|di|mi|do|fr|sa|so|montag|dienstag|mittwoch|donnerstag|freitag|samstag|sonntag)"
_GUARD_BEFORE = re.compile(
    rf"\s*(?:\.|-|bis\b|nachm|vorm|nachmittag|vormittag|abend|morgen|frueh|mittag|(?:,|oder|und)\s*{_ABBREVIATED}\b"
    r"|(?:um\s+|ab\s+)?\d{1,2}(?:[:.]\d{2})?(?:\s*-\s*\d{1,2}(?:[:.]\d{2})?)?\s*(?:uhr|h)\b)"
)
_GUARD_AFTER = re.compile(
    rf"(?:-|\b(?:bis|am|ab|naechsten|kommenden|jeden|ausser|nicht|ohne)|\b{_ABBREVIATED}\s*(?:,|oder|und))\s*$"
)

_TIME_WORDS = frozenset(
    {
        *(word for word in WEEKDAY_NUMBERS if len(word) >= 6),
        "tomorrow", "today", "uebermorgen", "morgen", "morning", "mornings", "afternoon", "afternoons",
        "evening", "evenings", "vormittag", "vormittags", "nachmittag", "nachmittags", "morgens", "abends",
        "mittags", "mittag", "naechste", "naechsten", "naechster", "naechstes", "woche", "wochen", "wochenende",
        "weekend", "between", "zwischen", "except", "ausser", "uebernaechste", "uebernaechsten", "kommende",
        "kommenden", "januar", "january", "februar", "february", "september", "oktober", "october",
        "november", "dezember", "december", "viertel", "dreiviertel", "quarter", "anfang", "beginning",
        "middle", "monats", "spaeter",
    }
)  # fmt: skip
# Only words of six letters or more are corrected: shorter ones ("halbe", "heute", "woche") have too many
# ordinary neighbours; their usual misspellings are in the shorthand table instead.
_TIME_WORDS = frozenset(word for word in _TIME_WORDS if len(word) >= 6)
_WORD = re.compile(r"[a-z0-9]+")


def _hour_text(said: int, hour: int, minute: int) -> str:
    """``hour:minute`` written so the clock rules read it as meant: a morning hour the person said as 8 or
    later ("halb 8" is 7:30) keeps a leading zero, so it is not taken for the afternoon."""
    hour = hour % 24
    if hour == 0 and said in (0, 1, 12, 13):
        hour = 12
    return f"{hour:02d}:{minute:02d}" if hour < 8 <= said else f"{hour}:{minute:02d}"


def _before(said: int, minute: int) -> str:
    return _hour_text(said, said - 1 if said > 1 else 12, minute)


_CLOCK_WORDS: list[tuple[re.Pattern[str], Callable[[int], str]]] = [
    (re.compile(r"\bdrei\s*viertel\s+(\d{1,2})\b(?!:)"), lambda h: _before(h, 45)),
    (re.compile(r"\bviertel\s+nach\s+(\d{1,2})\b(?!:)"), lambda h: _hour_text(h, h, 15)),
    (re.compile(r"\bviertel\s+vor\s+(\d{1,2})\b(?!:)"), lambda h: _before(h, 45)),
    (re.compile(r"\bhalb\s+(\d{1,2})\b(?!:)"), lambda h: _before(h, 30)),
    (re.compile(r"\b(?:a\s+)?quarter\s+past\s+(\d{1,2})\b(?!:)"), lambda h: _hour_text(h, h, 15)),
    (re.compile(r"\b(?:a\s+)?quarter\s+to\s+(\d{1,2})\b(?!:)"), lambda h: _before(h, 45)),
    (re.compile(r"\bhalf\s+past\s+(\d{1,2})\b(?!:)"), lambda h: _hour_text(h, h, 30)),
]
# "9.30" is a clock time: no month is numbered 00, 15, 30 or 45, so it cannot be a date.
_DOTTED_TIME = re.compile(r"(?<![\d.])(\d{1,2})\.(00|15|30|45)(?![\d.])")
_WEEKDAY_FULL = "(?:montag|dienstag|mittwoch|donnerstag|freitag|samstag|sonntag|sonnabend)"
_DAY_THEN_MORGEN = re.compile(rf"\b{_WEEKDAY_FULL}\s+(morgens?|frueh)\b")
_DAY_THEN_FRUEH = re.compile(r"\b(?:heute|morgen|uebermorgen)\s+(frueh)\b")
_AROUND = re.compile(r"\b(\d{1,2}(?::\d{2})?)\s*-?ish\b|\bum\s+(\d{1,2}(?::\d{2})?)(?:\s+uhr)?\s+(?:rum|herum)\b")
_AFTER_A_MEAL = re.compile(
    r"\b(?:(?P<after>after|nach\s+(?:dem|der))|(?P<before>before|vor\s+(?:dem|der)))\s+"
    r"(?:lunch|lunchtime|(?:the\s+)?lunch\s+break|mittagessen|mittagspause|mittag)\b"
)
# Words that sound like times but say none: greetings, and "not too early" (no part of the day is meant).
_NO_TIME = re.compile(
    r"\b(?:good\s+(?:morning|afternoon|evening)|guten\s+(?:morgen|tag|abend)|morning\s+all|"
    r"nicht\s+(?:zu|so)\s+frueh|not\s+too\s+early|not\s+too\s+late|nicht\s+(?:zu|so)\s+spaet)\b"
)
# "14-16h": the hour mark of a range.
_RANGE_IN_HOURS = re.compile(r"\b(\d{1,2})\s*-\s*(\d{1,2})\s*h\b")
_IN_DER_FRUEH = re.compile(r"\b(?:in\s+der|am)\s+frueh\b|\bfrueh\s+morgens\b")


def _word_edits(text: FoldedText, protected: frozenset[str]) -> list[tuple[int, int, str]]:
    folded = text.folded
    edits = []
    for match in _WORD.finditer(folded):
        word, (start, end) = match.group(0), match.span()
        replacement = _SHORTHAND.get(word)
        in_context = _GUARD_BEFORE.match(folded, end) or _GUARD_AFTER.search(folded[:start])
        if replacement is None and word in _GUARDED and in_context:
            replacement = _GUARDED[word]
        if replacement is None and word not in protected and not word.isdigit():
            replacement = closest(word, _TIME_WORDS)
        if replacement is not None and replacement != word:
            edits.append((start, end, replacement))
    return edits


def _phrase_edits(folded: str) -> list[tuple[int, int, str]]:
    edits: list[tuple[int, int, str]] = []
    for pattern, write in _CLOCK_WORDS:
        for match in pattern.finditer(folded):
            said = int(match.group(1))
            if 1 <= said <= 24:
                edits.append((match.start(), match.end(), write(said)))
    for match in _DOTTED_TIME.finditer(folded):
        edits.append((match.start(), match.end(), f"{match.group(1)}:{match.group(2)}"))
    for pattern in (_DAY_THEN_MORGEN, _DAY_THEN_FRUEH):
        for match in pattern.finditer(folded):
            edits.append((match.start(1), match.end(1), "vormittag"))
    for match in _AROUND.finditer(folded):
        edits.append((match.start(), match.end(), f"around {match.group(1) or match.group(2)}"))
    for match in _AFTER_A_MEAL.finditer(folded):
        edits.append((match.start(), match.end(), "after 14:00" if match["after"] else "before 12:00"))
    for match in _NO_TIME.finditer(folded):
        edits.append((match.start(), match.end(), "hello"))
    for match in _RANGE_IN_HOURS.finditer(folded):
        edits.append((match.start(), match.end(), f"{match.group(1)}-{match.group(2)} uhr"))
    for match in _IN_DER_FRUEH.finditer(folded):
        edits.append((match.start(), match.end(), "vormittags"))
    edits.sort()
    kept: list[tuple[int, int, str]] = []
    for edit in edits:
        if not kept or edit[0] >= kept[-1][1]:
            kept.append(edit)
    return kept


def respell(text: FoldedText, protected: frozenset[str] = frozenset()) -> FoldedText:
    """``text`` with shorthand, misspelt time words and clock words rewritten as the time rules read them;
    words in ``protected`` (service and place words) are never corrected."""
    text = text.replaced(_word_edits(text, protected))
    return text.replaced(_phrase_edits(text.folded))
