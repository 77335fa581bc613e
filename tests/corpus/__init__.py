"""The labelled phrasing corpus and how a reading is scored against it (shared by the tests and the
benchmark)."""

from __future__ import annotations

import json
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from domain.intent import ParsedRequest
from domain.models import TimeWindow
from integrations.directory import find_place

CORPUS = Path(__file__).resolve().parent / "parsing.json"
LocalWindow = tuple[str, str, str]


@dataclass(frozen=True, slots=True)
class Phrasing:
    """One labelled request: what was typed, when and where, and how it must be read."""

    kind: str
    text: str
    language: str
    now: datetime
    timezone: str
    service: str | None
    windows: tuple[LocalWindow, ...]
    location: str | None
    doubt: tuple[tuple[LocalWindow, ...], ...] | None

    @property
    def label(self) -> str:
        return f"[{self.kind}] {self.text!r} at {self.now.isoformat()}"


def _windows(rows: Iterable[Iterable[str]]) -> tuple[LocalWindow, ...]:
    return tuple(sorted((str(d), str(a), str(b)) for d, a, b in rows))


def load_corpus() -> list[Phrasing]:
    """Every phrasing of the corpus, in file order."""
    raw = json.loads(CORPUS.read_text(encoding="utf-8"))["phrasings"]
    return [
        Phrasing(
            kind=entry["kind"],
            text=entry["text"],
            language=entry["language"],
            now=datetime.fromisoformat(entry["now"]),
            timezone=entry["timezone"],
            service=entry["service"],
            windows=_windows(entry["windows"]),
            location=entry["location"],
            doubt=None if entry.get("doubt") is None else tuple(_windows(option) for option in entry["doubt"]),
        )
        for entry in raw
    ]


def local_windows(windows: Iterable[TimeWindow], timezone: str) -> tuple[LocalWindow, ...]:
    """Windows as sorted ``(date, start, end)`` in local time, the corpus's own form."""
    zone = ZoneInfo(timezone)
    rows = []
    for window in windows:
        start, end = window.start.astimezone(zone), window.end.astimezone(zone)
        rows.append((start.date().isoformat(), f"{start:%H:%M}", f"{end:%H:%M}"))
    return tuple(sorted(rows))


def _plain(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold().replace("ß", "ss"))
    return " ".join("".join(c if c.isalnum() else " " for c in decomposed if not unicodedata.combining(c)).split())


def same_place(expected: str | None, found: str | None) -> bool:
    """Whether two place texts name the same place: equal but for case, accents and punctuation, or the same
    gazetteer entry ("Berlin Mitte" and "Mitte")."""
    if expected is None or found is None:
        return expected is found
    if _plain(expected) == _plain(found):
        return True
    place = find_place(expected)
    return place is not None and place == find_place(found)


def mismatches(phrasing: Phrasing, reading: ParsedRequest) -> list[str]:
    """What ``reading`` got wrong about ``phrasing``, one readable line each (empty when all is right)."""
    problems = []
    if reading.service != phrasing.service:
        problems.append(f"service {reading.service!r}, expected {phrasing.service!r}")
    got = local_windows(reading.windows, phrasing.timezone)
    if got != phrasing.windows:
        problems.append(f"windows {list(got)}, expected {list(phrasing.windows)}")
    if reading.language != phrasing.language:
        problems.append(f"language {reading.language!r}, expected {phrasing.language!r}")
    if not same_place(phrasing.location, reading.location):
        problems.append(f"location {reading.location!r}, expected {phrasing.location!r}")
    options = [local_windows(o.windows, phrasing.timezone) for d in reading.doubts for o in d.options]
    if phrasing.doubt is None and reading.doubts:
        problems.append(f"asks {reading.doubts[0].question!r} although the request reads one way")
    elif phrasing.doubt is not None and options != list(phrasing.doubt):
        problems.append(f"doubt options {options}, expected {list(phrasing.doubt)}")
    return problems


@dataclass(frozen=True, slots=True)
class Score:
    """How many phrasings of each kind were read right, and what went wrong with the others."""

    right: Counter[str]
    total: Counter[str]
    failures: list[str]

    @property
    def overall(self) -> float:
        return sum(self.right.values()) / max(1, sum(self.total.values()))

    def accuracy(self, kind: str) -> float:
        return self.right[kind] / max(1, self.total[kind])


def score(corpus: Iterable[Phrasing], read: Callable[[Phrasing], ParsedRequest]) -> Score:
    """Read every phrasing with ``read`` and count what came out right."""
    right: Counter[str] = Counter()
    total: Counter[str] = Counter()
    failures = []
    for phrasing in corpus:
        total[phrasing.kind] += 1
        problems = mismatches(phrasing, read(phrasing))
        if problems:
            failures.append(f"{phrasing.label}: " + "; ".join(problems))
        else:
            right[phrasing.kind] += 1
    return Score(right, total, failures)
