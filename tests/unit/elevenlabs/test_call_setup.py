"""Who gets dialled and what the agent is told, before anything goes over the network."""

from __future__ import annotations

import pytest

from domain.errors import DependencyUnavailable, InvalidRequest
from domain.models import CallPurpose
from integrations.elevenlabs import DiallingPolicy, dynamic_variables, mask_phone
from tests.unit.elevenlabs.factories import SLOT, TOKEN, call_request, provider

TARGET = "+4915112345678"


def test_mock_human_dials_the_target_whoever_the_provider_is() -> None:
    policy = DiallingPolicy.mock_human(TARGET)

    assert policy.number_for(provider("A", "+4930111111111")) == TARGET
    assert policy.number_for(provider("B", "not a number")) == TARGET


def test_live_dials_the_providers_own_number() -> None:
    assert DiallingPolicy.live().number_for(provider(phone="+4930111222333")) == "+4930111222333"


@pytest.mark.parametrize("phone", ["030 1112223", "+49 30 111222", "+0301112223", "+1234", "+1234567890123456", ""])
def test_live_refuses_a_number_that_is_not_e164(phone: str) -> None:
    with pytest.raises(DependencyUnavailable, match=r"Praxis Dr\. Weiss cannot be dialled"):
        DiallingPolicy.live().number_for(provider(phone=phone))


@pytest.mark.parametrize("target", ["015112345678", "+49 151 12345678", "tel:+4915112345678"])
def test_a_target_number_that_is_not_e164_is_refused_at_construction_without_echoing_it(target: str) -> None:
    with pytest.raises(ValueError, match="TARGET_PHONE_NUMBER must be an international number") as caught:
        DiallingPolicy.mock_human(target)

    assert "1511234" not in str(caught.value).replace(" ", "")


def test_mock_human_without_a_target_names_the_setting() -> None:
    with pytest.raises(ValueError, match="needs TARGET_PHONE_NUMBER"):
        DiallingPolicy.mock_human(None)


@pytest.mark.parametrize(
    ("number", "masked"), [("+4915112345678", "***678"), ("+49 151 123-45 678", "***678"), ("12", "***")]
)
def test_mask_phone_shows_only_the_last_three_digits(number: str, masked: str) -> None:
    assert mask_phone(number) == masked


def test_a_discovery_call_tells_the_agent_the_windows_in_words() -> None:
    assert dynamic_variables(call_request()) == {
        "provider_name": "Praxis Dr. Weiss",
        "service": "dentist",
        "windows": "Tuesday 1 December between 12:00 and 17:00 or Wednesday 2 December between 09:00 and 12:00",
        "duration_minutes": 30,
        "target_slot": "",
        "language": "en",
        "client_answers": "",
        "voicemail_message": (
            "Hello, this is a digital assistant calling on behalf of a client about an appointment. "
            "We will call again later. Goodbye."
        ),
        "secret__call_token": TOKEN,
        "handover_phone": "",
    }


def test_a_confirmation_call_in_german_names_the_slot_in_the_campaigns_timezone() -> None:
    variables = dynamic_variables(call_request(CallPurpose.CONFIRM, language="de", target_slot=SLOT))

    assert variables["target_slot"] == "Dienstag, 1. Dezember um 14:30"
    assert variables["windows"] == (
        "Dienstag, 1. Dezember zwischen 12:00 und 17:00 oder Mittwoch, 2. Dezember zwischen 09:00 und 12:00"
    )
    assert variables["language"] == "de"
    assert variables["voicemail_message"] == (
        "Guten Tag, hier spricht ein digitaler Assistent im Auftrag eines Kunden wegen des Termins "
        "Dienstag, 1. Dezember um 14:30. Wir rufen später noch einmal an. Auf Wiederhören."
    )


@pytest.mark.parametrize(("language", "spoken"), [("de", "de"), ("de-AT", "de"), ("EN", "en"), ("fr", "en")])
def test_a_language_the_agents_do_not_speak_is_called_in_english(language: str, spoken: str) -> None:
    assert dynamic_variables(call_request(language=language))["language"] == spoken


@pytest.mark.parametrize("purpose", [CallPurpose.CONFIRM, CallPurpose.CANCEL])
def test_a_call_about_a_slot_needs_the_slot(purpose: CallPurpose) -> None:
    with pytest.raises(InvalidRequest, match="needs the slot"):
        dynamic_variables(call_request(purpose))
