"""The calendar file: UTC times, escaped text, CRLF line endings, lines folded at 75 octets."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.ics import appointment_ics
from domain.models import Appointment
from tests.factories import make_provider

START = datetime(2026, 12, 1, 14, 30, tzinfo=ZoneInfo("Europe/Berlin"))


def test_event_in_utc_with_escaped_folded_text() -> None:
    provider = make_provider("p1", name="Zahnärzte; Müller, Schmidt & Partner " * 3)
    appointment = Appointment(7, "c1", "o1", provider, START, START + timedelta(minutes=30), START, id="a1")
    content = appointment_ics(appointment, datetime(2026, 11, 26, 8, 0, tzinfo=UTC), "Dentist: " + provider.name)

    assert content.endswith(b"END:VCALENDAR\r\n")
    assert b"\n" not in content.replace(b"\r\n", b"")
    lines = content.split(b"\r\n")[:-1]
    assert all(len(line) <= 75 for line in lines)
    assert b"DTSTART:20261201T133000Z" in lines and b"DTEND:20261201T140000Z" in lines
    assert b"DTSTAMP:20261126T080000Z" in lines and b"UID:a1@nexus.invalid" in lines
    unfolded = content.replace(b"\r\n ", b"").decode()
    assert "SUMMARY:Dentist: Zahnärzte\\; Müller\\, Schmidt & Partner " in unfolded
    assert "LOCATION:" in unfolded and "Street p1\\, Berlin" in unfolded


def test_a_moved_appointment_keeps_its_uid_with_a_higher_sequence() -> None:
    provider = make_provider("p1")
    booked = Appointment(7, "c1", "o1", provider, START, START + timedelta(minutes=30), START, id="a1")
    moved = Appointment(
        7, "c1", "o1", provider, START + timedelta(days=1), START + timedelta(days=1, minutes=30), START, id="a1"
    )
    moved.sequence = 1
    stamp = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)

    first, second = (appointment_ics(a, stamp, "Dentist").split(b"\r\n") for a in (booked, moved))

    assert b"UID:a1@nexus.invalid" in first and b"UID:a1@nexus.invalid" in second
    assert b"SEQUENCE:0" in first and b"SEQUENCE:1" in second
    assert b"DTSTART:20261202T133000Z" in second
