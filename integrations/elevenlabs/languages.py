"""What the voice agents say before the prompt takes over, in each language they speak.

An agent has one language of its own and a preset for each other one; every call names its campaign's language
(and the first message in it) in the conversation override, so a German practice is greeted in German.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from domain.models import CallPurpose

LANGUAGES = ("en", "de")
_VARIABLE = re.compile(r"{{\s*([A-Za-z0-9_]+)\s*}}")

_FIRST_MESSAGES: Mapping[str, Mapping[CallPurpose, str]] = {
    "en": {
        CallPurpose.DISCOVER: (
            "Hello, I'm an automated assistant calling on behalf of a client, and this call is transcribed. "
            "I'd like to ask about a {{service}} appointment, if you have a moment."
        ),
        CallPurpose.CONFIRM: (
            "Hello, I'm an automated assistant calling on behalf of a client, and this call is transcribed. "
            "It's about the appointment we discussed earlier: {{target_slot}}."
        ),
        CallPurpose.CANCEL: (
            "Hello, I'm an automated assistant calling on behalf of a client, and this call is transcribed. "
            "I'm calling to cancel an appointment on {{target_slot}}."
        ),
        CallPurpose.RESCHEDULE: (
            "Hello, I'm an automated assistant calling on behalf of a client, and this call is transcribed. "
            "I'm calling to move an appointment on {{target_slot}} to another time."
        ),
    },
    "de": {
        CallPurpose.DISCOVER: (
            "Guten Tag, hier spricht ein automatischer Assistent im Auftrag eines Kunden; das Gespräch wird "
            "transkribiert. Ich würde gern nach einem Termin fragen, wenn Sie einen Moment Zeit haben."
        ),
        CallPurpose.CONFIRM: (
            "Guten Tag, hier spricht ein automatischer Assistent im Auftrag eines Kunden; das Gespräch wird "
            "transkribiert. Es geht um den Termin, über den wir vorhin gesprochen haben: {{target_slot}}."
        ),
        CallPurpose.CANCEL: (
            "Guten Tag, hier spricht ein automatischer Assistent im Auftrag eines Kunden; das Gespräch wird "
            "transkribiert. Ich rufe an, um einen Termin abzusagen: {{target_slot}}."
        ),
        CallPurpose.RESCHEDULE: (
            "Guten Tag, hier spricht ein automatischer Assistent im Auftrag eines Kunden; das Gespräch wird "
            "transkribiert. Ich rufe an, um einen Termin zu verschieben: {{target_slot}}."
        ),
    },
}

# What a voicemail box hears before the call ends (``leave_voicemail``).
_VOICEMAIL_MESSAGES: Mapping[str, Mapping[CallPurpose, str]] = {
    "en": {
        CallPurpose.DISCOVER: (
            "Hello, this is a digital assistant calling on behalf of a client about an appointment. "
            "We will call again later. Goodbye."
        ),
        CallPurpose.CONFIRM: (
            "Hello, this is a digital assistant calling on behalf of a client about the appointment on "
            "{{target_slot}}. We will call again later. Goodbye."
        ),
        CallPurpose.CANCEL: (
            "Hello, this is a digital assistant calling on behalf of a client who has to cancel the appointment "
            "on {{target_slot}}. We apologise for the inconvenience. Goodbye."
        ),
        CallPurpose.RESCHEDULE: (
            "Hello, this is a digital assistant calling on behalf of a client about moving the appointment on "
            "{{target_slot}}. We will call again later. Goodbye."
        ),
    },
    "de": {
        CallPurpose.DISCOVER: (
            "Guten Tag, hier spricht ein digitaler Assistent im Auftrag eines Kunden wegen eines Termins. "
            "Wir rufen später noch einmal an. Auf Wiederhören."
        ),
        CallPurpose.CONFIRM: (
            "Guten Tag, hier spricht ein digitaler Assistent im Auftrag eines Kunden wegen des Termins "
            "{{target_slot}}. Wir rufen später noch einmal an. Auf Wiederhören."
        ),
        CallPurpose.CANCEL: (
            "Guten Tag, hier spricht ein digitaler Assistent im Auftrag eines Kunden, der den Termin "
            "{{target_slot}} leider absagen muss. Entschuldigen Sie bitte. Auf Wiederhören."
        ),
        CallPurpose.RESCHEDULE: (
            "Guten Tag, hier spricht ein digitaler Assistent im Auftrag eines Kunden, der den Termin "
            "{{target_slot}} verschieben möchte. Wir rufen später noch einmal an. Auf Wiederhören."
        ),
    },
}


def spoken_language(language: str) -> str:
    """The agents' language for a campaign's ``language``: one of ``LANGUAGES``, English when unknown."""
    code = language.split("-", 1)[0].lower()
    return code if code in LANGUAGES else "en"


def first_message(purpose: CallPurpose, language: str) -> str:
    """What the agent says first in a ``purpose`` call in ``language`` (with ``{{variables}}``)."""
    return _FIRST_MESSAGES[spoken_language(language)][purpose]


def voicemail_message(purpose: CallPurpose, language: str) -> str:
    """What the agent leaves on a voicemail box in a ``purpose`` call in ``language`` (with ``{{variables}}``)."""
    return _VOICEMAIL_MESSAGES[spoken_language(language)][purpose]


def fill(template: str, variables: Mapping[str, object]) -> str:
    """``template`` with its ``{{variables}}`` filled in, for text the platform does not fill itself."""
    return _VARIABLE.sub(lambda match: str(variables.get(match[1], "")), template)
