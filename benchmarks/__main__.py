"""``python -m benchmarks [--quick] [--only latency,swarm,quality]``: run the benchmarks, print ``name: value``
lines and write them to ``benchmarks/results/latest.txt``."""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.latency import run_latency
from benchmarks.quality import run_quality
from benchmarks.swarm import run_swarm

RESULTS = Path(__file__).resolve().parent / "results" / "latest.txt"
SUITES = ("latency", "swarm", "quality")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="Smaller loads and fewer worlds (about a minute).")
    parser.add_argument("--only", default=",".join(SUITES), help="Comma-separated suites to run.")
    args = parser.parse_args(argv)
    chosen = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = set(chosen) - set(SUITES)
    if unknown:
        parser.error(f"unknown suite(s) {', '.join(sorted(unknown))}; choose from {', '.join(SUITES)}")

    lines: list[str] = []

    def emit(name: str, value: str) -> None:
        line = f"{name}: {value}"
        lines.append(line)
        print(line, flush=True)

    emit("run.started", datetime.now(UTC).isoformat(timespec="seconds"))
    emit("run.command", "python -m benchmarks" + (" --quick" if args.quick else ""))
    emit("machine.cpus", str(os.cpu_count()))
    emit("machine.python", platform.python_version())
    emit("machine.platform", platform.platform())
    began = time.monotonic()
    if "latency" in chosen:
        counts = [10, 100] if args.quick else [10, 100, 500]
        asyncio.run(run_latency(counts, 1.5 if args.quick else 4.0, emit))
    if "swarm" in chosen:
        asyncio.run(run_swarm([1, 10, 30] if args.quick else [1, 10, 100, 300], emit))
    if "quality" in chosen:
        asyncio.run(run_quality(30 if args.quick else 200, emit))
    emit("run.seconds", f"{time.monotonic() - began:.0f}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"Written to {RESULTS}.", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
