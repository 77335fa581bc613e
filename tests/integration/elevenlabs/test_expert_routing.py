"""Discovery calls of a service with an expert go to the expert agent of the campaign's language, with the user's
answers to the expert's questions; other calls, and services without an expert, go to the general agents."""

from __future__ import annotations

from dataclasses import replace

import pytest
from elevenlabs import AsyncElevenLabs

from domain.models import CallPurpose
from integrations.elevenlabs import DiallingPolicy, ElevenLabsVoiceGateway, dynamic_variables
from integrations.elevenlabs.agents import AgentOptions, expert_agent_definition, expert_agents, prompt_variables
from integrations.elevenlabs.gateway import parse_expert_agent_ids
from tests.integration.elevenlabs.conftest import FakeElevenLabs
from tests.integration.elevenlabs.test_gateway import AGENTS, RecordingCallControl
from tests.unit.elevenlabs.factories import SLOT, call_request

EXPERTS = "dentist/de=agent_dentist_de, dentist/en=agent_dentist_en,hairdresser/en=agent_hair_en"


def gateway(client: AsyncElevenLabs) -> ElevenLabsVoiceGateway:
    return ElevenLabsVoiceGateway(
        client,
        agent_ids=AGENTS,
        agent_phone_number_id="phnum_1",
        dialling=DiallingPolicy.live(),
        call_control=RecordingCallControl(),
        ring_timeout_seconds=25,
        expert_agent_ids=parse_expert_agent_ids(EXPERTS),
    )


async def test_a_german_dentist_search_is_called_by_the_german_dentist_expert_with_the_answers(
    elevenlabs_client: AsyncElevenLabs, fake_elevenlabs: FakeElevenLabs
) -> None:
    request = call_request(language="de")
    request = replace(request, campaign=replace(request.campaign, answers={"visit": "pain", "insurance": "private"}))

    await gateway(elevenlabs_client).place_call(request)

    [seen] = fake_elevenlabs.seen
    assert seen.body["agent_id"] == "agent_dentist_de"
    variables = seen.body["conversation_initiation_client_data"]["dynamic_variables"]
    assert variables["client_answers"] == (
        "Geht es um eine Kontrolle, oder haben Sie Schmerzen? Schmerzen, es ist dringend. "
        "Sind Sie gesetzlich oder privat versichert? privat versichert."
    )


async def test_other_purposes_and_services_without_an_expert_agent_go_to_the_general_agents(
    elevenlabs_client: AsyncElevenLabs, fake_elevenlabs: FakeElevenLabs
) -> None:
    calls = gateway(elevenlabs_client)
    vet = call_request()
    vet = replace(vet, campaign=replace(vet.campaign, service="veterinarian"))
    mechanic = call_request(language="de")
    mechanic = replace(mechanic, campaign=replace(mechanic.campaign, service="mechanic"))  # no agent synced yet

    await calls.place_call(call_request(CallPurpose.CONFIRM, language="de", target_slot=SLOT))
    await calls.place_call(vet)
    await calls.place_call(mechanic)

    assert [s.body["agent_id"] for s in fake_elevenlabs.seen] == ["agent_confirm", "agent_discover", "agent_discover"]
    assert [
        s.body["conversation_initiation_client_data"]["dynamic_variables"]["client_answers"]
        for s in fake_elevenlabs.seen
    ] == ["", "", ""]


@pytest.mark.parametrize("text", ["dentist=agent_1", "dentist/fr=agent_1", "/de=agent_1", "dentist/de="])
def test_a_malformed_expert_setting_is_named(text: str) -> None:
    with pytest.raises(ValueError, match="is not service/language=agent id"):
        parse_expert_agent_ids(text)


@pytest.mark.parametrize(("key", "service", "language"), expert_agents())
def test_expert_prompts_use_only_variables_that_every_call_carries(key: str, service: str, language: str) -> None:
    agent = expert_agent_definition(service, language, [], AgentOptions())["conversation_config"]["agent"]
    carried = set(dynamic_variables(call_request(language=language)))

    used = prompt_variables(agent["prompt"]["prompt"]) | prompt_variables(agent["first_message"])

    assert "client_answers" in used
    assert used <= carried, used - carried
    assert key == f"{service}/{language}"
