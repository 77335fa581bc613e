"""The grounding check against the receptionist corpus (``tests/corpus/grounding.json``), and the corpus staying
what it claims to be."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from domain.grounding import ground_offer
from domain.models import Turn

CORPUS = Path(__file__).resolve().parents[2] / "corpus" / "grounding.json"


@dataclass(frozen=True)
class Case:
    kind: str
    language: str
    turns: list[Turn]
    offer: datetime
    verified: bool

    @property
    def label(self) -> str:
        said = " / ".join(f"{t.speaker}: {t.text}" for t in self.turns)
        return f"[{self.language} {self.kind}] {self.offer:%a %d %b %H:%M} <- {said}"


def _load() -> tuple[datetime, str, list[Case]]:
    data = json.loads(CORPUS.read_text(encoding="utf-8"))
    now = datetime.fromisoformat(data["now"])
    zone = ZoneInfo(data["timezone"])
    cases = [
        Case(
            c["kind"],
            c["language"],
            [Turn(speaker, text, now) for speaker, text in c["turns"]],
            datetime.strptime(c["offer"], "%Y-%m-%d %H:%M").replace(tzinfo=zone),
            c["verified"],
        )
        for c in data["cases"]
    ]
    return now, data["timezone"], cases


NOW, TIMEZONE, CASES = _load()


def test_the_corpus_is_bilingual_with_tricky_negatives() -> None:
    languages = Counter(c.language for c in CASES)
    assert languages["en"] >= 25 and languages["de"] >= 25
    negatives = Counter(c.kind for c in CASES if not c.verified)
    for kind in ("refused", "declined", "retracted", "invented", "other_time", "agent_only"):
        assert negatives[kind] >= 1, kind
    assert sum(c.verified for c in CASES) >= 40


@pytest.mark.parametrize("case", CASES, ids=[f"{i}-{c.language}-{c.kind}" for i, c in enumerate(CASES)])
def test_the_check_reads_each_case_as_labelled(case: Case) -> None:
    grounding = ground_offer(case.offer, case.turns, NOW, TIMEZONE)
    assert grounding.verified is case.verified, f"{case.label}: {grounding.evidence}"


def test_a_verified_offer_quotes_the_receptionist() -> None:
    turns = [Turn("agent", "Anything on Thursday?", NOW), Turn("provider", "Yes, at twenty past ten.", NOW)]
    grounding = ground_offer(datetime(2026, 12, 3, 10, 20, tzinfo=ZoneInfo(TIMEZONE)), turns, NOW, TIMEZONE)
    assert grounding.verified
    assert grounding.evidence == "Yes, at twenty past ten."


def test_an_empty_transcript_supports_nothing() -> None:
    grounding = ground_offer(datetime(2026, 12, 3, 10, 0, tzinfo=ZoneInfo(TIMEZONE)), [], NOW, TIMEZONE)
    assert not grounding.verified


def test_the_offer_is_read_in_the_campaign_timezone() -> None:
    turns = [Turn("provider", "I could offer Tuesday 8 December at 14:30.", NOW)]
    utc = datetime(2026, 12, 8, 13, 30, tzinfo=ZoneInfo("UTC"))  # 14:30 in Berlin
    assert ground_offer(utc, turns, NOW, TIMEZONE).verified
    assert not ground_offer(utc, turns, NOW, "Europe/London").verified
