"""Every call opens by saying that an automated assistant calls for a client and that the call is transcribed,
in the campaign's language: the voice agents' first messages and the simulated agent alike."""

from __future__ import annotations

import pytest

from domain.models import CallPurpose
from integrations.elevenlabs.languages import LANGUAGES, first_message

DISCLOSURE = {
    "en": ("automated assistant calling on behalf of a client", "this call is transcribed"),
    "de": ("automatischer Assistent im Auftrag eines Kunden", "das Gespräch wird transkribiert"),
}


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("purpose", list(CallPurpose))
def test_the_first_message_says_who_calls_and_that_the_call_is_transcribed(purpose: CallPurpose, language: str) -> None:
    opening = first_message(purpose, language).split(". ")[0]

    assert all(part in opening for part in DISCLOSURE[language]), opening


def test_a_language_the_agents_do_not_speak_gets_the_english_disclosure() -> None:
    assert all(part in first_message(CallPurpose.DISCOVER, "fr") for part in DISCLOSURE["en"])
