"""``nexus parse TEXT``: show how NEXUS understands a request, without calling anyone."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from nexus.settings import Settings

if TYPE_CHECKING:
    from domain.intent import ParsedRequest
    from domain.models import TimeWindow

_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MISSING = {"service": "what kind of appointment", "windows": "when", "location": "where"}
_LANGUAGES = {"en": "English", "de": "German"}
_LABEL_WIDTH = len("Still needed: ")


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser(
        "parse",
        help="show how a request is understood (service, time windows, place)",
        description="Show how NEXUS understands a request such as "
        "'dentist next Tuesday afternoon near Alexanderplatz'. Works offline.",
    )
    parser.add_argument("text", nargs="+", metavar="TEXT", help="the request, as a person would write it")
    parser.add_argument(
        "--now",
        metavar="ISO8601",
        help="pretend it is this moment, e.g. 2026-11-26T09:00+01:00 (without an offset: in --tz); default: now",
    )
    parser.add_argument("--tz", metavar="ZONE", help="the person's time zone, e.g. Europe/Berlin (default: setting)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a summary")
    parser.set_defaults(handler=handle_parse)


def handle_parse(args: argparse.Namespace) -> int:
    """Parse the request and print what was understood."""
    timezone: str = args.tz or Settings().default_timezone
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return _fail(f"{timezone!r} is not a time zone I know; try one like Europe/Berlin.")
    if args.now is None:
        now = datetime.now(zone)
    else:
        try:
            now = datetime.fromisoformat(args.now)
        except ValueError:
            return _fail(f"{args.now!r} is not a date and time I can read; try one like 2026-11-26T09:00+01:00.")
        if now.tzinfo is None:
            now = now.replace(tzinfo=zone)

    # Imported here so that other commands do not pay for loading the parser's language data.
    from integrations.intent.offline import parse_request

    request = parse_request(" ".join(args.text), now, timezone)
    print(json.dumps(as_json(request), ensure_ascii=False) if args.json else summary(request, zone))
    return 0


def _fail(sentence: str) -> int:
    print(f"nexus parse: {sentence}", file=sys.stderr)
    return 2


def as_json(request: ParsedRequest) -> dict[str, object]:
    """The request as plain JSON values; datetimes in ISO 8601 with their offset."""
    return {
        "text": request.text,
        "service": request.service,
        "windows": [_window_json(w) for w in request.windows],
        "location": request.location,
        "duration_minutes": request.duration_minutes,
        "language": request.language,
        "missing": list(request.missing),
        "doubts": [
            {
                "question": doubt.question,
                "options": [
                    {"label": option.label, "windows": [_window_json(w) for w in option.windows]}
                    for option in doubt.options
                ],
            }
            for doubt in request.doubts
        ],
    }


def _window_json(window: TimeWindow) -> dict[str, str]:
    return {"start": window.start.isoformat(), "end": window.end.isoformat()}


def summary(request: ParsedRequest, zone: ZoneInfo) -> str:
    """A few lines a person can read at a glance."""
    when = [_window_text(w.start.astimezone(zone), w.end.astimezone(zone)) for w in request.windows] or ["—"]
    rows = [
        ("Service:", request.service or "—"),
        ("When:", when[0]),
        *(("", line) for line in when[1:]),
        ("Where:", request.location or "—"),
        ("Length:", f"{request.duration_minutes} minutes"),
        ("Language:", _LANGUAGES.get(request.language, request.language)),
        ("Still needed:", ", ".join(_MISSING.get(m, m) for m in request.missing) or "—"),
    ]
    for doubt in request.doubts:
        # The windows above are the first option's; the person is asked which option they mean.
        rows.append(("Unsure:", doubt.question))
        for number, option in enumerate(doubt.options, start=1):
            times = ", ".join(_window_text(w.start.astimezone(zone), w.end.astimezone(zone)) for w in option.windows)
            rows.append(("", f"{number}. {option.label}: {times or '—'}"))
    return "\n".join(f"{label:<{_LABEL_WIDTH}}{value}" for label, value in rows)


def _window_text(start: datetime, end: datetime) -> str:
    # Spelt out here rather than with strftime("%a %b"), which follows the machine's locale.
    day = f"{_WEEKDAYS[start.weekday()]} {start.day} {_MONTHS[start.month - 1]}"
    return f"{day} {start:%H:%M}–{end:%H:%M}"
