"""An appointment as an iCalendar file (RFC 5545) that any calendar app can import."""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from domain.models import Appointment

_LINE_LIMIT = 75  # octets per line, without the CRLF (RFC 5545 §3.1)


def ics_filename(appointment: Appointment, timezone: str) -> str:
    """``smile-dental-mitte-2026-12-01-1400.ics``: the provider and the local start, safe on any file system."""
    ascii_name = unicodedata.normalize("NFKD", appointment.provider.name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:40].strip("-") or "appointment"
    return f"{slug}-{appointment.start.astimezone(ZoneInfo(timezone)):%Y-%m-%d-%H%M}.ics"


def appointment_ics(appointment: Appointment, now: datetime, summary: str, domain: str = "nexus.invalid") -> bytes:
    """One ``VEVENT`` for ``appointment``; ``now`` stamps it, ``summary`` is its title."""
    provider = appointment.provider
    location = ", ".join(part for part in (provider.name, provider.address) if part)
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//NEXUS//Appointment booking//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        "BEGIN:VEVENT",
        f"UID:{appointment.id}@{domain}",
        f"SEQUENCE:{appointment.sequence}",  # one more each time the appointment moves: calendars update it
        f"DTSTAMP:{_utc(now)}",
        f"DTSTART:{_utc(appointment.start)}",
        f"DTEND:{_utc(appointment.end)}",
        f"SUMMARY:{_escape(summary)}",
        f"LOCATION:{_escape(location)}",
        f"DESCRIPTION:{_escape(f'Booked by NEXUS. Phone: {provider.phone}')}",
        "STATUS:CONFIRMED",
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return "".join(_fold(line) + "\r\n" for line in lines).encode()


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _escape(text: str) -> str:
    """TEXT value escaping: backslash, semicolon, comma and line breaks."""
    return (
        text.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
        .replace("\r", "\\n")
    )


def _fold(line: str) -> str:
    """Split after at most 75 octets, never inside a UTF-8 character; continuation lines start with a space."""
    parts: list[str] = []
    current, size, limit = "", 0, _LINE_LIMIT
    for char in line:
        width = len(char.encode())
        if size + width > limit:
            parts.append(current)
            current, size, limit = "", 0, _LINE_LIMIT - 1  # the leading space counts
        current += char
        size += width
    parts.append(current)
    return "\r\n ".join(parts)
