"""Services as data: what NEXUS knows about each kind of provider, read from ``domain/services.json``.

One file holds, per service: the usual appointment length, its names and the words people use for it (English,
German), its usual opening week, and, for the services with an expert agent (dentist, mechanic, hairdresser),
what the expert knows, the one or two questions the user is asked before calling (the receptionist asks them
too), the choices with the length each kind of visit takes and the words that already answer a question in a
request, and the outcome fields the expert's calls collect. The parser, the directory, the agent prompts,
the bot's intake and the simulation all read it through this module; nothing else lists services.
"""

from __future__ import annotations

import functools
import json
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

LANGUAGES = ("en", "de")


@dataclass(frozen=True, slots=True)
class Choice:
    """One answer to an expert question: ``label`` on its button, ``says`` how the agent says it, ``minutes``
    the appointment length this kind of visit takes (``None``: the answer does not change it), ``words`` that
    answer the question when a request contains them."""

    value: str
    label: Mapping[str, str]
    says: Mapping[str, str]
    minutes: int | None = None
    words: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ExpertQuestion:
    """What the expert needs to know: ``user`` asks the user before calling, ``desk`` is how a receptionist
    asks it. Without choices the answer is free text (a car's make and model)."""

    key: str
    user: Mapping[str, str]
    desk: Mapping[str, str]
    choices: tuple[Choice, ...] = ()

    def choice(self, value: str) -> Choice | None:
        return next((c for c in self.choices if c.value == value), None)

    def in_words(self, answer: str, language: str) -> str:
        """The answer as the agent says it (a choice's ``says``, free text as given)."""
        chosen = self.choice(answer)
        return answer if chosen is None else chosen.says[_lang(language)]


@dataclass(frozen=True, slots=True)
class OutcomeField:
    key: str
    type: str  # "string" or "boolean"
    description: str


@dataclass(frozen=True, slots=True)
class Expert:
    knowledge: Mapping[str, str]
    questions: tuple[ExpertQuestion, ...]
    outcome_fields: tuple[OutcomeField, ...] = ()

    def question(self, key: str) -> ExpertQuestion | None:
        return next((q for q in self.questions if q.key == key), None)


@dataclass(frozen=True, slots=True)
class ServiceProfile:
    name: str
    minutes: int
    singular: str
    plural: str
    german: str
    synonyms_en: tuple[str, ...]
    synonyms_de: tuple[str, ...]
    usual_hours: Mapping[str, list[str]] = field(default_factory=dict)
    expert: Expert | None = None


@dataclass(frozen=True, slots=True)
class Catalogue:
    services: Mapping[str, ServiceProfile]
    fallback_hours: Mapping[str, list[str]]

    def get(self, service: str | None) -> ServiceProfile | None:
        return None if service is None else self.services.get(service)

    def expert(self, service: str | None) -> Expert | None:
        profile = self.get(service)
        return None if profile is None else profile.expert

    @property
    def experts(self) -> dict[str, Expert]:
        """Every service with an expert agent, in the file's order."""
        return {name: p.expert for name, p in self.services.items() if p.expert is not None}


def _lang(language: str) -> str:
    return "de" if language == "de" else "en"


def _texts(data: Mapping[str, Any], where: str) -> dict[str, str]:
    missing = [lang for lang in LANGUAGES if not isinstance(data.get(lang), str) or not data[lang].strip()]
    if missing:
        raise ValueError(f"{where} lacks its {', '.join(missing)} text.")
    return {lang: str(data[lang]) for lang in LANGUAGES}


def _expert(service: str, data: Mapping[str, Any]) -> Expert:
    questions = []
    for q in data["questions"]:
        where = f"{service}.{q['key']}"
        choices = tuple(
            Choice(
                value=str(c["value"]),
                label=_texts(c["label"], f"{where}.{c['value']}.label"),
                says=_texts(c["says"], f"{where}.{c['value']}.says"),
                minutes=int(c["minutes"]) if c.get("minutes") is not None else None,
                words=tuple(str(w) for w in c.get("words", ())),
            )
            for c in q.get("choices", ())
        )
        questions.append(ExpertQuestion(str(q["key"]), _texts(q["user"], where), _texts(q["desk"], where), choices))
    if not 1 <= len(questions) <= 2:
        raise ValueError(f"The {service} expert asks one or two questions before calling, not {len(questions)}.")
    fields = tuple(
        OutcomeField(str(f["key"]), str(f.get("type", "string")), str(f["description"]))
        for f in data.get("outcome_fields", ())
    )
    if any(f.type not in ("string", "boolean") for f in fields):
        raise ValueError(f"The {service} expert's outcome fields are strings or booleans.")
    return Expert(_texts(data["knowledge"], f"{service}.knowledge"), tuple(questions), fields)


def parse_catalogue(data: Mapping[str, Any]) -> Catalogue:
    """The catalogue from the JSON data; ``ValueError`` names what is wrong."""
    services: dict[str, ServiceProfile] = {}
    for name, entry in data["services"].items():
        singular, plural = entry["names"]["en"]
        services[name] = ServiceProfile(
            name=name,
            minutes=int(entry["minutes"]),
            singular=str(singular),
            plural=str(plural),
            german=str(entry["names"]["de"]),
            synonyms_en=tuple(entry["synonyms"]["en"]),
            synonyms_de=tuple(entry["synonyms"]["de"]),
            usual_hours=dict(entry.get("usual_hours", {})),
            expert=_expert(name, entry["expert"]) if "expert" in entry else None,
        )
    return Catalogue(services, dict(data.get("fallback_hours", {})))


@functools.cache
def catalogue() -> Catalogue:
    """The catalogue of ``domain/services.json`` (read once)."""
    text = resources.files("domain").joinpath("services.json").read_text(encoding="utf-8")
    return parse_catalogue(json.loads(text))


# --- answers ---------------------------------------------------------------------------------------------


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def answers_in_text(service: str | None, text: str) -> dict[str, str]:
    """The expert questions a request already answers (``Zahnarzt, Kontrolle, gesetzlich`` -> visit and
    insurance), by the choices' words; the longest word found wins a question."""
    expert = catalogue().expert(service)
    if expert is None:
        return {}
    folded = _fold(text)
    found: dict[str, str] = {}
    for question in expert.questions:
        named = _named_choice(question, folded)
        if named is not None:
            found[question.key] = named
    return found


def _named_choice(question: ExpertQuestion, folded: str) -> str | None:
    """The choice of ``question`` whose words the folded text says (the longest word found wins)."""
    best: tuple[int, str] | None = None
    for choice in question.choices:
        for word in choice.words:
            said = re.search(rf"(?<!\w){re.escape(_fold(word))}(?!\w)", folded) is not None
            if said and (best is None or len(word) > best[0]):
                best = (len(word), choice.value)
    return None if best is None else best[1]


def open_questions(service: str | None, answers: Mapping[str, str]) -> list[ExpertQuestion]:
    """The expert's questions not answered (nor skipped: an empty answer) yet, in order."""
    expert = catalogue().expert(service)
    return [] if expert is None else [q for q in expert.questions if q.key not in answers]


def answers_from_profile(service: str | None, facts: Mapping[str, str]) -> dict[str, str]:
    """What the user's profile already answers of the expert's questions (insurance, for a dentist): a fact counts
    when it names one of the question's choices, so the intake does not ask it again."""
    expert = catalogue().expert(service)
    if expert is None:
        return {}
    return {q.key: facts[q.key] for q in expert.questions if q.key in facts and q.choice(facts[q.key]) is not None}


def answer_from_words(question: ExpertQuestion, text: str) -> str:
    """A typed answer: the choice its words name (``Kontrolle`` -> ``checkup``, or a choice's label), else the
    words themselves (the agent says them as they are); at most 200 characters."""
    folded = _fold(text).strip()
    for choice in question.choices:
        if folded in {_fold(label) for label in choice.label.values()}:
            return choice.value
    return _named_choice(question, folded) or " ".join(text.split())[:200]


def visit_minutes(service: str | None, answers: Mapping[str, str]) -> int | None:
    """How long the kind of visit the answers describe takes (the longest answered choice that says), if any."""
    expert = catalogue().expert(service)
    if expert is None:
        return None
    lengths = []
    for question in expert.questions:
        chosen = question.choice(answers.get(question.key, ""))
        if chosen is not None and chosen.minutes is not None:
            lengths.append(chosen.minutes)
    return max(lengths) if lengths else None


def planned_minutes(service: str | None, answers: Mapping[str, str], minutes: int) -> int:
    """The appointment length to ask for: the answered kind of visit's, unless ``minutes`` is not the service's
    usual length (then the user named a length, and that stands)."""
    profile = catalogue().get(service)
    visit = visit_minutes(service, answers)
    if visit is None or (profile is not None and minutes != profile.minutes):
        return minutes
    return visit


def answers_in_words(service: str | None, answers: Mapping[str, str], language: str) -> str:
    """What the agent may tell the receptionist, one sentence per answered question (empty without any)."""
    expert = catalogue().expert(service)
    if expert is None:
        return ""
    lang = _lang(language)
    parts = []
    for question in expert.questions:
        answer = answers.get(question.key)
        if answer:
            parts.append(f"{question.desk[lang]} {question.in_words(answer, lang)}.")
    return " ".join(parts)


def expert_agent_key(service: str | None, language: str) -> str | None:
    """The key of the expert agent for a campaign (``dentist/de``), or ``None`` when its service has none and
    the general agent calls."""
    return None if catalogue().expert(service) is None else f"{service}/{_lang(language)}"
