"""The user in the loop, simulated end to end: receptionists ask about the client, the scripted user answers
(or does not), a receptionist wants the client in person and the call is put through."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from domain.notifications import HandoverStarting, QuestionAsked
from domain.services.user_loop import save_profile
from integrations.simulation.world import World, load_world
from nexus.scripted_user import ScriptedUser
from nexus.simulation import SIMULATED_USER, describe, start_and_settle, world_campaign_id, world_nexus
from tests.e2e.simulation.test_confirmation import Inbox

WORLDS = Path(__file__).resolve().parents[3] / "examples" / "worlds"


@dataclass
class Run:
    result: dict[str, Any]
    told: Inbox
    transfers: dict[str, str]
    asked: list[str]
    seconds: float

    def call(self, provider_id: str) -> dict[str, Any]:
        return next(c for c in self.result["calls"] if c["provider_id"] == provider_id)


async def run_world(world: World, *, wait: float = 2.0) -> Run:
    async with world_nexus(world, ask_user_wait_seconds=wait) as run:
        ports = run.nexus.ports
        await save_profile(ports, world.profile(SIMULATED_USER))
        scripted, told = ScriptedUser(ports, world.user.answers), Inbox()
        run.nexus.notifications.subscribe(scripted)
        run.nexus.notifications.subscribe(told)
        started = time.monotonic()
        campaign = await start_and_settle(
            run,
            world.user_profile(SIMULATED_USER),
            world.request,
            world.user.location.point(),
            now=world.now,
            campaign_id=world_campaign_id(world.request, 0),
        )
        seconds = time.monotonic() - started
        result = await describe(ports, campaign, world.timezone, transcripts=True)
        return Run(result, told, dict(run.gateway.transfers), scripted.asked, seconds)


def world(service: str, request: str, providers: list[dict[str, Any]], **user: Any) -> World:
    return World.model_validate(
        {
            "now": "2026-11-26T09:00:00+01:00",
            "request": request,
            "user": {"location": {"lat": 52.5219, "lng": 13.4132, "label": "Alexanderplatz"}, **user},
            "providers": [
                {
                    "service": service,
                    "phone": f"+44207946{n:04d}",  # English-speaking desks
                    "location": {"lat": 52.5225, "lng": 13.4140},
                    "open_slots": ["2026-12-03T15:30:00+01:00"],
                    **p,
                }
                for n, p in enumerate(providers)
            ],
        }
    )


async def test_the_example_world_answers_from_the_profile_asks_once_and_hands_over() -> None:
    run = await run_world(load_world(WORLDS / "user_in_the_loop.json"))

    weber, spree, prenzlauer = run.call("w1"), run.call("w3"), run.call("w4")
    # Praxis Weber asks the insurance: the profile answers (in the search's language; a live agent says it in
    # the desk's), nobody is bothered.
    assert "agent: Meine Kundin sagt: public (statutory) insurance." in weber["transcript"]
    # "new patient" is asked by two desks but reaches the user once; both get the answer.
    assert run.result["questions"] == [{"topic": "new_patient", "answer": "new patient"}]
    assert len([m for m in run.told.received if isinstance(m, QuestionAsked)]) == 1
    assert "agent: My client says: new patient." in spree["transcript"]
    # The desk that wants the client in person is put through to the user's phone, who is told first.
    assert prenzlauer["outcome"] == "handed_over"
    assert "agent: Ich verbinde Sie jetzt mit meiner Kundin." in prenzlauer["transcript"]
    assert list(run.transfers.values()) == ["+4915112345678"]
    [notice] = [m for m in run.told.received if isinstance(m, HandoverStarting)]
    assert notice.provider_name == "Zahnzentrum Prenzlauer Berg" and notice.language == "en"
    assert [o["provider_id"] for o in run.result["shortlist"]] == ["w1", "w2", "w3"]


async def test_an_unanswered_question_does_not_stall_the_call_or_the_search() -> None:
    salon = world(
        "hairdresser",
        "hairdresser Dec 3 after 3pm",
        [
            {"id": "h1", "name": "Salon Anna", "behavior": {"asks": ["stylist"]}},
            {"id": "h2", "name": "Cut & Go", "open_slots": ["2026-12-03T16:00:00+01:00"]},
        ],
    )

    run = await run_world(salon, wait=0.3)

    anna = run.call("h1")
    assert anna["outcome"] == "other"  # no handover without the user's phone and consent: the client calls back
    said = "\n".join(anna["transcript"])
    assert "we'll call you back about that" in said and "Then my client will call you back." in said
    assert run.asked == ["Do you have a favourite stylist, Anna or Murat?"]
    assert run.result["campaign"]["status"] == "RANKING"
    assert [o["provider_id"] for o in run.result["shortlist"]] == ["h2"]
    assert run.seconds < 30  # bounded by the short wait, not by any tool timeout
    assert run.transfers == {}


async def test_a_mechanic_asks_for_the_car_and_the_user_answers() -> None:
    garage = world(
        "mechanic",
        "mechanic Dec 3 after 3pm",
        [{"id": "g1", "name": "Werkstatt Kowalski", "behavior": {"asks": ["car_model"]}}],
        answers={"car_model": "VW Golf, 2015"},
    )

    run = await run_world(garage)

    call = run.call("g1")
    assert call["outcome"] == "offer_made"
    assert call["transcript"][2:5] == [
        "provider: Which car is it, make and model?",
        "agent: One moment, please, I'll check with my client.",
        "agent: My client says: VW Golf, 2015.",
    ]
    assert run.result["questions"] == [{"topic": "car_model", "answer": "VW Golf, 2015"}]


async def test_a_question_nobody_answers_is_handed_over_when_the_user_agreed() -> None:
    salon = world(
        "hairdresser",
        "hairdresser Dec 3 after 3pm",
        [{"id": "h1", "name": "Salon Anna", "behavior": {"asks": ["stylist"]}}],
        profile={"phone": "+4915112345678", "handover_consent": True},
    )

    run = await run_world(salon, wait=0.3)

    anna = run.call("h1")
    assert anna["outcome"] == "handed_over"
    assert anna["transcript"][-2:] == [
        "agent: I'm putting you through to my client now.",
        "provider: Yes, of course, I'll hold.",
    ]
    assert list(run.transfers.values()) == ["+4915112345678"]
    [notice] = [m for m in run.told.received if isinstance(m, HandoverStarting)]
    assert notice.about == "Do you have a favourite stylist, Anna or Murat?"
