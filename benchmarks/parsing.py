"""Parsing accuracy: the offline parser over the labelled corpus in ``tests/corpus``, per kind of phrasing and
overall, and how long one reading takes."""

from __future__ import annotations

import time
from collections.abc import Callable

from integrations.intent.offline import parse_request
from tests.corpus import load_corpus, score


def run_parsing(emit: Callable[[str, str], None]) -> None:
    corpus = load_corpus()
    began = time.perf_counter()
    result = score(corpus, lambda p: parse_request(p.text, p.now, p.timezone))
    elapsed = time.perf_counter() - began
    for kind in sorted(result.total):
        emit(f"parsing.{kind}", f"{result.accuracy(kind):.1%} ({result.right[kind]}/{result.total[kind]})")
    emit("parsing.overall", f"{result.overall:.1%} ({sum(result.right.values())}/{len(corpus)})")
    emit("parsing.ms_per_request", f"{elapsed * 1000 / len(corpus):.2f}")
    for failure in result.failures:
        emit("parsing.wrong", failure)
