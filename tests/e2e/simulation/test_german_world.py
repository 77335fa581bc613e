"""A German campaign end to end through ``nexus simulate``: German request, German front desks, a voicemail box
that answers first, a phone menu, and practices that open at 08:00 while the search starts at 07:50."""

from __future__ import annotations

import json
from typing import Any

from tests.e2e.simulation.conftest import WORLDS
from tests.e2e.simulation.test_cli import nexus

WORLD = WORLDS / "german_dentist_early_morning.json"


def _calls(result: dict[str, Any], provider_id: str, purpose: str = "DISCOVER") -> list[dict[str, Any]]:
    return [c for c in result["calls"] if c["provider_id"] == provider_id and c["purpose"] == purpose]


def test_a_german_campaign_reaches_every_desk_it_can_and_books_the_best_offer() -> None:
    done = nexus("simulate", "--world", WORLD, "--book", "best", "--json", "--transcripts")

    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["campaign"]["status"] == "CONFIRMED"
    # The best offer came from the practice whose voicemail answered first: it was called again and booked.
    assert result["appointment"] == {
        "provider_id": "z3",
        "start": "2026-12-08T08:30:00+01:00",
        "end": "2026-12-08T09:00:00+01:00",
    }
    confirm = _calls(result, "z3", "CONFIRM")
    assert [(c["status"], c["outcome"]) for c in confirm] == [("COMPLETED", "booked")]
    assert "fest buchen" in confirm[0]["transcript"][1]

    # Voicemail: no message left, the call ends at once with its own outcome, and one retry at 08:00.
    voicemail, retry = _calls(result, "z3")
    assert (voicemail["status"], voicemail["outcome"]) == ("COMPLETED", "voicemail")
    assert [line.split(":")[0] for line in voicemail["transcript"]] == ["provider"]  # the agent said nothing
    assert "Mailbox" in voicemail["transcript"][0]
    assert (retry["outcome"], retry["scheduled_for"]) == ("offer_made", "2026-12-07T08:00:00+01:00")

    # The phone menu: the agent pressed the key the menu named for appointments (2, not the first one heard).
    (menu,) = _calls(result, "z2")
    assert menu["outcome"] == "offer_made"
    assert menu["transcript"][:3] == [
        "provider: Willkommen bei Zahnmedizin am Alex. Für Rezeptbestellungen drücken Sie die 1. "
        "Für Termine drücken Sie die 2.",
        "agent: (drückt die 2)",
        "provider: Zahnmedizin am Alex, Sie sprechen mit der Anmeldung. Wie kann ich Ihnen helfen?",
    ]
    # Spoken German times were understood: "um Viertel nach acht" is 08:15 (the user is busy), so the agent
    # asks on and takes "um Viertel vor elf" = 10:45.
    assert "provider: Frei wäre Dienstag, der 8. Dezember, um Viertel nach acht." in menu["transcript"]
    assert "agent: Dienstag, der 8. Dezember, um 10:45 Uhr passt meiner Kundin." in menu["transcript"]

    # Closed at 07:50: z4 and z5 were dialled when they opened at 08:00; z6 opens after the deadline.
    for opens_at_eight in ("z4", "z5"):
        (call,) = _calls(result, opens_at_eight)
        assert (call["outcome"], call["scheduled_for"]) == ("offer_made", "2026-12-07T08:00:00+01:00")
    (closed,) = _calls(result, "z6")
    assert (closed["status"], closed["outcome"], closed["transcript"]) == ("CANCELLED", "closed", [])
    (at_once,) = _calls(result, "z1")
    assert "scheduled_for" not in at_once
    # The agent spoke German to every German desk, and said goodbye the German way.
    agent_lines = [line for c in result["calls"] for line in c["transcript"] if line.startswith("agent: ")]
    assert agent_lines and not any("client" in line or "goodbye" in line for line in agent_lines)
    assert sum("auf Wiederhören" in line for line in agent_lines) == 6  # five offers and the booking
    # Every call the agent spoke in opened with who is calling and that the call is transcribed.
    spoken = [
        [line for line in c["transcript"] if line.startswith("agent: ") and "drückt" not in line]
        for c in result["calls"]
    ]
    openings = [lines[0] for lines in spoken if lines]
    assert len(openings) == 6
    assert all("automatischer Assistent im Auftrag" in line and "transkribiert" in line for line in openings)
