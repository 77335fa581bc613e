"""The generated ElevenLabs definitions: ``nexus elevenlabs tools --json`` and the agents' prompts."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, Field

from domain.models import CallPurpose
from integrations.elevenlabs.agents import (
    AGENT_TOOLS,
    HANG_UP_TOOL,
    AgentOptions,
    agent_definition,
    load_prompt,
    prompt_variables,
    request_body_schema,
)
from integrations.elevenlabs.gateway import dynamic_variables
from nexus.cli import main
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
    every_tool = {spec.name for spec in TOOLS} | {HANG_UP_TOOL}
    named = set(re.findall(r"`([a-z_]+)`", load_prompt(purpose))) & every_tool

    assert named == set(AGENT_TOOLS[purpose]) | {HANG_UP_TOOL}
