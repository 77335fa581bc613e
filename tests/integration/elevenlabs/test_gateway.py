"""The ElevenLabs voice gateway against a fake ElevenLabs API over real HTTP on 127.0.0.1."""

from __future__ import annotations

import logging

import pytest
from elevenlabs import AsyncElevenLabs
from elevenlabs.types import ConversationInitiationClientDataRequestInput

from domain.errors import DependencyUnavailable
from domain.models import CallPurpose
from domain.ports import PlacedCall, VoiceGateway
from integrations.elevenlabs import DiallingPolicy, ElevenLabsVoiceGateway
from tests.integration.elevenlabs.conftest import API_KEY, FakeElevenLabs
from tests.unit.elevenlabs.factories import SLOT, TOKEN, call_request, provider

TARGET = "+4915112345678"
AGENTS = {CallPurpose.DISCOVER: "agent_discover", CallPurpose.CONFIRM: "agent_confirm"}


class RecordingCallControl:
    def __init__(self) -> None:
        self.hung_up: list[str] = []

    async def hang_up(self, call_sid: str) -> None:
        self.hung_up.append(call_sid)


@pytest.fixture
def call_control() -> RecordingCallControl:
    return RecordingCallControl()


def make_gateway(
    client: AsyncElevenLabs,
    call_control: RecordingCallControl,
    dialling: DiallingPolicy | None = None,
) -> ElevenLabsVoiceGateway:
    return ElevenLabsVoiceGateway(
        client,
        agent_ids=AGENTS,
        agent_phone_number_id="phnum_1",
        dialling=dialling or DiallingPolicy.live(),
        call_control=call_control,
        ring_timeout_seconds=25,
    )


async def test_a_call_is_placed_with_exactly_the_documented_request(
    elevenlabs_client: AsyncElevenLabs, fake_elevenlabs: FakeElevenLabs, call_control: RecordingCallControl
) -> None:
    gateway: VoiceGateway = make_gateway(elevenlabs_client, call_control)

    placed = await gateway.place_call(call_request())

    assert placed == PlacedCall(conversation_id="conv_1", call_sid="CA_1")
    [seen] = fake_elevenlabs.seen
    assert (seen.method, seen.path) == ("POST", "/v1/convai/twilio/outbound-call")
    assert seen.headers["xi-api-key"] == API_KEY
    assert seen.body == {
        "agent_id": "agent_discover",
        "agent_phone_number_id": "phnum_1",
        "to_number": "+4930111222333",
        "conversation_initiation_client_data": {
            "dynamic_variables": {
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
            },
            "conversation_config_override": {
                "agent": {
                    "language": "en",
                    "first_message": "Hello, I'm an automated assistant calling on behalf of a client, and this "
                    "call is transcribed. I'd like to ask about a {{service}} appointment, if you have a moment.",
                }
            },
        },
        "telephony_call_config": {"ringing_timeout_secs": 25},
    }


async def test_a_confirmation_call_uses_the_confirmation_agent_and_names_the_slot(
    elevenlabs_client: AsyncElevenLabs, fake_elevenlabs: FakeElevenLabs, call_control: RecordingCallControl
) -> None:
    gateway = make_gateway(elevenlabs_client, call_control)

    await gateway.place_call(call_request(CallPurpose.CONFIRM, target_slot=SLOT))

    [seen] = fake_elevenlabs.seen
    assert seen.body["agent_id"] == "agent_confirm"
    assert seen.body["conversation_initiation_client_data"]["dynamic_variables"]["target_slot"] == (
        "Tuesday 1 December at 14:30"
    )


@pytest.mark.parametrize("purpose", list(CallPurpose))
async def test_a_german_campaigns_call_is_held_in_german_from_the_first_word(
    elevenlabs_client: AsyncElevenLabs,
    fake_elevenlabs: FakeElevenLabs,
    call_control: RecordingCallControl,
    purpose: CallPurpose,
) -> None:
    agents = {**AGENTS, CallPurpose.CANCEL: "agent_cancel", CallPurpose.RESCHEDULE: "agent_reschedule"}
    gateway = ElevenLabsVoiceGateway(
        elevenlabs_client,
        agent_ids=agents,
        agent_phone_number_id="phnum_1",
        dialling=DiallingPolicy.live(),
        call_control=call_control,
        ring_timeout_seconds=25,
    )
    target = None if purpose is CallPurpose.DISCOVER else SLOT

    await gateway.place_call(call_request(purpose, language="de", target_slot=target))

    [seen] = fake_elevenlabs.seen
    data = seen.body["conversation_initiation_client_data"]
    # What the SDK's own model makes of it is what was meant: nothing dropped as an unknown field.
    assert ConversationInitiationClientDataRequestInput.model_validate(data).model_dump(exclude_none=True) == data
    override = data["conversation_config_override"]["agent"]
    assert override["language"] == data["dynamic_variables"]["language"] == "de"
    assert override["first_message"].startswith(
        "Guten Tag, hier spricht ein automatischer Assistent im Auftrag eines Kunden; das Gespräch wird transkribiert."
    )
    assert data["dynamic_variables"]["voicemail_message"].endswith("Auf Wiederhören.")
    if target is not None:
        assert data["dynamic_variables"]["target_slot"] == "Dienstag, 1. Dezember um 14:30"


async def test_mock_human_always_dials_the_target_number(
    elevenlabs_client: AsyncElevenLabs, fake_elevenlabs: FakeElevenLabs, call_control: RecordingCallControl
) -> None:
    gateway = make_gateway(elevenlabs_client, call_control, DiallingPolicy.mock_human(TARGET))

    await gateway.place_call(call_request(to=provider("Praxis A", "+4930100000001")))
    await gateway.place_call(call_request(to=provider("Praxis B", "+4930100000002")))

    assert [s.body["to_number"] for s in fake_elevenlabs.seen] == [TARGET, TARGET]
    names = [
        s.body["conversation_initiation_client_data"]["dynamic_variables"]["provider_name"]
        for s in fake_elevenlabs.seen
    ]
    assert names == ["Praxis A", "Praxis B"]


async def test_a_server_error_is_not_retried(
    elevenlabs_client: AsyncElevenLabs,
    fake_elevenlabs: FakeElevenLabs,
    call_control: RecordingCallControl,
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake_elevenlabs.outbound_reply = (500, {"detail": "internal error"})
    gateway = make_gateway(elevenlabs_client, call_control)
    caplog.set_level(logging.DEBUG)

    with pytest.raises(DependencyUnavailable, match="ElevenLabs did not accept the call"):
        await gateway.place_call(call_request())

    assert len(fake_elevenlabs.seen) == 1
    assert TOKEN not in caplog.text
    assert "4930111222333" not in caplog.text
    assert "***333" in caplog.text


async def test_a_refusal_with_success_false_is_unavailable_and_logged_without_the_number(
    elevenlabs_client: AsyncElevenLabs,
    fake_elevenlabs: FakeElevenLabs,
    call_control: RecordingCallControl,
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake_elevenlabs.outbound_reply = (
        200,
        {"success": False, "message": "Twilio rejected +4930111222333 as unreachable", "conversation_id": None},
    )
    gateway = make_gateway(elevenlabs_client, call_control)

    with pytest.raises(DependencyUnavailable, match="ElevenLabs could not place the call"):
        await gateway.place_call(call_request())

    assert "unreachable" in caplog.text
    assert "4930111222333" not in caplog.text


async def test_a_provider_number_that_cannot_be_dialled_sends_nothing(
    elevenlabs_client: AsyncElevenLabs, fake_elevenlabs: FakeElevenLabs, call_control: RecordingCallControl
) -> None:
    gateway = make_gateway(elevenlabs_client, call_control)

    with pytest.raises(DependencyUnavailable, match="cannot be dialled"):
        await gateway.place_call(call_request(to=provider(phone="030 111222333")))

    assert fake_elevenlabs.seen == []


async def test_a_purpose_without_an_agent_is_unavailable(
    elevenlabs_client: AsyncElevenLabs, fake_elevenlabs: FakeElevenLabs, call_control: RecordingCallControl
) -> None:
    gateway = make_gateway(elevenlabs_client, call_control)

    with pytest.raises(DependencyUnavailable, match="No ElevenLabs agent is set up for cancellation calls"):
        await gateway.place_call(call_request(CallPurpose.CANCEL, target_slot=SLOT))

    assert fake_elevenlabs.seen == []


async def test_hang_up_goes_to_twilio_only_for_a_call_that_reached_a_phone(
    elevenlabs_client: AsyncElevenLabs, call_control: RecordingCallControl
) -> None:
    gateway = make_gateway(elevenlabs_client, call_control)
    connected, never_connected = call_request().call, call_request().call
    connected.call_sid = "CA_42"

    await gateway.hang_up(connected)
    await gateway.hang_up(never_connected)

    assert call_control.hung_up == ["CA_42"]
