"""The services NEXUS understands: canonical English nouns, the words people use for them, and how long
an appointment usually takes, all read from the catalogue of services (``domain/services.json``).

``SERVICE_SYNONYMS`` maps each canonical service to every word or phrase that names it (English first, then
German). Matching is case-insensitive, on word boundaries, and tolerant of umlauts (``Zahnärztin`` and
``Zahnaerztin`` are the same word). A trailing plural ``s`` and German compounds ending in ``-termin`` or
``-praxis`` (``Zahnarzttermin``, ``Physiopraxis``) match as well. When several services are named, the one
mentioned first wins; a longer phrase beats a shorter one inside it (``eye doctor`` is an ophthalmologist,
not a doctor).

When no word names a service exactly, a misspelt one still does (``dentst``, ``Zahnartz``, ``hairdreser``):
single words of six letters or more are compared by ``_fuzzy.closest``, except those that are ordinary words
too (``glasses``, ``garage``, ``tires``, ``facial``, ``Reifen``, ``Brille``), which must be spelt right.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import NamedTuple

from domain.expertise import catalogue
from integrations.intent._fuzzy import closest
from integrations.intent._text import fold

UNKNOWN_SERVICE_DURATION_MINUTES = 30


class _Entry(NamedTuple):
    duration_minutes: int
    english: tuple[str, ...]
    german: tuple[str, ...]


# The services and their words come from the one catalogue of services (``domain/services.json``).
_SERVICES: dict[str, _Entry] = {
    name: _Entry(profile.minutes, profile.synonyms_en, profile.synonyms_de)
    for name, profile in catalogue().services.items()
}

SERVICE_SYNONYMS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {service: (service, *entry.english, *entry.german) for service, entry in _SERVICES.items()}
)
"""Canonical service -> every word that names it (the canonical noun itself first)."""

DEFAULT_DURATION_MINUTES: Mapping[str, int] = MappingProxyType(
    {service: entry.duration_minutes for service, entry in _SERVICES.items()}
)
"""Canonical service -> how many minutes its appointment usually takes."""


@dataclass(frozen=True, slots=True)
class ServiceMatch:
    """A service named in a folded text, where it was named, and whether the word was German."""

    service: str
    start: int
    end: int
    german: bool


def _pattern(word: str, german: bool) -> str:
    folded = re.escape(fold(word)).replace(r"\ ", r"\s+")
    # German compounds take an English word too ("Physiotermin").
    suffix = r"(?:s|termine?|praxis)?" if german else r"(?:s|termine?)?"
    return rf"(?<!\w){folded}{suffix}(?!\w)"


def _word_table() -> list[tuple[re.Pattern[str], str, bool]]:
    table: list[tuple[re.Pattern[str], str, bool]] = []
    for service, entry in _SERVICES.items():
        english = {fold(word) for word in (service, *entry.english)}
        for word in english:
            table.append((re.compile(_pattern(word, german=False)), service, False))
        # A word both languages share (e.g. "massage") says nothing about the language.
        for word in {fold(w) for w in entry.german} - english:
            table.append((re.compile(_pattern(word, german=True)), service, True))
    return table


_WORDS = _word_table()
# Synonyms that are ordinary words as well: a near miss of one of them is more likely another ordinary word.
_EXACT_ONLY = frozenset(
    {"garage", "glasses", "facial", "tires", "tyres", "reifen", "brille", "nails", "masseur", "masseuse", "physician"}
)
_FUZZY_WORDS: dict[str, tuple[str, bool]] = {}
for _service, _entry in _SERVICES.items():
    for _word in (_service, *_entry.english, *_entry.german):
        _folded = fold(_word)
        if " " not in _folded and len(_folded) >= 6 and _folded not in _EXACT_ONLY:
            _FUZZY_WORDS.setdefault(_folded, (_service, _word in _entry.german and _word not in _entry.english))
_SUFFIXES = ("termine", "termin", "praxis")
_TOKEN = re.compile(r"[a-z]+")


def service_words() -> frozenset[str]:
    """Every folded single word that is part of a service name (kept as they are by the spelling fixes)."""
    return frozenset(w for words in SERVICE_SYNONYMS.values() for phrase in words for w in fold(phrase).split())


_FUZZY_TABLE = {word: f"{service}|{int(german)}" for word, (service, german) in _FUZZY_WORDS.items()}


def _misspelt_service(folded_text: str) -> ServiceMatch | None:
    table = _FUZZY_TABLE
    for token in _TOKEN.finditer(folded_text):
        word = token.group(0)
        stem = next((word[: -len(s)] for s in _SUFFIXES if word.endswith(s) and len(word) > len(s) + 5), word)
        found = closest(stem, table) or (closest(word, table) if stem != word else None)
        if found is not None:
            service, german = found.split("|")
            return ServiceMatch(service, token.start(), token.end(), german == "1")
    return None


def find_service(folded_text: str) -> ServiceMatch | None:
    """The service named first in ``folded_text`` (see ``_text.fold``), or ``None``."""
    best: ServiceMatch | None = None
    for pattern, service, german in _WORDS:
        match = pattern.search(folded_text)
        if match is None:
            continue
        candidate = ServiceMatch(service, match.start(), match.end(), german)
        if best is None or (candidate.start, -candidate.end) < (best.start, -best.end):
            best = candidate
    return best if best is not None else _misspelt_service(folded_text)


def canonical_service(word: str) -> str | None:
    """The canonical service for ``word`` when the whole of it names one (``"Zahnärztin"`` -> ``"dentist"``)."""
    folded = " ".join(fold(word).split())
    match = find_service(folded)
    if match is None or match.start != 0 or match.end != len(folded):
        return None
    return match.service


def default_duration(service: str | None) -> int:
    """How many minutes to plan for ``service`` (30 when it is unknown)."""
    if service is None:
        return UNKNOWN_SERVICE_DURATION_MINUTES
    return DEFAULT_DURATION_MINUTES.get(service, UNKNOWN_SERVICE_DURATION_MINUTES)
