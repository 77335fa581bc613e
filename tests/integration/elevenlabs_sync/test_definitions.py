"""The generated ElevenLabs definitions: ``nexus elevenlabs tools --json`` and the agents' prompts."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from elevenlabs.types import (
    AgentPlatformSettingsRequestModel,
    ConversationalConfig,
    ConversationInitiationClientDataRequestInput,
    ToolRequestModel,
)
from pydantic import BaseModel, Field

from domain.models import CallPurpose
from integrations.elevenlabs.agents import (
    AGENT_TOOLS,
    SYSTEM_TOOLS,
    AgentOptions,
    agent_definition,
    load_prompt,
    prompt_variables,
    request_body_schema,
    tool_definitions,
)
from integrations.elevenlabs.gateway import client_data, dynamic_variables
from nexus.cli import main
from tests.support.sdk_models import unknown_fields
from tests.unit.elevenlabs.factories import SLOT, call_request
from tools_server.tools import TOOLS

# Only one source per property: the model fills it (description), or ElevenLabs does (dynamic_variable).
_SOURCES = ("description", "dynamic_variable", "constant_value", "is_system_provided", "is_omitted")


@pytest.fixture
def no_env_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run the command where no .env is, with none of the settings it reads."""
    monkeypatch.chdir(tmp_path)
    for name in ("PUBLIC_BASE_URL", "ELEVENLABS_API_KEY", "TOOLS_SHARED_SECRET"):
        monkeypatch.delenv(name, raising=False)


def tools_json(capsys: pytest.CaptureFixture[str], *args: str) -> list[dict[str, Any]]:
    assert main(["elevenlabs", "tools", "--json", *args]) == 0
    printed: list[dict[str, Any]] = json.loads(capsys.readouterr().out)
    return printed


def walk(schema: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, prop in schema.get("properties", {}).items():
        yield name, prop
        yield from walk(prop)


@pytest.mark.usefixtures("no_env_file")
def test_tools_json_describes_every_endpoint_as_an_elevenlabs_webhook_tool(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://nexus.example/")

    tools = tools_json(capsys, "--secret-id", "secret_42")

    assert [t["name"] for t in tools] == [spec.name for spec in TOOLS]
    for tool, spec in zip(tools, TOOLS, strict=True):
        assert tool["type"] == "webhook"
        assert tool["description"] == spec.description
        assert tool["response_timeout_secs"] == spec.response_timeout_secs
        api = tool["api_schema"]
        assert api["url"] == f"https://nexus.example{spec.path}"
        assert api["method"] == "POST"
        assert api["request_headers"] == {
            "X-Nexus-Tool-Secret": {"secret_id": "secret_42"},
            "X-Nexus-Call-Token": {"variable_name": "secret__call_token"},
        }
        body = api["request_body_schema"]
        assert body["type"] == "object"
        assert set(body["properties"]) == set(spec.request.model_fields)
        assert set(body.get("required", [])) <= set(body["properties"])
        assert body["properties"]["conversation_id"] == {
            "type": "string",
            "dynamic_variable": "system__conversation_id",
        }
        assert "$ref" not in json.dumps(body) and "anyOf" not in json.dumps(body)
        for name, prop in walk(body):
            assert sum(key in prop for key in _SOURCES) == 1, (spec.name, name)
            assert prop["type"] in ("string", "integer", "number", "boolean", "object", "array")


@pytest.mark.usefixtures("no_env_file")
def test_the_end_call_outcome_is_offered_as_a_closed_list(capsys: pytest.CaptureFixture[str]) -> None:
    tools = tools_json(capsys, "--base-url", "https://nexus.example")

    end_call = next(t for t in tools if t["name"] == "end_call")
    outcome = end_call["api_schema"]["request_body_schema"]["properties"]["outcome"]
    assert outcome["type"] == "string"
    assert "offer_made" in outcome["enum"] and "no_availability" in outcome["enum"]
    assert end_call["api_schema"]["request_body_schema"]["required"] == ["outcome"]


@pytest.mark.usefixtures("no_env_file")
def test_without_a_secret_id_the_definitions_say_which_secret_to_create(capsys: pytest.CaptureFixture[str]) -> None:
    tools = tools_json(capsys, "--base-url", "https://nexus.example")

    assert tools[0]["api_schema"]["request_headers"]["X-Nexus-Tool-Secret"] == {
        "secret_id": "<id of the workspace secret nexus_tools_shared_secret>"
    }


@pytest.mark.usefixtures("no_env_file")
def test_the_summary_lists_each_tool_with_its_address(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["elevenlabs", "tools", "--base-url", "https://nexus.example"]) == 0

    out = capsys.readouterr().out
    assert "end_call" in out and "POST https://nexus.example/api/end-call  (answers within 10 s)" in out


@pytest.mark.usefixtures("no_env_file")
@pytest.mark.parametrize(
    ("argv", "sentence"),
    [
        (["elevenlabs", "tools", "--base-url", "nexus.example"], "must be an address starting with https://"),
        (["elevenlabs", "sync"], "set PUBLIC_BASE_URL (or pass --base-url)"),
        (["elevenlabs", "sync", "--base-url", "https://nexus.example"], "needs ELEVENLABS_API_KEY"),
    ],
)
def test_a_missing_setting_is_named(argv: list[str], sentence: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    assert sentence in capsys.readouterr().err


@pytest.mark.usefixtures("no_env_file")
def test_without_a_public_address_the_tools_print_with_a_placeholder_and_say_so(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["elevenlabs", "tools", "--json"]) == 0
    printed = capsys.readouterr()
    tools = json.loads(printed.out)  # stdout stays pure JSON
    assert tools[0]["api_schema"]["url"] == f"https://nexus.example.com{TOOLS[0].path}"
    assert printed.err == (
        "PUBLIC_BASE_URL is not set, so the tool addresses use the placeholder https://nexus.example.com; "
        "set PUBLIC_BASE_URL (or pass --base-url) to see the real ones.\n"
    )


def test_a_field_the_agent_cannot_understand_is_refused_when_generating() -> None:
    class NoDescription(BaseModel):
        when: str

    class EitherOr(BaseModel):
        value: str | int = Field(description="A choice of types.")

    with pytest.raises(ValueError, match="has no description"):
        request_body_schema(NoDescription)
    with pytest.raises(ValueError, match="choice of types"):
        request_body_schema(EitherOr)


@pytest.mark.parametrize("purpose", list(CallPurpose))
def test_prompts_use_only_variables_that_every_call_carries(purpose: CallPurpose) -> None:
    request = call_request(purpose, target_slot=None if purpose is CallPurpose.DISCOVER else SLOT)
    carried = set(dynamic_variables(request))
    agent = agent_definition(purpose, [], AgentOptions())["conversation_config"]["agent"]

    used = prompt_variables(agent["prompt"]["prompt"]) | prompt_variables(agent["first_message"])

    assert used, "a prompt without the call's facts cannot work"
    assert used <= carried, used - carried
    assert "secret__call_token" not in used  # the model must never see the token


def test_only_non_discovery_prompts_rely_on_the_target_slot() -> None:
    discover = agent_definition(CallPurpose.DISCOVER, [], AgentOptions())["conversation_config"]["agent"]
    confirm = agent_definition(CallPurpose.CONFIRM, [], AgentOptions())["conversation_config"]["agent"]

    assert "target_slot" not in prompt_variables(discover["prompt"]["prompt"])
    assert "target_slot" in prompt_variables(confirm["prompt"]["prompt"])


@pytest.mark.parametrize("purpose", list(CallPurpose))
def test_prompts_name_only_tools_their_agent_has(purpose: CallPurpose) -> None:
    every_tool = {spec.name for spec in TOOLS} | set(SYSTEM_TOOLS)
    named = set(re.findall(r"`([a-z_]+)`", load_prompt(purpose))) & every_tool

    assert named == set(AGENT_TOOLS[purpose]) | set(SYSTEM_TOOLS)


def test_every_tool_definition_is_a_webhook_tool_the_sdk_knows_field_by_field() -> None:
    for definition in tool_definitions("https://nexus.example", "secret_1"):
        request = ToolRequestModel.model_validate({"tool_config": definition})
        config = request.tool_config

        assert type(config).__name__ == "ToolRequestModelToolConfig_Webhook"
        assert list(unknown_fields(request)) == [], definition["name"]
        # Hidden error bodies would keep the agent from hearing a 401 or 503's sentence.
        assert config.tool_error_handling_mode == "passthrough"


@pytest.mark.parametrize("language", ["en", "de"])
@pytest.mark.parametrize("purpose", list(CallPurpose))
def test_every_agent_is_a_config_the_sdk_knows_field_by_field(purpose: CallPurpose, language: str) -> None:
    definition = agent_definition(purpose, ["tool_1"], AgentOptions(language=language, voice_id="voice_1"))

    conversation = ConversationalConfig.model_validate(definition["conversation_config"])
    platform = AgentPlatformSettingsRequestModel.model_validate(definition["platform_settings"])

    assert list(unknown_fields(conversation)) == []
    assert list(unknown_fields(platform)) == []
    assert conversation.agent is not None and conversation.agent.language == language
    assert conversation.tts is not None and conversation.tts.model_id in ("eleven_turbo_v2_5", "eleven_flash_v2_5")
    # Each call may set its language and first message, and nothing else.
    assert platform.overrides is not None and platform.overrides.conversation_config_override is not None
    agent_override = platform.overrides.conversation_config_override.agent
    assert agent_override is not None
    assert agent_override.model_dump(exclude_none=True) == {"language": True, "first_message": True}
    # The other language is a preset with its own first message.
    other = "de" if language == "en" else "en"
    presets = conversation.language_presets or {}
    assert set(presets) == {other}
    preset_agent = presets[other].overrides.agent
    assert preset_agent is not None and preset_agent.language == other


@pytest.mark.parametrize("purpose", list(CallPurpose))
def test_voicemail_and_keypad_are_on_and_no_two_tools_share_a_name(purpose: CallPurpose) -> None:
    definition = agent_definition(purpose, ["tool_1"], AgentOptions())
    conversation = ConversationalConfig.model_validate(definition["conversation_config"])
    assert conversation.agent is not None and conversation.agent.prompt is not None
    built_in = conversation.agent.prompt.built_in_tools
    assert built_in is not None

    system = {kind: getattr(built_in, kind) for kind in ("end_call", "voicemail_detection", "play_keypad_touch_tone")}

    assert all(tool is not None for tool in system.values())
    assert {kind: tool.params.system_tool_type for kind, tool in system.items() if tool} == {
        kind: kind for kind in system
    }
    names = [tool.name for tool in system.values() if tool] + list(AGENT_TOOLS[purpose])
    assert len(names) == len(set(names)), names
    assert "end_call" not in [tool.name for tool in system.values() if tool]  # that name is our webhook tool's


def test_a_system_tool_named_like_a_webhook_tool_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    from integrations.elevenlabs import agents

    monkeypatch.setattr(agents, "HANG_UP_TOOL", "end_call")

    with pytest.raises(ValueError, match="two tools named end_call"):
        agents.agent_definition(CallPurpose.CONFIRM, [], AgentOptions())


@pytest.mark.parametrize("language", ["en", "de"])
@pytest.mark.parametrize("purpose", list(CallPurpose))
def test_what_a_call_sends_is_what_the_sdk_knows_field_by_field(purpose: CallPurpose, language: str) -> None:
    request = call_request(purpose, language=language, target_slot=None if purpose is CallPurpose.DISCOVER else SLOT)

    data = ConversationInitiationClientDataRequestInput.model_validate(client_data(request).model_dump())

    assert list(unknown_fields(data)) == []
    assert data.conversation_config_override is not None
    assert data.conversation_config_override.agent is not None
    first = data.conversation_config_override.agent.first_message or ""
    assert prompt_variables(first) <= set(data.dynamic_variables or {})


@pytest.mark.parametrize("purpose", list(CallPurpose))
def test_every_agent_records_no_audio_and_keeps_transcripts_only_as_long_as_the_setting_says(
    purpose: CallPurpose,
) -> None:
    default = AgentPlatformSettingsRequestModel.model_validate(
        agent_definition(purpose, [], AgentOptions())["platform_settings"]
    )
    chosen = AgentPlatformSettingsRequestModel.model_validate(
        agent_definition(purpose, [], AgentOptions(record_voice=True, retention_days=7))["platform_settings"]
    )

    assert default.privacy is not None and list(unknown_fields(default.privacy)) == []
    assert (default.privacy.record_voice, default.privacy.retention_days) == (False, 30)
    assert chosen.privacy is not None and (chosen.privacy.record_voice, chosen.privacy.retention_days) == (True, 7)
