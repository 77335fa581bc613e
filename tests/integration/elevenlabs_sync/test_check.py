"""``nexus elevenlabs check`` against a fake workspace: silent after a sync, and every drift named."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import httpx
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from elevenlabs import AsyncElevenLabs

from domain.models import CallPurpose
from integrations.elevenlabs import make_elevenlabs_client
from integrations.elevenlabs.agents import AgentOptions, expert_agents, sync_agents
from integrations.elevenlabs.check import check_workspace
from nexus.commands.elevenlabs import run_check, run_sync
from nexus.settings import Settings
from tests.integration.elevenlabs_sync.fake_workspace import API_KEY, FakeWorkspace

BASE_URL = "https://nexus.example"
TOOL_SECRET = "shared-tool-secret-0b7e"

ServerMaker = Callable[[web.Application], Awaitable[TestServer]]


@pytest.fixture
def workspace() -> FakeWorkspace:
    return FakeWorkspace()


@pytest.fixture
async def server(workspace: FakeWorkspace, aiohttp_server: ServerMaker) -> TestServer:
    return await aiohttp_server(workspace.app())


@pytest.fixture
async def client(server: TestServer) -> AsyncIterator[AsyncElevenLabs]:
    async with httpx.AsyncClient() as http:
        yield make_elevenlabs_client(API_KEY, str(server.make_url("/")), http_client=http)


def problems(found: list[object]) -> list[str]:
    return [str(difference) for difference in found]


async def test_a_synced_workspace_has_no_differences(workspace: FakeWorkspace, client: AsyncElevenLabs) -> None:
    report = await sync_agents(client, BASE_URL, TOOL_SECRET, AgentOptions(language="de", voice_id="voice_7"))
    configured = {purpose: synced.id for purpose, synced in report.agents.items()}

    found = await check_workspace(client, BASE_URL, AgentOptions(language="de", voice_id="voice_7"), configured)

    assert problems(found) == []


async def test_an_empty_workspace_lacks_everything(client: AsyncElevenLabs) -> None:
    found = problems(await check_workspace(client, BASE_URL))

    assert found == [
        "workspace secret nexus_tools_shared_secret: is missing.",
        "tool check_availability: is missing.",
        "tool report_slot_offer: is missing.",
        "tool book_slot: is missing.",
        "tool end_call: is missing.",
        "tool get_distance: is missing.",
        "tool ask_user: is missing.",
        "tool get_instructions: is missing.",
        "tool request_handover: is missing.",
        "post-call webhook NEXUS post-call: is missing.",
        "agent NEXUS discover: is missing.",
        "agent NEXUS confirm: is missing.",
        "agent NEXUS cancel: is missing.",
        "agent NEXUS reschedule: is missing.",
        *(f"agent NEXUS discover {key.replace('/', ' (')}): is missing." for key, _, _ in expert_agents()),
    ]


async def test_every_drift_is_named(workspace: FakeWorkspace, client: AsyncElevenLabs) -> None:
    report = await sync_agents(client, BASE_URL, TOOL_SECRET)
    tool_ids = {t.name: t.id for t in report.tools}
    discover = workspace.agents[report.agents[CallPurpose.DISCOVER].id]
    confirm = workspace.agents[report.agents[CallPurpose.CONFIRM].id]
    # Someone edits things in the dashboard.
    workspace.tools[tool_ids["check_availability"]]["api_schema"]["url"] = "https://old.example/api/check-availability"
    workspace.tools[tool_ids["book_slot"]]["tool_error_handling_mode"] = "hide"
    workspace.add_foreign_tool("end_call")
    workspace.webhooks[report.webhook.id]["is_auto_disabled"] = True
    discover["conversation_config"]["agent"]["language"] = "fr"
    discover["platform_settings"]["workspace_overrides"]["webhooks"]["events"].append("audio")
    del confirm["platform_settings"]["overrides"]
    confirm["conversation_config"]["agent"]["prompt"]["tool_ids"] = [tool_ids["end_call"]]
    configured = {
        CallPurpose.DISCOVER: report.agents[CallPurpose.DISCOVER].id,
        CallPurpose.CONFIRM: "agent_from_an_old_sync",
        CallPurpose.CANCEL: None,
        CallPurpose.RESCHEDULE: report.agents[CallPurpose.RESCHEDULE].id,
    }

    found = problems(await check_workspace(client, BASE_URL, configured_agents=configured))

    cancel_id, confirm_id = report.agents[CallPurpose.CANCEL].id, report.agents[CallPurpose.CONFIRM].id
    assert found == [
        "tool check_availability: api_schema.url is 'https://old.example/api/check-availability', "
        "NEXUS expects 'https://nexus.example/api/check-availability'.",
        "tool book_slot: tool_error_handling_mode is 'hide', NEXUS expects 'passthrough'.",
        "tool end_call: 2 webhook tools have this name; keep one.",
        "post-call webhook NEXUS post-call: was switched off by ElevenLabs after failed deliveries.",
        "agent NEXUS discover: conversation_config.agent.language is 'fr', NEXUS expects 'en'.",
        "agent NEXUS discover: platform_settings.workspace_overrides.webhooks.events is "
        "['transcript', 'call_initiation_failure', 'audio'], NEXUS expects ['transcript', 'call_initiation_failure'].",
        f"setting ELEVENLABS_AGENT_ID_CONFIRM: is 'agent_from_an_old_sync', but the agent 'NEXUS confirm' is "
        f"{confirm_id}. Set ELEVENLABS_AGENT_ID_CONFIRM={confirm_id}.",
        f"agent NEXUS confirm: conversation_config.agent.prompt.tool_ids is ['{tool_ids['end_call']}'], NEXUS expects "
        f"['{tool_ids['book_slot']}', '{tool_ids['end_call']}'].",
        "agent NEXUS confirm: platform_settings.overrides is missing (NEXUS sets {'conversation_config_override': "
        "{'agent': {'language': True, 'first_message'...).",
        f"setting ELEVENLABS_AGENT_ID_CANCEL: is not set. Set ELEVENLABS_AGENT_ID_CANCEL={cancel_id}.",
    ]


@pytest.fixture
def environment(server: TestServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("ELEVENLABS_API_KEY", API_KEY)
    monkeypatch.setenv("ELEVENLABS_BASE_URL", str(server.make_url("/")))
    monkeypatch.setenv("TOOLS_SHARED_SECRET", TOOL_SECRET)


@pytest.mark.usefixtures("environment")
async def test_sync_prints_where_the_webhook_secret_goes_once_and_check_agrees(
    workspace: FakeWorkspace, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert await run_sync(Settings(), BASE_URL, AgentOptions()) == 0
    first = capsys.readouterr().out
    [webhook_id] = workspace.webhooks
    assert f"ELEVENLABS_WEBHOOK_SECRET={workspace.webhook_secrets[webhook_id]}" in first
    assert "ElevenLabs shows the webhook's secret only now" in first
    for line in first.splitlines():
        if line.startswith("ELEVENLABS_AGENT_ID_"):
            name, value = line.split("=", 1)
            monkeypatch.setenv(name, value)

    assert await run_sync(Settings(), BASE_URL, AgentOptions()) == 0
    second = capsys.readouterr().out
    assert "ELEVENLABS_WEBHOOK_SECRET=" not in second
    assert "stays the secret printed when the webhook was created" in second

    assert await run_check(Settings(), BASE_URL, AgentOptions()) == 0
    assert "holds what NEXUS expects" in capsys.readouterr().out


@pytest.mark.usefixtures("environment")
async def test_check_lists_the_differences_and_fails(capsys: pytest.CaptureFixture[str]) -> None:
    assert await run_check(Settings(), BASE_URL, AgentOptions()) == 1

    out = capsys.readouterr().out
    assert out.startswith(f"{14 + len(expert_agents())} difference(s) from what NEXUS expects:\n  - workspace secret")
    assert out.rstrip().endswith("Run nexus elevenlabs sync (with the same options) to set them right.")
