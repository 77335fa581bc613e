"""``examples/worlds/grounding_and_experts.json`` through ``nexus simulate``: one practice's agent reports a time
its receptionist never said (the world's ``agent_fault``); the made-up offer scores best but is marked
unverified and ranked after the true ones, and booking "best" books a true offer, re-stated to the
receptionist and booked only after the receptionist confirms it. The same world has the user in the loop: a
desk asks whether the client is new (the user answers through ask-user) and one wants the client on the line
(the call is handed over)."""

from __future__ import annotations

import json

from tests.e2e.simulation.conftest import WORLDS, Outcome
from tests.e2e.simulation.test_cli import nexus

WORLD = WORLDS / "grounding_and_experts.json"


def test_the_made_up_offer_is_kept_marked_and_not_top(outcomes: dict[str, Outcome]) -> None:
    result = outcomes["grounding_and_experts"]
    shortlist = result["shortlist"]
    made_up = next(o for o in shortlist if o["provider_id"] == "g1")
    assert made_up["start"] == "2026-12-02T08:00:00+01:00"  # the receptionist said only "halb zwölf"
    assert made_up["grounding"] == "unverified"
    assert made_up["score"] == max(o["score"] for o in shortlist)
    assert shortlist[-1] is made_up
    assert [o["grounding"] for o in shortlist[:-1]] == ["verified", "verified"]
    assert shortlist[0]["provider_id"] == "g2"


def test_the_same_world_asks_the_user_once_and_hands_one_call_over(outcomes: dict[str, Outcome]) -> None:
    result = outcomes["grounding_and_experts"]
    assert result["questions"] == [{"topic": "new_patient", "answer": "neue Patientin"}]
    outcome = {c["provider_id"]: c["outcome"] for c in result["calls"]}
    assert outcome["g4"] == "handed_over"
    assert "g4" not in {o["provider_id"] for o in result["shortlist"]}


def test_the_german_expert_answers_the_desk_and_a_true_offer_is_booked_after_the_receptionist_confirms_it() -> None:
    done = nexus("simulate", "--world", WORLD, "--book", "best", "--json", "--transcripts")

    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["campaign"]["status"] == "CONFIRMED"
    assert result["appointment"]["provider_id"] == "g2"
    (confirm,) = [c for c in result["calls"] if c["purpose"] == "CONFIRM"]
    said = confirm["transcript"]
    restated = next(i for i, line in enumerate(said) if line.startswith("agent:") and "10:30" in line)
    confirmed = next(i for i, line in enumerate(said) if line.startswith("provider:") and "eingetragen" in line)
    assert restated < confirmed
    assert confirm["outcome"] == "booked"

    # The German dentist expert: the desks ask what the expert knows, and the answers are the user's.
    campaign = result["campaign"]
    assert (campaign["language"], campaign["agent"]) == ("de", "dentist/de")
    assert campaign["answers"] == {"visit": "checkup", "insurance": "public"}
    (desk,) = [c for c in result["calls"] if c["provider_id"] == "g2" and c["purpose"] == "DISCOVER"]
    said = desk["transcript"]
    asked = said.index("provider: Geht es um eine Kontrolle, oder haben Sie Schmerzen?")
    assert said[asked + 1] == "agent: Eine Kontrolle."
    insurance = said.index("provider: Sind Sie gesetzlich oder privat versichert?")
    assert said[insurance + 1] == "agent: Gesetzlich versichert."
    assert insurance < next(i for i, line in enumerate(said) if line.startswith("provider: Frei wäre"))
