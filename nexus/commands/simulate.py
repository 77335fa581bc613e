"""``nexus simulate --world FILE [--book best|RANK] [--seed N] [--json] [--transcripts]``: one campaign on a
world file."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any


def _book_choice(value: str) -> str:
    if value == "best" or (value.isdigit() and int(value) >= 1):
        return value
    raise argparse.ArgumentTypeError("use 'best' or a rank such as 2")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("simulate", help="Run one campaign on a world file, offline.")
    parser.add_argument("--world", required=True, type=Path, help="World file (JSON); see the README.")
    parser.add_argument("--book", type=_book_choice, help="Confirm an offer: 'best' or its rank.")
    parser.add_argument("--seed", type=int, default=0, help="Seed for the receptionists' choices.")
    parser.add_argument("--json", action="store_true", help="Print one JSON object.")
    parser.add_argument("--transcripts", action="store_true", help="Include what was said in every call.")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from domain.errors import DomainError
    from integrations.simulation.world import WorldError, load_world
    from nexus.simulation import dumps, simulate_world

    try:
        world = load_world(args.world)
        text = args.world.read_text(encoding="utf-8")
        result = asyncio.run(simulate_world(world, text, args.seed, args.book, transcripts=args.transcripts))
    except (WorldError, DomainError) as exc:
        print(f"nexus simulate: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(dumps(result))
    else:
        print(summary(result))
    return 0


def summary(result: dict[str, Any]) -> str:
    campaign = result["campaign"]
    lines = [f"Campaign {campaign['status']} for {campaign['service']}"]
    if campaign.get("failure_reason"):
        lines.append(f"  {campaign['failure_reason']}")
    lines.append(f"Calls: {len(result['calls'])}")
    for call in result["calls"]:
        outcome = f" ({call['outcome']})" if call["outcome"] else ""
        later = f", dialled at {call['scheduled_for']}" if call.get("scheduled_for") else ""
        lines.append(
            f"  {call['purpose']:<8} {call['provider_id']:<20} {call['status']}{outcome}, {call['turns']} turns{later}"
        )
        lines.extend(f"      {turn}" for turn in call.get("transcript", []))
    lines.append("Shortlist:")
    for offer in result["shortlist"] or []:
        lines.append(
            f"  {offer['rank']}. {offer['provider_name']}: {offer['start']} (score {offer['score']:.4f}, "
            f"{offer['distance_km']} km)"
        )
    if not result["shortlist"]:
        lines.append("  (none)")
    if result["appointment"]:
        a = result["appointment"]
        lines.append(f"Booked: {a['provider_id']} {a['start']} to {a['end']}")
    return "\n".join(lines)
