"""World files script opening hours, voicemail boxes, phone menus and the desk's language; mistakes in them
are said in words."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from integrations.simulation.world import WorldError, load_world

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "worlds" / "german_dentist_early_morning.json"


def _write(tmp_path: Path, change: dict[str, Any]) -> Path:
    world = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    world["providers"][0] |= change
    path = tmp_path / "world.json"
    path.write_text(json.dumps(world), encoding="utf-8")
    return path


def test_the_keys_reach_the_provider_and_its_behaviour() -> None:
    world = load_world(EXAMPLE)
    by_id = {p.id: p for p in world.directory_providers()}
    behaviours = world.behaviours()

    assert by_id["z4"].opening_hours is not None
    assert by_id["z4"].opening_hours.as_spec()["wed"] == ["08:00-12:00"]
    assert behaviours(by_id["z2"]).phone_menu_digit == 2
    assert behaviours(by_id["z2"]).language == "de"
    assert behaviours(by_id["z3"]).voicemail_calls == 1
    assert behaviours(by_id["z1"]).language is None  # decided by the phone number's country


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (
            {"opening_hours": {"mon": ["8-12"]}},
            "providers.0.opening_hours: '8-12' is not a time range like 08:00-12:00",
        ),
        ({"opening_hours": {"funday": []}}, "providers.0.opening_hours: 'funday' is not a weekday"),
        ({"language": "fr"}, "providers.0.language: Input should be 'en' or 'de'"),
        ({"behavior": {"phone_menu_digit": 0}}, "providers.0.behavior.phone_menu_digit: Input should be greater"),
        ({"behavior": {"voicemail_calls": -1}}, "providers.0.behavior.voicemail_calls: Input should be greater"),
        ({"behavior": {"agent_fault": "lie"}}, "providers.0.behavior.agent_fault: Input should be 'invent_time'"),
    ],
)
def test_a_mistake_in_the_new_keys_is_said_in_words(tmp_path: Path, change: dict[str, Any], problem: str) -> None:
    with pytest.raises(WorldError) as refused:
        load_world(_write(tmp_path, change))
    assert problem in str(refused.value)


def test_an_agent_fault_and_the_questions_a_desk_asks_reach_its_behaviour(tmp_path: Path) -> None:
    world = load_world(_write(tmp_path, {"behavior": {"agent_fault": "invent_time", "asks_expert": ["insurance"]}}))
    provider = world.directory_providers()[0]
    behaviour = world.behaviours()(provider)
    assert (behaviour.agent_fault, behaviour.asks_expert) == ("invent_time", ("insurance",))
