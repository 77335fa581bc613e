"""``python -m benchmarks [--quick] [--only latency,swarm,quality,outbox]``: run the benchmarks, print ``name: value``
lines and write them to ``benchmarks/results/latest.txt``."""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.latency import run_latency
from benchmarks.outbox import run_outbox
from benchmarks.quality import run_quality
from benchmarks.swarm import run_swarm

RESULTS = Path(__file__).resolve().parent / "results" / "latest.txt"
SUITES = ("latency", "swarm", "quality", "outbox")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="Smaller loads and fewer worlds (about a minute).")
    parser.add_argument("--only", default=",".join(SUITES), help="Comma-separated suites to run.")
    args = parser.parse_args(argv)
    chosen = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = set(chosen) - set(SUITES)
    if unknown:
        parser.error(f"unknown suite(s) {', '.join(sorted(unknown))}; choose from {', '.join(SUITES)}")

    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    results = RESULTS.open("w", encoding="utf-8")

    def emit(name: str, value: str) -> None:
        # Written as they come, so a run that breaks off still leaves what it measured.
        line = f"{name}: {value}"
        print(line, flush=True)
        results.write(line + "\n")
        results.flush()

    emit("run.started", datetime.now(UTC).isoformat(timespec="seconds"))
    emit("run.command", " ".join(["python -m benchmarks", *(argv if argv is not None else sys.argv[1:])]))
    emit("machine.cpus", str(os.cpu_count()))
    emit("machine.python", platform.python_version())
    emit("machine.platform", platform.platform())
    began = time.monotonic()
    try:
        _run(chosen, args.quick, emit)
    finally:
        emit("run.seconds", f"{time.monotonic() - began:.0f}")
        results.close()
    print(f"Written to {RESULTS}.", file=sys.stderr)
    return 0


def _run(chosen: list[str], quick: bool, emit: Callable[[str, str], None]) -> None:
    if "latency" in chosen:
        counts = [10, 100] if quick else [10, 100, 500]
        asyncio.run(run_latency(counts, 1.5 if quick else 4.0, emit))
    if "swarm" in chosen:
        asyncio.run(run_swarm([1, 10, 30] if quick else [1, 10, 100, 300], emit))
    if "quality" in chosen:
        asyncio.run(run_quality(30 if quick else 200, emit))
    if "outbox" in chosen:
        asyncio.run(run_outbox(30 if quick else 100, 300 if quick else 900, emit))


if __name__ == "__main__":
    sys.exit(main())
