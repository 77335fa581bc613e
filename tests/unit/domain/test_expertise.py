"""The catalogue of services (``domain/services.json``): every service complete in both languages, the experts'
questions, and reading answers, lengths and words from it."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import pytest

from domain.expertise import (
    answer_from_words,
    answers_in_text,
    answers_in_words,
    catalogue,
    expert_agent_key,
    open_questions,
    parse_catalogue,
    planned_minutes,
)
from domain.wording import service_in_words


def _data() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(resources.files("domain").joinpath("services.json").read_text("utf-8"))
    return data


def test_every_service_is_complete_and_the_experts_are_the_three_named() -> None:
    services = catalogue().services
    assert len(services) >= 20
    for name, profile in services.items():
        assert 5 <= profile.minutes <= 8 * 60, name
        assert profile.singular and profile.plural and profile.german, name
        assert profile.synonyms_en and profile.synonyms_de, name
        assert profile.usual_hours, name
    assert list(catalogue().experts) == ["dentist", "hairdresser", "mechanic"]
    for name, expert in catalogue().experts.items():
        assert expert.knowledge["en"] and expert.knowledge["de"], name
        assert 1 <= len(expert.questions) <= 2, name
        assert expert.outcome_fields, name
        for question in expert.questions:
            for choice in question.choices:
                assert len(f"ans:12345678:{question.key}:{choice.value}".encode()) <= 64  # Telegram's limit


def test_the_wording_reads_its_names_from_the_catalogue() -> None:
    assert service_in_words("dentist", "de") == "Zahnarzt"
    assert service_in_words("mechanic", "en", count=2) == "mechanics"


def test_a_broken_entry_is_named() -> None:
    data = _data()
    del data["services"]["dentist"]["expert"]["questions"][0]["desk"]["de"]
    with pytest.raises(ValueError, match=r"dentist\.visit lacks its de text"):
        parse_catalogue(data)
    data = _data()
    questions = data["services"]["mechanic"]["expert"]["questions"]
    data["services"]["mechanic"]["expert"]["questions"] = questions * 2
    with pytest.raises(ValueError, match="one or two questions"):
        parse_catalogue(data)


@pytest.mark.parametrize(
    ("service", "text", "answers"),
    [
        ("dentist", "Zahnarzt Mittwoch, Kontrolle, gesetzlich versichert", {"visit": "checkup", "insurance": "public"}),
        ("dentist", "dentist tomorrow, I have a toothache", {"visit": "pain"}),
        ("hairdresser", "haircut and colour saturday", {"visit": "cut_and_colour"}),
        ("hairdresser", "Friseur Samstag, Haare färben, lange Haare", {"visit": "colour", "length": "long"}),
        ("mechanic", "Werkstatt Montag, Inspektion", {"visit": "inspection"}),
        ("veterinarian", "vet tomorrow, private", {}),
    ],
)
def test_a_request_answers_what_its_words_say(service: str, text: str, answers: dict[str, str]) -> None:
    assert answers_in_text(service, text) == answers


def test_typed_answers_name_a_choice_or_are_kept_as_said() -> None:
    visit, insurance = catalogue().experts["dentist"].questions
    (car, _) = catalogue().experts["mechanic"].questions
    assert answer_from_words(visit, "Schmerzen") == "pain"
    assert answer_from_words(insurance, "Gesetzlich") == "public"
    assert answer_from_words(car, "  VW   Golf 7 ") == "VW Golf 7"


def test_lengths_questions_and_words_follow_the_answers() -> None:
    assert planned_minutes("hairdresser", {"visit": "colour"}, 45) == 120
    assert planned_minutes("hairdresser", {"visit": "colour"}, 90) == 90  # the user named a length
    assert planned_minutes("hairdresser", {}, 45) == 45
    assert [q.key for q in open_questions("dentist", {"visit": ""})] == ["insurance"]  # skipped counts as asked
    assert answers_in_words("mechanic", {"car": "VW Golf", "visit": "fault"}, "de") == (
        "Was für ein Auto ist es, Marke und Modell? VW Golf. "
        "Ist es eine Inspektion, oder ist etwas kaputt? ein Defekt, den Sie sich ansehen müssten."
    )
    assert answers_in_words("dentist", {"visit": ""}, "en") == ""
    assert (expert_agent_key("dentist", "de"), expert_agent_key("vet", "en")) == ("dentist/de", None)
