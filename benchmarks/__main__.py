"""``python -m benchmarks [--quick] [--only parsing,latency,scale,swarm,quality,outbox,grounding] [--rounds R]
[--seconds S]``:
run the benchmarks, print ``name: value`` lines and write them to ``benchmarks/results/latest.txt``."""

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

from benchmarks.grounding import run_grounding
from benchmarks.latency import run_latency
from benchmarks.outbox import run_outbox
from benchmarks.parsing import run_parsing
from benchmarks.quality import run_quality
from benchmarks.scale import run_scale_out
from benchmarks.swarm import run_swarm

RESULTS = Path(__file__).resolve().parent / "results" / "latest.txt"
SUITES = ("parsing", "latency", "scale", "swarm", "quality", "outbox", "grounding")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="Smaller loads and fewer worlds (about a minute).")
    parser.add_argument("--only", default=",".join(SUITES), help="Comma-separated suites to run.")
    parser.add_argument("--agents", type=int, default=100, help="Concurrent agents of the latency runs.")
    parser.add_argument("--rounds", type=int, default=3, help="Interleaved rounds per latency target.")
    parser.add_argument(
        "--databases", default="sqlite,postgres_redis", help="Comma-separated databases of the latency runs."
    )
    parser.add_argument("--seconds", type=float, default=3.0, help="Seconds per target and round.")
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
        _run(chosen, args, emit)
    finally:
        emit("run.seconds", f"{time.monotonic() - began:.0f}")
        results.close()
    print(f"Written to {RESULTS}.", file=sys.stderr)
    return 0


def _run(chosen: list[str], args: argparse.Namespace, emit: Callable[[str, str], None]) -> None:
    quick = args.quick
    rounds, seconds = (2, 1.5) if quick else (args.rounds, args.seconds)
    emit("machine.load_average", " ".join(f"{x:.2f}" for x in os.getloadavg()))
    if "parsing" in chosen:
        run_parsing(emit)
    if "latency" in chosen:
        kinds = [k.strip() for k in args.databases.split(",") if k.strip()]
        asyncio.run(run_latency(args.agents, rounds, seconds, emit, kinds))
    if "scale" in chosen:
        asyncio.run(run_scale_out(args.agents, rounds, seconds, emit))
    if "swarm" in chosen:
        asyncio.run(run_swarm([1, 10, 30] if quick else [1, 10, 100, 300], emit))
    if "quality" in chosen:
        asyncio.run(run_quality(30 if quick else 200, emit))
    if "outbox" in chosen:
        asyncio.run(run_outbox(30 if quick else 100, 300 if quick else 900, emit))
    if "grounding" in chosen:
        asyncio.run(run_grounding(30 if quick else 200, emit))


if __name__ == "__main__":
    sys.exit(main())
