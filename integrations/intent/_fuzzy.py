"""Typo tolerance: which known word a misspelt one stands for, with limits that leave ordinary words alone.

A word is corrected only when it is at least ``MIN_LENGTH`` letters long, starts with the same letter as the
known word (people rarely mistype the first letter, and most ordinary look-alikes differ there), and is at
most one edit away (two from ``LONG_WORD`` letters on); an edit is an inserted, deleted or changed letter or
two neighbours swapped (optimal string alignment). When two known words are equally close the word is left
as it is. Words in ``ORDINARY_WORDS`` are never corrected: they are real words one edit from a known one
("message" is not "massage", "barter" is not "barber").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from rapidfuzz.distance import OSA

MIN_LENGTH = 5
LONG_WORD = 11

ORDINARY_WORDS = frozenset(
    {
        "message", "messages", "barter", "barker", "mechanical", "accounting", "dental", "tired", "garbage",
        "passage", "frisur", "morgan", "monat", "monate", "alter", "later", "mitten", "heute", "heuer",
        "abend", "weekly", "months", "mondays", "sunny", "fries", "fryday", "saturn", "tuesdays", "physik",
        "mechanik", "tierart", "tierarten", "hausart", "montage", "physics", "optik", "sundae",
    }
)  # fmt: skip


def allowed_edits(word: str) -> int:
    """How many edits a word of this length may be away from the known word it is read as."""
    if len(word) < MIN_LENGTH:
        return 0
    return 2 if len(word) >= LONG_WORD else 1


def closest(word: str, known: Mapping[str, str] | Iterable[str]) -> str | None:
    """The known word (or, for a mapping, the value of the known key) that ``word`` is a typo of, or ``None``.

    ``word`` and the known words are folded (``_text.fold``) already; an exact match is no typo and returns
    ``None`` too, so callers look words up exactly first.
    """
    limit = allowed_edits(word)
    if limit == 0 or word in ORDINARY_WORDS:
        return None
    table = known if isinstance(known, Mapping) else {k: k for k in known}
    best: set[str] = set()
    best_distance = limit + 1
    for candidate, meaning in table.items():
        if candidate == word:
            return None
        if candidate[:1] != word[:1] or abs(len(candidate) - len(word)) > limit:
            continue
        distance = OSA.distance(word, candidate, score_cutoff=limit)
        if distance > limit:
            continue
        if distance < best_distance:
            best, best_distance = {meaning}, distance
        elif distance == best_distance:
            best.add(meaning)
    return next(iter(best)) if len(best) == 1 else None
