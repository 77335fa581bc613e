"""The handover to the user as ElevenLabs configuration, checked against the SDK's own models field by field:
request_handover's answer feeds the transfer tool's number (hidden from the model), and only discovery
agents can put a call through."""

from __future__ import annotations

from elevenlabs.types import ConversationalConfig, ToolRequestModel

from domain.models import CallPurpose
from integrations.elevenlabs.agents import (
    HANDOVER_PHONE_VARIABLE,
    TRANSFER_TOOL,
    AgentOptions,
    agent_definition,
    load_prompt,
    tool_definitions,
)
from integrations.elevenlabs.gateway import dynamic_variables
from tests.support.sdk_models import unknown_fields
from tests.unit.elevenlabs.factories import SLOT, call_request


def test_request_handover_hands_the_number_to_the_transfer_tool_and_not_to_the_model() -> None:
    definitions = {d["name"]: d for d in tool_definitions("https://nexus.example")}

    request = ToolRequestModel.model_validate({"tool_config": definitions["request_handover"]})

    assert list(unknown_fields(request)) == []
    [assignment] = request.tool_config.assignments  # type: ignore[union-attr]
    assert (assignment.dynamic_variable, assignment.value_path) == (HANDOVER_PHONE_VARIABLE, "phone_number")
    assert assignment.sanitize is True and assignment.source == "response"
    assert "assignments" not in definitions["ask_user"]
    # the client's answer may take a while: the tool waits longer than ASK_USER_WAIT_SECONDS may be set
    assert definitions["ask_user"]["response_timeout_secs"] == 30


def test_only_discovery_agents_can_transfer_and_to_the_number_request_handover_gave() -> None:
    for purpose in CallPurpose:
        definition = agent_definition(purpose, ["tool_1"], AgentOptions())
        conversation = ConversationalConfig.model_validate(definition["conversation_config"])
        assert list(unknown_fields(conversation)) == []
        assert conversation.agent is not None and conversation.agent.prompt is not None
        built_in = conversation.agent.prompt.built_in_tools
        assert built_in is not None
        if purpose is not CallPurpose.DISCOVER:
            assert built_in.transfer_to_number is None
            continue
        transfer = built_in.transfer_to_number
        assert transfer is not None and transfer.name == TRANSFER_TOOL
        params = transfer.params
        assert params.system_tool_type == "transfer_to_number"
        [target] = params.transfers  # type: ignore[union-attr]
        assert target.transfer_destination.type == "phone_dynamic_variable"
        assert target.transfer_destination.phone_number == "{{" + HANDOVER_PHONE_VARIABLE + "}}"


def test_the_discovery_prompt_says_when_to_ask_the_user_fetch_instructions_and_hand_over() -> None:
    prompt = load_prompt(CallPurpose.DISCOVER)

    for tool in ("ask_user", "get_instructions", "request_handover", TRANSFER_TOOL):
        assert f"`{tool}`" in prompt
    assert "`handed_over`" in prompt


def test_a_discovery_call_starts_with_an_empty_handover_number() -> None:
    discover = dynamic_variables(call_request(CallPurpose.DISCOVER))
    confirm = dynamic_variables(call_request(CallPurpose.CONFIRM, target_slot=SLOT))

    assert discover[HANDOVER_PHONE_VARIABLE] == ""
    assert HANDOVER_PHONE_VARIABLE not in confirm
