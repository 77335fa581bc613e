"""``nexus demo ["REQUEST"] [--near PLACE] [--book]``: one whole campaign on the bundled directory, offline,
with a live view of the calls, the ranked shortlist, and optionally the confirmation call."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

PLAIN_WIDTH = 200


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("demo", help="Run a whole campaign offline, with a live view.")
    parser.add_argument("request", nargs="?", default="dentist tomorrow afternoon", help="What you need, in words.")
    parser.add_argument("--near", default="Alexanderplatz", help="Where to search (a place in Berlin or Munich).")
    parser.add_argument("--book", action="store_true", help="Confirm the best offer by phone.")
    parser.add_argument("--seed", type=int, default=7, help="Seed for the simulated receptionists.")
    parser.add_argument("--timezone", default="Europe/Berlin", help="Your timezone.")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from rich.console import Console

    from domain.errors import DomainError
    from nexus.demo import run_demo

    console = Console()
    if not console.is_terminal:
        console = Console(width=PLAIN_WIDTH)  # piped: wide enough that no table wraps or cuts a cell
    try:
        asyncio.run(run_demo(console, args.request, args.near, args.book, args.seed, args.timezone))
    except DomainError as exc:
        console.print(f"[red]{exc}[/red]")
        return 1
    return 0
