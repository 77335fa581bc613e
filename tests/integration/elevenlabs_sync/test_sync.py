"""``sync_agents`` against a fake ElevenLabs workspace: creates once, then updates in place, with the right bodies."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from elevenlabs import AsyncElevenLabs
from elevenlabs.core.api_error import ApiError

from domain.models import CallOutcome, CallPurpose
from integrations.elevenlabs import make_elevenlabs_client
from integrations.elevenlabs.agents import (
    AGENT_NAMES,
    AGENT_TOOLS,
    TOOL_SECRET_NAME,
    AgentOptions,
    expert_agents,
    load_prompt,
    sync_agents,
    tool_definitions,
)
from tests.integration.elevenlabs_sync.fake_workspace import API_KEY, FakeWorkspace
from tools_server.tools import TOOLS

BASE_URL = "https://nexus.example"
TOOL_SECRET = "shared-tool-secret-0b7e"

ServerMaker = Callable[[web.Application], Awaitable[TestServer]]


@pytest.fixture
def workspace() -> FakeWorkspace:
    return FakeWorkspace()


@pytest.fixture
async def client(workspace: FakeWorkspace, aiohttp_server: ServerMaker) -> AsyncIterator[AsyncElevenLabs]:
    server = await aiohttp_server(workspace.app())
    async with httpx.AsyncClient() as http:
        yield make_elevenlabs_client(API_KEY, str(server.make_url("/")), http_client=http)


def by_name(workspace: FakeWorkspace) -> dict[str, str]:
    return {config["name"]: tool_id for tool_id, config in workspace.tools.items()}


def prompt_of(agent: dict[str, Any]) -> dict[str, Any]:
    prompt: dict[str, Any] = agent["conversation_config"]["agent"]["prompt"]
    return prompt


async def test_the_first_sync_creates_the_secret_tools_and_agents(
    workspace: FakeWorkspace, client: AsyncElevenLabs
) -> None:
    report = await sync_agents(client, BASE_URL, TOOL_SECRET, AgentOptions(timezone="Europe/Berlin"))

    assert report.secret.action == "created"
    assert workspace.secret_values == {report.secret.id: TOOL_SECRET}
    assert [(t.name, t.action) for t in report.tools] == [(spec.name, "created") for spec in TOOLS]
    # What ElevenLabs stores is exactly what `nexus elevenlabs tools --json` shows, with the real secret id.
    assert list(workspace.tools.values()) == tool_definitions(BASE_URL, report.secret.id)

    tool_ids = by_name(workspace)
    assert {purpose: a.action for purpose, a in report.agents.items()} == dict.fromkeys(CallPurpose, "created")
    for purpose, synced in report.agents.items():
        agent = workspace.agents[synced.id]
        assert agent["name"] == AGENT_NAMES[purpose]
        prompt = prompt_of(agent)
        assert prompt["prompt"] == load_prompt(purpose)
        assert prompt["tool_ids"] == [tool_ids[name] for name in AGENT_TOOLS[purpose]]
        assert prompt["timezone"] == "Europe/Berlin"
        assert prompt["built_in_tools"]["end_call"]["params"] == {"system_tool_type": "end_call"}
        outcome = agent["platform_settings"]["data_collection"]["outcome"]
        assert outcome["enum"] == [o.value for o in CallOutcome]


async def test_a_discovery_agent_cannot_book(workspace: FakeWorkspace, client: AsyncElevenLabs) -> None:
    report = await sync_agents(client, BASE_URL, TOOL_SECRET)

    book_slot = by_name(workspace)["book_slot"]
    discover = workspace.agents[report.agents[CallPurpose.DISCOVER].id]
    confirm = workspace.agents[report.agents[CallPurpose.CONFIRM].id]
    assert book_slot not in prompt_of(discover)["tool_ids"]
    assert book_slot in prompt_of(confirm)["tool_ids"]


async def test_a_second_sync_updates_everything_in_place(workspace: FakeWorkspace, client: AsyncElevenLabs) -> None:
    first = await sync_agents(client, BASE_URL, TOOL_SECRET)
    posts_before = len([r for r in workspace.seen if r.method == "POST"])

    second = await sync_agents(client, "https://moved.example/", "rotated-secret", AgentOptions(voice_id="voice_7"))

    # Nothing new created but the webhook at the new address (a webhook's address cannot be changed).
    posts = [r.path for r in workspace.seen if r.method == "POST"]
    assert posts[posts_before:] == ["/v1/workspace/webhooks"]
    assert second.secret.id == first.secret.id
    assert second.secret.action == "updated"
    assert workspace.secret_values == {first.secret.id: "rotated-secret"}
    assert [(t.id, t.action) for t in second.tools] == [(t.id, "updated") for t in first.tools]
    assert {p: a.id for p, a in second.agents.items()} == {p: a.id for p, a in first.agents.items()}
    assert len(workspace.tools) == len(TOOLS)
    assert len(workspace.agents) == len(CallPurpose) + len(expert_agents())
    urls = sorted(config["api_schema"]["url"] for config in workspace.tools.values())
    assert urls == sorted(f"https://moved.example{spec.path}" for spec in TOOLS)
    for agent in workspace.agents.values():
        assert agent["conversation_config"]["tts"] == {"model_id": "eleven_turbo_v2_5", "voice_id": "voice_7"}


async def test_sync_finds_its_own_among_many_and_leaves_others_alone(
    workspace: FakeWorkspace, client: AsyncElevenLabs
) -> None:
    foreign_tools = {workspace.add_foreign_tool(f"someone_elses_tool_{i}") for i in range(6)}
    lookalike = workspace.add_foreign_agent("NEXUS discover (old copy)")
    first = await sync_agents(client, BASE_URL, TOOL_SECRET)
    foreign_tools |= {workspace.add_foreign_tool(f"later_tool_{i}") for i in range(3)}

    second = await sync_agents(client, BASE_URL, TOOL_SECRET)

    assert [t.id for t in second.tools] == [t.id for t in first.tools]  # found on later pages
    assert second.agents[CallPurpose.DISCOVER].id != lookalike
    assert workspace.agents[lookalike] == {"name": "NEXUS discover (old copy)", "tags": []}
    assert all(workspace.tools[t]["description"] == "Not ours." for t in foreign_tools)
    patched = {r.path.rsplit("/", 1)[-1] for r in workspace.requests("PATCH", "/v1/convai/tools/")}
    assert patched == {t.id for t in first.tools}


async def test_a_refused_api_key_is_an_error_and_creates_nothing(
    workspace: FakeWorkspace, aiohttp_server: ServerMaker
) -> None:
    server = await aiohttp_server(workspace.app())
    async with httpx.AsyncClient() as http:
        client = make_elevenlabs_client("xi-wrong", str(server.make_url("/")), http_client=http)
        with pytest.raises(ApiError) as raised:
            await sync_agents(client, BASE_URL, TOOL_SECRET)

    assert raised.value.status_code == 401
    assert workspace.secrets == {} and workspace.tools == {} and workspace.agents == {}


async def test_sync_refuses_an_empty_tool_secret(client: AsyncElevenLabs, workspace: FakeWorkspace) -> None:
    with pytest.raises(ValueError, match="TOOLS_SHARED_SECRET"):
        await sync_agents(client, BASE_URL, "")

    assert workspace.seen == []


def test_the_secret_keeps_its_documented_name() -> None:
    # Renaming it would make the next sync create a second secret and leave the first behind.
    assert TOOL_SECRET_NAME == "nexus_tools_shared_secret"


# --- the post-call webhook -----------------------------------------------------------------------


def subscription(agent: dict[str, Any]) -> dict[str, Any]:
    webhooks: dict[str, Any] = agent["platform_settings"]["workspace_overrides"]["webhooks"]
    return webhooks


async def test_the_first_sync_creates_the_webhook_and_subscribes_every_agent(
    workspace: FakeWorkspace, client: AsyncElevenLabs
) -> None:
    report = await sync_agents(client, BASE_URL, TOOL_SECRET)

    [(webhook_id, webhook)] = workspace.webhooks.items()
    assert webhook == {
        "name": "NEXUS post-call",
        "webhook_url": f"{BASE_URL}/webhooks/elevenlabs",
        "is_disabled": False,
    }
    [created] = workspace.requests("POST", "/v1/workspace/webhooks")
    assert created.body["settings"]["auth_type"] == "hmac"
    assert (report.webhook.id, report.webhook.action) == (webhook_id, "created")
    assert report.webhook.secret == workspace.webhook_secrets[webhook_id]
    for agent in workspace.agents.values():
        assert subscription(agent) == {
            "post_call_webhook_id": webhook_id,
            "events": ["transcript", "call_initiation_failure"],
            "send_audio": False,
        }


async def test_a_second_sync_keeps_the_webhook_and_its_secret(
    workspace: FakeWorkspace, client: AsyncElevenLabs
) -> None:
    first = await sync_agents(client, BASE_URL, TOOL_SECRET)

    second = await sync_agents(client, BASE_URL + "/", TOOL_SECRET)

    assert (second.webhook.id, second.webhook.action, second.webhook.secret) == (first.webhook.id, "kept", None)
    assert len(workspace.requests("POST", "/v1/workspace/webhooks")) == 1
    assert list(workspace.webhooks) == [first.webhook.id]


async def test_a_webhook_the_provider_switched_off_is_switched_on_again(
    workspace: FakeWorkspace, client: AsyncElevenLabs
) -> None:
    first = await sync_agents(client, BASE_URL, TOOL_SECRET)
    workspace.webhooks[first.webhook.id]["is_auto_disabled"] = True

    second = await sync_agents(client, BASE_URL, TOOL_SECRET)

    assert (second.webhook.id, second.webhook.action) == (first.webhook.id, "enabled")
    assert workspace.webhooks[first.webhook.id]["is_auto_disabled"] is False


async def test_moving_nexus_replaces_the_webhook_after_the_agents_moved(
    workspace: FakeWorkspace, client: AsyncElevenLabs
) -> None:
    first = await sync_agents(client, BASE_URL, TOOL_SECRET)
    others = workspace.add_foreign_webhook("Someone else's", "https://elsewhere.example/hook")

    second = await sync_agents(client, "https://moved.example", TOOL_SECRET)

    assert second.webhook.action == "replaced"
    assert second.webhook.secret == workspace.webhook_secrets[second.webhook.id]
    assert set(workspace.webhooks) == {second.webhook.id, others}
    assert workspace.webhooks[second.webhook.id]["webhook_url"] == "https://moved.example/webhooks/elevenlabs"
    assert all(subscription(a)["post_call_webhook_id"] == second.webhook.id for a in workspace.agents.values())
    # The old webhook went only after the last agent stopped using it.
    order = [(r.method, r.path) for r in workspace.seen]
    last_agent_update = max(i for i, (m, p) in enumerate(order) if m == "PATCH" and p.startswith("/v1/convai/agents/"))
    assert order.index(("DELETE", f"/v1/workspace/webhooks/{first.webhook.id}")) > last_agent_update


async def test_sync_makes_one_discovery_agent_per_expert_and_language_valid_for_the_sdk(
    workspace: FakeWorkspace, client: AsyncElevenLabs
) -> None:
    report = await sync_agents(client, BASE_URL, TOOL_SECRET)

    assert set(report.experts) == {
        f"{service}/{language}" for service in ("dentist", "mechanic", "hairdresser") for language in ("en", "de")
    }
    tool_ids = by_name(workspace)
    german_dentist = workspace.agents[report.experts["dentist/de"].id]
    assert german_dentist["name"] == "NEXUS discover dentist (de)"
    agent = german_dentist["conversation_config"]["agent"]
    assert agent["language"] == "de"
    prompt = prompt_of(german_dentist)["prompt"]
    assert prompt.startswith(load_prompt(CallPurpose.DISCOVER))
    assert "Sind Sie gesetzlich oder privat versichert?" in prompt
    assert "{{client_answers}}" in prompt
    assert prompt_of(german_dentist)["tool_ids"] == [tool_ids[name] for name in AGENT_TOOLS[CallPurpose.DISCOVER]]
    collected = german_dentist["platform_settings"]["data_collection"]
    # the general discovery agent's fields (outcome, when to call back) and the expert's own
    assert set(collected) == {"outcome", "call_back_at", "takes_insurance", "treatment_notes"}
    assert collected["takes_insurance"]["type"] == "boolean"
    english_mechanic = workspace.agents[report.experts["mechanic/en"].id]
    assert "What make and model is the car?" in prompt_of(english_mechanic)["prompt"]

    again = await sync_agents(client, BASE_URL, TOOL_SECRET)

    assert {k: (a.id, a.action) for k, a in again.experts.items()} == {
        k: (a.id, "updated") for k, a in report.experts.items()
    }
