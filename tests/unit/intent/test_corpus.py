"""The offline parser against the labelled corpus (``tests/corpus``): the accuracy targets, and the corpus
itself staying what it claims to be."""

from __future__ import annotations

from collections import Counter

import pytest

from integrations.intent.offline import parse_request
from tests.corpus import Phrasing, Score, load_corpus, score

OVERALL_TARGET = 0.97
KIND_TARGET = 0.90


@pytest.fixture(scope="module")
def corpus() -> list[Phrasing]:
    return load_corpus()


@pytest.fixture(scope="module")
def offline_score(corpus: list[Phrasing]) -> Score:
    return score(corpus, lambda p: parse_request(p.text, p.now, p.timezone))


def test_the_corpus_is_large_bilingual_and_covers_every_kind(corpus: list[Phrasing]) -> None:
    assert len(corpus) >= 400
    languages = Counter(p.language for p in corpus)
    assert 0.4 <= languages["de"] / len(corpus) <= 0.6
    kinds = Counter(p.kind for p in corpus)
    expected_kinds = {
        "plain", "day_parts", "ranges", "explicit_dates", "relative_days", "places", "several_days",
        "typos_shorthand", "german_day_parts", "exclusions", "alternatives", "date_weekday", "weekday_ranges",
        "relative_weeks_months", "german_clock", "places_without_preposition", "after_before",
    }  # fmt: skip
    assert set(kinds) == expected_kinds
    assert min(kinds.values()) >= 20
    assert len({(p.text, p.now) for p in corpus}) == len(corpus), "a phrasing is in the corpus twice"
    assert all(p.now.tzinfo is not None for p in corpus)


def test_every_doubt_in_the_corpus_starts_with_the_windows_searched(corpus: list[Phrasing]) -> None:
    with_doubt = [p for p in corpus if p.doubt is not None]
    assert len(with_doubt) >= 8
    for phrasing in with_doubt:
        assert phrasing.doubt is not None
        assert phrasing.doubt[0] == phrasing.windows, phrasing.label
        assert 2 <= len(phrasing.doubt) <= 4, phrasing.label


def test_the_offline_parser_reads_the_corpus_to_target(offline_score: Score) -> None:
    report = "\n".join(offline_score.failures)
    assert offline_score.overall >= OVERALL_TARGET, f"{offline_score.overall:.1%} overall; wrong:\n{report}"


@pytest.mark.parametrize(
    "kind",
    sorted({p.kind for p in load_corpus()}),
)
def test_no_kind_of_phrasing_falls_below_target(offline_score: Score, kind: str) -> None:
    wrong = "\n".join(f for f in offline_score.failures if f.startswith(f"[{kind}]"))
    assert offline_score.accuracy(kind) >= KIND_TARGET, f"{kind}: {offline_score.accuracy(kind):.1%}; wrong:\n{wrong}"
