"""Reading the ElevenLabs workspace back: does it hold what ``sync_agents`` would make of it?

``check_workspace`` reads the tool secret, the webhook tools, the post-call webhook, the three agents and the
expert agents, and reports every difference from what NEXUS expects, each as a sentence naming the thing and the
fix. Only what NEXUS sets is compared: fields the platform adds on its own are left alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from elevenlabs import AsyncElevenLabs
from elevenlabs.core.request_options import RequestOptions

from domain.models import CallPurpose
from integrations.elevenlabs.agents import (
    AGENT_NAMES,
    AGENT_TOOLS,
    SECRET_ID_PLACEHOLDER,
    TOOL_SECRET_NAME,
    AgentOptions,
    agent_definition,
    agent_id_by_name,
    expert_agent_definition,
    expert_agent_name,
    expert_agents,
    find_secret_id,
    tool_definitions,
    webhook_tools_by_name,
)
from integrations.elevenlabs.webhook_setup import WEBHOOK_NAME, find_webhook, webhook_url

_READ = RequestOptions(timeout_in_seconds=20, max_retries=2)
# Lists whose order means nothing: compared as sets.
_UNORDERED = frozenset({"tool_ids", "tags", "events"})


@dataclass(frozen=True, slots=True)
class Difference:
    """One way the workspace is not what NEXUS expects: ``what`` it is about, and the ``problem``."""

    what: str
    problem: str

    def __str__(self) -> str:
        return f"{self.what}: {self.problem}"


async def check_workspace(
    client: AsyncElevenLabs,
    base_url: str,
    options: AgentOptions | None = None,
    configured_agents: Mapping[CallPurpose, str | None] | None = None,
) -> list[Difference]:
    """Every difference between the workspace and what ``sync_agents(client, base_url, ..., options)`` makes;
    ``configured_agents`` are the agent ids the settings name (``ELEVENLABS_AGENT_ID_*``)."""
    options = options or AgentOptions()
    found: list[Difference] = []

    secret_id = await find_secret_id(client)
    if secret_id is None:
        found.append(Difference(f"workspace secret {TOOL_SECRET_NAME}", "is missing."))

    tools = await webhook_tools_by_name(client)
    tool_ids: dict[str, str] = {}
    for expected in tool_definitions(base_url, secret_id or SECRET_ID_PLACEHOLDER):
        what = f"tool {expected['name']}"
        copies = tools.get(expected["name"], [])
        if not copies:
            found.append(Difference(what, "is missing."))
            continue
        if len(copies) > 1:
            found.append(Difference(what, f"{len(copies)} webhook tools have this name; keep one."))
        tool_ids[expected["name"]] = copies[0].id
        stored = copies[0].tool_config.model_dump(mode="json", exclude_none=True)
        if secret_id is None:  # already reported; the header's secret id cannot be compared
            expected["api_schema"]["request_headers"].pop("X-Nexus-Tool-Secret", None)
        found += [Difference(what, problem) for problem in _compare(expected, stored)]

    webhook_id = await _check_webhook(client, base_url, found)

    for purpose in CallPurpose:
        name = AGENT_NAMES[purpose]
        agent_id = await agent_id_by_name(client, name)
        if agent_id is None:
            found.append(Difference(f"agent {name}", "is missing."))
            continue
        configured = (configured_agents or {}).get(purpose)
        setting = f"ELEVENLABS_AGENT_ID_{purpose.value}"
        if configured_agents is not None and configured != agent_id:
            problem = f"is {configured!r}, but the agent {name!r} is {agent_id}." if configured else "is not set."
            found.append(Difference(f"setting {setting}", problem + f" Set {setting}={agent_id}."))
        ids = [tool_ids.get(tool, f"<{tool}>") for tool in AGENT_TOOLS[purpose]]
        expected_agent = agent_definition(purpose, ids, options, webhook_id or "<the post-call webhook>")
        found += await _compare_agent(client, agent_id, expected_agent)

    discover_ids = [tool_ids.get(tool, f"<{tool}>") for tool in AGENT_TOOLS[CallPurpose.DISCOVER]]
    for _, service, language in expert_agents():
        name = expert_agent_name(service, language)
        agent_id = await agent_id_by_name(client, name)
        if agent_id is None:
            found.append(Difference(f"agent {name}", "is missing."))
            continue
        expected_agent = expert_agent_definition(
            service, language, discover_ids, options, webhook_id or "<the post-call webhook>"
        )
        found += await _compare_agent(client, agent_id, expected_agent)
    return found


async def _compare_agent(client: AsyncElevenLabs, agent_id: str, expected: dict[str, Any]) -> list[Difference]:
    """What differs between the stored agent and the definition sync would give it."""
    agent = await client.conversational_ai.agents.get(agent_id, request_options=_READ)
    stored_agent = {
        "name": agent.name,
        "tags": agent.tags or [],
        "conversation_config": agent.conversation_config.model_dump(mode="json", exclude_none=True),
        "platform_settings": (
            agent.platform_settings.model_dump(mode="json", exclude_none=True) if agent.platform_settings else {}
        ),
    }
    return [Difference(f"agent {expected['name']}", problem) for problem in _compare(expected, stored_agent)]


async def _check_webhook(client: AsyncElevenLabs, base_url: str, found: list[Difference]) -> str | None:
    """Report what is wrong with the post-call webhook; return the id of the one the agents should use."""
    what = f"post-call webhook {WEBHOOK_NAME}"
    url = webhook_url(base_url)
    hooks = await find_webhook(client)
    if not hooks:
        found.append(Difference(what, "is missing."))
        return None
    if len(hooks) > 1:
        found.append(Difference(what, f"{len(hooks)} webhooks have this name; keep one."))
    hook = next((h for h in hooks if h.webhook_url == url), hooks[0])
    if hook.webhook_url != url:
        found.append(Difference(what, f"sends to {hook.webhook_url}, not to {url}."))
    if hook.is_auto_disabled:
        found.append(Difference(what, "was switched off by ElevenLabs after failed deliveries."))
    elif hook.is_disabled:
        found.append(Difference(what, "is switched off."))
    return hook.webhook_id


def _compare(expected: Any, stored: Any, where: str = "") -> list[str]:
    """How ``stored`` differs from ``expected``, looking only at what ``expected`` names."""
    if isinstance(expected, Mapping):
        if not isinstance(stored, Mapping):
            return [f"{where or 'it'} is {_short(stored)}, not an object."]
        problems: list[str] = []
        for key, value in expected.items():
            path = f"{where}.{key}" if where else str(key)
            if key not in stored:
                problems.append(f"{path} is missing (NEXUS sets {_short(value)}).")
            else:
                problems += _compare(value, stored[key], path)
        return problems
    if isinstance(expected, list) and isinstance(stored, list):
        if where.rsplit(".", 1)[-1] in _UNORDERED:
            if sorted(map(str, expected)) != sorted(map(str, stored)):
                return [f"{where} is {_short(stored)}, NEXUS expects {_short(expected)}."]
            return []
        if len(expected) == len(stored):
            return [
                p
                for i, (e, s) in enumerate(zip(expected, stored, strict=True))
                for p in _compare(e, s, f"{where}[{i}]")
            ]
    if expected != stored:
        return [f"{where} is {_short(stored)}, NEXUS expects {_short(expected)}."]
    return []


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
