"""The user in the loop during calls: what the agent may tell a receptionist about the user (the profile),
questions the agent asks the user mid-call, instructions the user gives running calls.

Plain dataclasses and pure rules; the use cases are in ``domain.services.user_loop``.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from datetime import datetime

from domain.models import is_e164, new_id


class Insurance(enum.StrEnum):
    PUBLIC = "public"
    PRIVATE = "private"


class PatientStatus(enum.StrEnum):
    NEW = "new"
    EXISTING = "existing"


@dataclass(slots=True)
class UserProfile:
    """What the user allows the agent to say about them; an empty field is never shared.

    ``handover_consent``: the user agreed that a call may be put through to ``phone`` when the agent cannot
    go on without them."""

    user_id: int
    name: str = ""
    phone: str = ""
    insurance: Insurance | None = None
    patient: PatientStatus | None = None
    handover_consent: bool = False

    def may_hand_over(self) -> bool:
        return self.handover_consent and is_e164(self.phone)

    def shared(self) -> dict[str, str]:
        """Every fact the agent may share, by topic (see ``question_topic``)."""
        facts: dict[str, str] = {}
        if self.name:
            facts[NAME] = self.name
        if self.phone:
            facts[PHONE] = self.phone
        if self.insurance is not None:
            facts[INSURANCE] = self.insurance.value
        if self.patient is not None:
            facts[NEW_PATIENT] = self.patient.value
        return facts


class QuestionStatus(enum.StrEnum):
    OPEN = "open"
    ANSWERED = "answered"


@dataclass(slots=True)
class UserQuestion:
    """A question an agent asked the user during a call. ``topic`` is what makes two questions the same (the
    next receptionist asking it is answered from this one)."""

    call_id: str
    campaign_id: str
    user_id: int
    provider_name: str
    question: str
    topic: str
    asked_at: datetime
    choices: tuple[str, ...] = ()
    why: str = ""
    id: str = field(default_factory=new_id)
    answer: str | None = None
    answered_at: datetime | None = None

    @property
    def status(self) -> QuestionStatus:
        return QuestionStatus.OPEN if self.answer is None else QuestionStatus.ANSWERED


@dataclass(slots=True)
class Instruction:
    """What the user told running calls: one call (``call_id``) or every call of the campaign, also those
    that start later (``call_id`` ``None``)."""

    campaign_id: str
    text: str
    created_at: datetime
    call_id: str | None = None
    id: str = field(default_factory=new_id)


# --- topics ----------------------------------------------------------------------------------------

NAME = "name"
PHONE = "phone"
INSURANCE = "insurance"
NEW_PATIENT = "new_patient"
STYLIST = "stylist"
CAR_MODEL = "car_model"

# The common questions, in English and German; the first topic whose pattern a question matches is its topic.
_TOPICS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (INSURANCE, re.compile(r"insur|versicher|krankenkasse|\bkasse\b|privat|gesetzlich|public or private", re.I)),
    (
        NEW_PATIENT,
        re.compile(
            r"new patient|new or (an )?existing|existing patient|been (here|with us|to us) before|first (time|visit)"
            r"|neue[rn]?\b.{0,30}patient|bestehende[rn]? patient|schon (einmal|mal) (bei uns|hier)"
            r"|erste[sn]? (mal|besuch)|bestandspatient",
            re.I,
        ),
    ),
    (STYLIST, re.compile(r"stylist|hairdresser|friseur|friseurin|bei wem|which of our|coiffeur", re.I)),
    (CAR_MODEL, re.compile(r"\bcar\b|vehicle|make and model|\bmodel\b|\bauto\b|fahrzeug|modell|\bwagen\b", re.I)),
    (PHONE, re.compile(r"phone|number to call|call (you|them) back|telefon|rückruf|nummer", re.I)),
    (NAME, re.compile(r"\bname\b|under what name|wie heißt|wie heisst|auf welchen namen|\bnamen\b", re.I)),
)
_WORD = re.compile(r"[^\W_]+", re.UNICODE)


def question_topic(question: str) -> str:
    """What a question is about: one of the common topics, else its words in lower case."""
    for topic, pattern in _TOPICS:
        if pattern.search(question):
            return topic
    return " ".join(_WORD.findall(question.lower()))[:200] or "?"


_ANSWER_WORDS: dict[str, dict[str, dict[str, str]]] = {
    INSURANCE: {
        "en": {"public": "public (statutory) insurance", "private": "private insurance"},
        "de": {"public": "gesetzlich versichert", "private": "privat versichert"},
    },
    NEW_PATIENT: {
        "en": {"new": "a new patient", "existing": "an existing patient"},
        "de": {"new": "neuer Patient", "existing": "schon Patient bei Ihnen"},
    },
}


def profile_answer(profile: UserProfile | None, topic: str, language: str = "en") -> str | None:
    """What the profile says to a question about ``topic``, in words the agent can pass on; ``None`` when the
    profile does not answer it (the user is asked, or nothing is shared)."""
    if profile is None:
        return None
    value = profile.shared().get(topic)
    if value is None:
        return None
    words = _ANSWER_WORDS.get(topic, {})
    return words.get(language, words.get("en", {})).get(value, value)
