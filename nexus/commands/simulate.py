"""``nexus simulate --world FILE [--book best|RANK] [--seed N] [--json] [--transcripts] [--days N]``: one campaign
on a world file; with ``--days`` the world runs over several simulated days (keep looking, waiting lists,
watching for an earlier slot, rescheduling), as its ``script`` says."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any


def _days(value: str) -> int:
    if value.isdigit() and 1 <= int(value) <= 60:
        return int(value)
    raise argparse.ArgumentTypeError("use a number of days from 1 to 60")


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
    parser.add_argument(
        "--days", type=_days, help="Run the world over this many simulated days (the world's script acts)."
    )
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from domain.errors import DomainError
    from integrations.simulation.world import WorldError, load_world
    from nexus.simulation import dumps, simulate_world

    try:
        world = load_world(args.world)
        text = args.world.read_text(encoding="utf-8")
        if args.days is not None:
            from nexus.simulation_days import days_summary, simulate_days

            result = asyncio.run(simulate_days(world, text, args.days, args.seed))
            print(dumps(result) if args.json else days_summary(result))
            return 0
        result = asyncio.run(simulate_world(world, text, args.seed, args.book, transcripts=args.transcripts))
    except (WorldError, DomainError) as exc:
        print(f"nexus simulate: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(dumps(result))
    else:
        print(summary(result))
    return 0


_PURPOSES = {
    "en": {"DISCOVER": "discovery", "CONFIRM": "booking", "CANCEL": "cancellation", "RESCHEDULE": "reschedule"},
    "de": {"DISCOVER": "Suche", "CONFIRM": "Buchung", "CANCEL": "Absage", "RESCHEDULE": "Verschiebung"},
}
# Call statuses and outcomes in German; English says them as stored, in lower case.
_WORDS_DE = {
    "completed": "beendet",
    "no answer": "keine Antwort",
    "busy": "besetzt",
    "failed": "fehlgeschlagen",
    "cancelled": "abgebrochen",
    "queued": "wartet",
    "dialing": "klingelt",
    "in progress": "im Gespräch",
    "offer made": "Angebot",
    "no availability": "nichts frei",
    "declined": "abgelehnt",
    "voicemail": "Mailbox",
    "closed": "geschlossen",
    "wrong number": "falsche Nummer",
    "booked": "gebucht",
    "cancelled appointment": "Termin abgesagt",
    "other": "anderes",
    "handed over": "übergeben",
    "call back later": "später zurückrufen",
    "waitlisted": "auf der Warteliste",
    "opted out": "möchte keine automatischen Anrufe",
    "skipped": "übersprungen",
}
# Why a provider was not called, by ``not_called``.
_NOT_CALLED = {
    "en": {
        "opted_out": "not called: did not want automated calls",
        "over_budget": "not called: called often enough today",
        "too_soon": "not called: called a moment ago",
        "known_full": "not called: known: nothing free before {time}",
        "call_back_later": "not called: asked to be called after {time}",
    },
    "de": {
        "opted_out": "nicht angerufen: möchte keine automatischen Anrufe",
        "over_budget": "nicht angerufen: heute schon oft genug angerufen",
        "too_soon": "nicht angerufen: gerade erst angerufen",
        "known_full": "nicht angerufen: bekannt: vor {time} nichts frei",
        "call_back_later": "nicht angerufen: möchte erst nach {time} angerufen werden",
    },
}
_TEXTS = {
    "en": {
        "campaign": "Campaign for {service}: {status}",
        "gone": "Booking {provider} for {slot} failed: the slot was gone. The other offers are still on the shortlist.",
        "calls": "Calls: {count}",
        "turns": "{count} turns",
        "later": "dialled {time}",
        "shortlist": "Shortlist:",
        "none": "  (none)",
        "score": "score {score:.4f}, {km:.2f} km",
        "booked": "Booked: {provider}, {slot}",
    },
    "de": {
        "campaign": "Suche nach {service}: {status}",
        "gone": "Die Buchung bei {provider} für {slot} ist gescheitert: die Zeit war schon vergeben. "
        "Die anderen Angebote stehen weiter zur Auswahl.",
        "calls": "Anrufe: {count}",
        "turns": "{count} Runden",
        "later": "angerufen {time}",
        "shortlist": "Auswahl:",
        "none": "  (keine)",
        "score": "Punkte {score:.4f}, {km:.2f} km",
        "booked": "Gebucht: {provider}, {slot}",
    },
}


def summary(result: dict[str, Any]) -> str:
    """The campaign in a few lines, in its own language: calls by provider name, the shortlist, the booking."""
    from domain.wording import service_in_words

    campaign = result["campaign"]
    lang = "de" if campaign.get("language") == "de" else "en"
    texts = _TEXTS[lang]
    zone = campaign.get("timezone", "Europe/Berlin")
    names = {c["provider_id"]: c.get("provider_name") or c["provider_id"] for c in result["calls"]}
    service = service_in_words(campaign["service"], lang, count=2)
    lines = [texts["campaign"].format(service=service, status=campaign["status"])]
    if campaign.get("failure_reason"):
        lines.append(f"  {campaign['failure_reason']}")
    chosen = result.get("chosen")
    if chosen and chosen["status"] == "UNAVAILABLE":
        provider = names.get(chosen["provider_id"], chosen["provider_id"])
        lines.append("  " + texts["gone"].format(provider=provider, slot=_when(chosen["start"], lang, zone)))
    lines.append(texts["calls"].format(count=len(result["calls"])))
    purposes = _PURPOSES[lang]
    width = max((len(names[c["provider_id"]]) for c in result["calls"]), default=0)
    shown = {c["purpose"] for c in result["calls"]} | {"DISCOVER", "CONFIRM", "CANCEL"}
    purpose_width = max(len(words) for purpose, words in purposes.items() if purpose in shown)
    for call in result["calls"]:
        said = [_word(call["status"], lang)] + ([_word(call["outcome"], lang)] if call["outcome"] else [])
        said.append(texts["turns"].format(count=call["turns"]))
        if call.get("not_called") in _NOT_CALLED[lang]:
            before = call.get("nothing_free_before") or call.get("call_after")
            said = [_NOT_CALLED[lang][call["not_called"]].format(time=_when(before, lang, zone) if before else "")]
        if call.get("scheduled_for"):
            said.append(texts["later"].format(time=_when(call["scheduled_for"], lang, zone)))
        purpose = purposes.get(call["purpose"], call["purpose"])
        lines.append(f"  {purpose:<{purpose_width}}  {names[call['provider_id']]:<{width}}  {', '.join(said)}")
        lines.extend(f"      {turn}" for turn in call.get("transcript", []))
    lines.append(texts["shortlist"])
    offers = result["shortlist"] or []
    name_width = max((len(o["provider_name"]) for o in offers), default=0)
    for offer in offers:
        score = texts["score"].format(score=offer["score"], km=offer["distance_km"])
        when = _when(offer["start"], lang, zone)
        lines.append(f"  {offer['rank']}. {offer['provider_name']:<{name_width}}  {when}  ({score})")
    if not offers:
        lines.append(texts["none"])
    if result["appointment"]:
        a = result["appointment"]
        provider = names.get(a["provider_id"], a["provider_id"])
        lines.append(texts["booked"].format(provider=provider, slot=_when(a["start"], lang, zone)))
    return "\n".join(lines)


def _when(iso: str, language: str, zone: str) -> str:
    """``Thursday 3 December at 15:00`` / ``Donnerstag, 3. Dezember um 15:00`` in the campaign's zone."""
    from datetime import datetime

    from domain.wording import day_in_words, time_in_words

    moment = datetime.fromisoformat(iso)
    joiner = "um" if language == "de" else "at"
    return f"{day_in_words(moment, zone, language)} {joiner} {time_in_words(moment, zone)}"


def _word(code: str, language: str) -> str:
    said = code.lower().replace("_", " ")
    return _WORDS_DE.get(said, said) if language == "de" else said
