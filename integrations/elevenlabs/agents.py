"""The ElevenLabs side of NEXUS as code: webhook tools, one agent per call purpose, and reading back their verdicts.

The tool definitions are generated from ``tools_server.tools.TOOLS`` (the models the endpoints validate with),
so the agents can never send a body the server refuses. Identities never pass through the language model:
``conversation_id`` is bound to ``system__conversation_id``, the tool secret is a workspace secret and the call
token is the per-call secret variable ``secret__call_token``; both travel in headers.

``sync_agents`` creates or updates, by name, the workspace secret, the tools and the agents; running it twice
changes nothing the second time but their contents. The agent prompts are versioned text files in
``integrations/elevenlabs/prompts/`` (``<purpose>.<version>.md``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from importlib import resources
from typing import Any

from elevenlabs import AsyncElevenLabs
from elevenlabs.core.request_options import RequestOptions
from elevenlabs.types import (
    AgentPlatformSettingsRequestModel,
    ConversationalConfig,
    ToolRequestModel,
    ToolResponseModel,
)
from pydantic import BaseModel

from domain.expertise import catalogue
from domain.models import CallOutcome, CallPurpose
from domain.services.reconcile import ConversationFetcher, ConversationInfo
from integrations.elevenlabs.conversations import ConversationState, ConversationStatus, fetch_conversation
from integrations.elevenlabs.languages import LANGUAGES, first_message, spoken_language
from integrations.elevenlabs.webhook_setup import SyncedWebhook, retire_webhooks, sync_webhook, webhook_subscription
from integrations.elevenlabs.webhooks import CALL_TOKEN_VARIABLE
from tools_server.tools import CALL_TOKEN_HEADER, TOOL_SECRET_HEADER, TOOLS, ToolSpec

log = logging.getLogger(__name__)

PROMPT_VERSION = "v1"
TOOL_SECRET_NAME = "nexus_tools_shared_secret"  # noqa: S105 - the name of the workspace secret, not its value
CONVERSATION_ID_VARIABLE = "system__conversation_id"
OUTCOME_FIELD = "outcome"
CALL_BACK_FIELD = "call_back_at"
AGENT_TAG = "nexus"
# The platform's own tools. Their names are ours to choose (``SystemToolConfigInput.name``); they must never be
# the name of one of our webhook tools, or the agent would see two tools of one name (``end_call`` is both a
# system tool type and our webhook tool, hence ``hang_up``).
HANG_UP_TOOL = "hang_up"
VOICEMAIL_TOOL = "leave_voicemail"
KEYPAD_TOOL = "press_keys"
SYSTEM_TOOLS = (HANG_UP_TOOL, VOICEMAIL_TOOL, KEYPAD_TOOL)
# Puts a discovery call through to the client once request_handover said so; the number comes from that
# tool's answer into this dynamic variable (sanitized: the model never sees it).
TRANSFER_TOOL = "transfer_to_client"
HANDOVER_PHONE_VARIABLE = "handover_phone"
# A multilingual model: English-only models make the platform refuse a non-English agent.
TTS_MODEL = "eleven_turbo_v2_5"
# What a tool's failed answer shows the agent: the body as written (our 4xx/503 bodies are sentences for it).
TOOL_ERROR_HANDLING = "passthrough"
# Shown by ``nexus elevenlabs tools`` before a sync has created the workspace secret.
SECRET_ID_PLACEHOLDER = f"<id of the workspace secret {TOOL_SECRET_NAME}>"

AGENT_NAMES: Mapping[CallPurpose, str] = {
    CallPurpose.DISCOVER: "NEXUS discover",
    CallPurpose.CONFIRM: "NEXUS confirm",
    CallPurpose.CANCEL: "NEXUS cancel",
    CallPurpose.RESCHEDULE: "NEXUS reschedule",
}

# Which tools each agent gets. A discovery agent has no book_slot, so it cannot book even by mistake.
AGENT_TOOLS: Mapping[CallPurpose, tuple[str, ...]] = {
    CallPurpose.DISCOVER: (
        "check_availability",
        "report_slot_offer",
        "get_distance",
        "end_call",
        "ask_user",
        "get_instructions",
        "request_handover",
    ),
    CallPurpose.CONFIRM: ("book_slot", "end_call"),
    CallPurpose.CANCEL: ("end_call",),
    CallPurpose.RESCHEDULE: ("check_availability", "book_slot", "end_call"),
}

# Where sync reads and writes; no retries for writes, so a timed-out create is never made twice.
_READ = RequestOptions(timeout_in_seconds=20, max_retries=2)
_WRITE = RequestOptions(timeout_in_seconds=30, max_retries=0)
_PAGE_SIZE = 100
_VARIABLE = re.compile(r"{{\s*([A-Za-z0-9_]+)\s*}}")


# --- tools -----------------------------------------------------------------------------------------


def tool_definitions(base_url: str, secret_id: str = SECRET_ID_PLACEHOLDER) -> list[dict[str, Any]]:
    """The ElevenLabs webhook-tool configurations of every NEXUS tool endpoint under ``base_url``."""
    return [webhook_tool(spec, base_url, secret_id) for spec in TOOLS]


def webhook_tool(spec: ToolSpec, base_url: str, secret_id: str) -> dict[str, Any]:
    """One ``tool_config`` of type ``webhook``: POST ``base_url + spec.path`` with a JSON body."""
    tool = _webhook_tool(spec, base_url, secret_id)
    if spec.name == "request_handover":
        # The user's number goes from the answer into the transfer tool's variable, never to the model.
        tool["assignments"] = [
            {
                "source": "response",
                "dynamic_variable": HANDOVER_PHONE_VARIABLE,
                "value_path": "phone_number",
                "sanitize": True,
            }
        ]
    return tool


def _webhook_tool(spec: ToolSpec, base_url: str, secret_id: str) -> dict[str, Any]:
    return {
        "type": "webhook",
        "name": spec.name,
        "description": spec.description,
        "response_timeout_secs": spec.response_timeout_secs,
        # Refusals come as 200 answers; what is left (401, 503) still reaches the agent as our sentence.
        "tool_error_handling_mode": TOOL_ERROR_HANDLING,
        "api_schema": {
            "url": base_url.rstrip("/") + spec.path,
            "method": "POST",
            "content_type": "application/json",
            "request_headers": {
                TOOL_SECRET_HEADER: {"secret_id": secret_id},
                CALL_TOKEN_HEADER: {"variable_name": CALL_TOKEN_VARIABLE},
            },
            "request_body_schema": request_body_schema(spec.request),
        },
    }


def request_body_schema(model: type[BaseModel]) -> dict[str, Any]:
    """``model``'s JSON schema in ElevenLabs' dialect: inline objects, one type per property, no ``$ref``s.

    ``conversation_id`` is filled by ElevenLabs from ``system__conversation_id``, never by the model.
    Raises ``ValueError`` for a field the dialect cannot express or that has no description.
    """
    schema = model.model_json_schema()
    return _object(schema, schema.get("$defs", {}), model.__name__, top=True)


def _object(schema: Mapping[str, Any], defs: Mapping[str, Any], where: str, top: bool = False) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    for name, definition in schema.get("properties", {}).items():
        if top and name == "conversation_id":
            properties[name] = {"type": "string", "dynamic_variable": CONVERSATION_ID_VARIABLE}
        else:
            properties[name] = _property(definition, defs, f"{where}.{name}")
    result: dict[str, Any] = {"type": "object", "properties": properties}
    if schema.get("required"):
        result["required"] = list(schema["required"])
    if not top:
        result["description"] = _description(schema, where)
    return result


def _property(definition: Mapping[str, Any], defs: Mapping[str, Any], where: str) -> dict[str, Any]:
    description = definition.get("description")
    resolved = _resolve(definition, defs, where)
    if description is not None:
        resolved = {**resolved, "description": description}
    kind = resolved.get("type")
    if kind == "object":
        return _object(resolved, defs, where)
    if kind == "array":
        items = _property({"description": "One item.", **resolved.get("items", {})}, defs, f"{where}[]")
        return {"type": "array", "description": _description(resolved, where), "items": items}
    if kind not in ("string", "integer", "number", "boolean"):
        raise ValueError(f"{where}: ElevenLabs tool schemas cannot express {dict(definition)!r}.")
    result = {"type": kind, "description": _description(resolved, where)}
    if "enum" in resolved:
        result["enum"] = [str(value) for value in resolved["enum"]]
    return result


def _resolve(definition: Mapping[str, Any], defs: Mapping[str, Any], where: str) -> Mapping[str, Any]:
    """Follow ``$ref``s and drop the ``null`` of an optional field (ElevenLabs leaves optional fields out)."""
    if "$ref" in definition:
        target = defs.get(definition["$ref"].rsplit("/", 1)[-1])
        if target is None:
            raise ValueError(f"{where}: unknown reference {definition['$ref']}.")
        return _resolve(target, defs, where)
    if "allOf" in definition and len(definition["allOf"]) == 1:
        # Older pydantic wraps a described reference as allOf: [$ref].
        return _resolve(definition["allOf"][0], defs, where)
    if "anyOf" in definition:
        options = [option for option in definition["anyOf"] if option.get("type") != "null"]
        if len(options) != 1:
            raise ValueError(f"{where}: ElevenLabs tool schemas cannot express a choice of types.")
        return _resolve(options[0], defs, where)
    return definition


def _description(definition: Mapping[str, Any], where: str) -> str:
    description = definition.get("description")
    if not isinstance(description, str) or not description.strip():
        raise ValueError(f"{where} has no description; the agent needs one to know what to send.")
    return description


# --- agents ----------------------------------------------------------------------------------------


def load_prompt(purpose: CallPurpose, version: str = PROMPT_VERSION) -> str:
    """The system prompt of ``purpose``'s agent, from ``prompts/<purpose>.<version>.md``."""
    name = f"{purpose.value.lower()}.{version}.md"
    return resources.files("integrations.elevenlabs").joinpath("prompts", name).read_text(encoding="utf-8").strip()


def prompt_variables(text: str) -> set[str]:
    """The dynamic variables (``{{name}}``) a prompt or first message refers to."""
    return set(_VARIABLE.findall(text))


@dataclass(frozen=True, slots=True)
class AgentOptions:
    """What a deployment may choose about its agents; ``None`` leaves ElevenLabs' default."""

    language: str = "en"
    timezone: str = "Europe/Berlin"
    llm: str | None = None
    voice_id: str | None = None
    prompt_version: str = PROMPT_VERSION
    # privacy on the voice platform: no audio recording unless asked for; transcripts kept this many days
    record_voice: bool = False
    retention_days: int = 30


def system_tools() -> dict[str, dict[str, Any]]:
    """The platform's tools an agent gets (``built_in_tools``): hang up, voicemail, keypad tones."""
    return {
        "end_call": {
            "type": "system",
            "name": HANG_UP_TOOL,
            "description": "Hang up the phone. Only after end_call has answered and you have said goodbye.",
            "params": {"system_tool_type": "end_call"},
        },
        "voicemail_detection": {
            "type": "system",
            "name": VOICEMAIL_TOOL,
            "description": "Use this as soon as you hear a voicemail box or answering machine instead of a person, "
            "after reporting the outcome voicemail with end_call. It leaves a short message and ends the call.",
            "params": {"system_tool_type": "voicemail_detection", "voicemail_message": "{{voicemail_message}}"},
        },
        "play_keypad_touch_tone": {
            "type": "system",
            "name": KEYPAD_TOOL,
            "description": "Press keys on the phone's keypad when an automated menu asks you to (for example 1 for "
            "appointments). Say nothing while the menu plays.",
            "params": {"system_tool_type": "play_keypad_touch_tone", "suppress_turn_after_dtmf": True},
        },
    }


def handover_tool() -> dict[str, Any]:
    """The platform's transfer to a phone number (Twilio underneath), to the number request_handover gave."""
    return {
        "type": "system",
        "name": TRANSFER_TOOL,
        "description": "Put the call through to the client. Only after request_handover answered transfer and you "
        "called end_call with outcome handed_over.",
        "params": {
            "system_tool_type": "transfer_to_number",
            "transfers": [
                {
                    "transfer_destination": {
                        "type": "phone_dynamic_variable",
                        "phone_number": "{{" + HANDOVER_PHONE_VARIABLE + "}}",
                    },
                    "condition": "request_handover answered transfer: the receptionist needs the client in person.",
                    "transfer_type": "conference",
                }
            ],
            "enable_client_message": True,
        },
    }


def agent_definition(
    purpose: CallPurpose, tool_ids: Sequence[str], options: AgentOptions, webhook_id: str | None = None
) -> dict[str, Any]:
    """The agent for ``purpose``: prompt, first message in each language, tools, and the outcome its analysis
    reports. Each call sets its language and first message through the conversation override enabled here.
    With ``webhook_id`` the agent sends its post-call events to that workspace webhook."""
    built_in = system_tools()
    if purpose is CallPurpose.DISCOVER:
        built_in["transfer_to_number"] = handover_tool()
    _check_distinct_names(purpose, [tool["name"] for tool in built_in.values()])
    language = spoken_language(options.language)
    prompt: dict[str, Any] = {
        "prompt": load_prompt(purpose, options.prompt_version),
        "tool_ids": list(tool_ids),
        "built_in_tools": built_in,
        # Gives the agent today's date and time, so "next Tuesday" means the right day.
        "timezone": options.timezone,
    }
    if options.llm:
        prompt["llm"] = options.llm
    tts: dict[str, Any] = {"model_id": TTS_MODEL}
    if options.voice_id:
        tts["voice_id"] = options.voice_id
    conversation: dict[str, Any] = {
        "agent": {"first_message": first_message(purpose, language), "language": language, "prompt": prompt},
        "tts": tts,
        "language_presets": {
            other: {"overrides": {"agent": {"language": other, "first_message": first_message(purpose, other)}}}
            for other in LANGUAGES
            if other != language
        },
    }
    platform: dict[str, Any] = {
        "data_collection": {
            OUTCOME_FIELD: {
                "type": "string",
                "description": "How the call ended for the client, as the agent reported it with end_call.",
                "enum": [outcome.value for outcome in CallOutcome],
            },
            CALL_BACK_FIELD: {
                "type": "string",
                "description": (
                    "With outcome call_back_later: when the receptionist asked us to call again, as ISO 8601 "
                    "with the UTC offset (2026-12-02T08:00:00+01:00); empty otherwise."
                ),
            },
        },
        # The gateway sets each call's language and first message; nothing else may be overridden.
        "overrides": {"conversation_config_override": {"agent": {"language": True, "first_message": True}}},
    }
    if webhook_id is not None:
        platform["workspace_overrides"] = {"webhooks": webhook_subscription(webhook_id)}
    platform["privacy"] = {"record_voice": options.record_voice, "retention_days": options.retention_days}
    return {
        "name": AGENT_NAMES[purpose],
        "tags": [AGENT_TAG, f"prompt-{options.prompt_version}"],
        "conversation_config": conversation,
        "platform_settings": platform,
    }


def expert_agents() -> list[tuple[str, str, str]]:
    """``(key, service, language)`` of every expert agent: one per expert service of the catalogue and language."""
    return [(f"{service}/{language}", service, language) for service in catalogue().experts for language in LANGUAGES]


def expert_agent_name(service: str, language: str) -> str:
    return f"{AGENT_NAMES[CallPurpose.DISCOVER]} {service} ({language})"


def expert_prompt(service: str, language: str, version: str = PROMPT_VERSION) -> str:
    """The discovery prompt with what the service's expert knows, asks and answers (``domain/services.json``)."""
    expert = catalogue().expert(service)
    if expert is None:
        raise ValueError(f"{service} has no expert in the catalogue of services.")
    lang = "de" if language == "de" else "en"
    questions = "\n".join(
        f"- {q.desk[lang]}" + (f" ({', '.join(c.label[lang] for c in q.choices)})" if q.choices else "")
        for q in expert.questions
    )
    fields = "\n".join(f"- `{f.key}`: {f.description}" for f in expert.outcome_fields)
    return "\n\n".join(
        [
            load_prompt(CallPurpose.DISCOVER, version),
            f"## You know {service} practices\n{expert.knowledge[lang]}",
            "## What the receptionist will ask, and what the client told us\n"
            f"Receptionists usually ask:\n{questions}\n"
            "The client answered before the call: {{client_answers}}\n"
            "Answer such questions from that, in the conversation language. If it does not say, tell the "
            "receptionist the client will tell them when we call to confirm. Never invent an answer.",
            f"## Also listen for\n{fields}",
        ]
    )


def expert_agent_definition(
    service: str, language: str, tool_ids: Sequence[str], options: AgentOptions, webhook_id: str | None = None
) -> dict[str, Any]:
    """The discovery agent of ``service``'s expert speaking ``language``: the discovery agent's tools and
    settings, the expert's prompt, and the expert's outcome fields collected beside the outcome."""
    definition = agent_definition(CallPurpose.DISCOVER, tool_ids, replace(options, language=language), webhook_id)
    definition["name"] = expert_agent_name(service, language)
    definition["tags"] = [*definition["tags"], f"expert-{service}"]
    definition["conversation_config"]["agent"]["prompt"]["prompt"] = expert_prompt(
        service, language, options.prompt_version
    )
    expert = catalogue().expert(service)
    assert expert is not None  # expert_prompt checked
    collected = definition["platform_settings"]["data_collection"]
    for outcome_field in expert.outcome_fields:
        collected[outcome_field.key] = {"type": outcome_field.type, "description": outcome_field.description}
    return definition


def _check_distinct_names(purpose: CallPurpose, system_names: Sequence[str]) -> None:
    names = [*AGENT_TOOLS[purpose], *system_names]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise ValueError(f"The {AGENT_NAMES[purpose]} agent would see two tools named {', '.join(twice)}.")


# --- sync ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Synced:
    """One thing sync made sure of: its name, its id, and whether it was ``created`` or ``updated``."""

    name: str
    id: str
    action: str


@dataclass(frozen=True, slots=True)
class SyncReport:
    secret: Synced
    webhook: SyncedWebhook
    tools: list[Synced] = field(default_factory=list)
    agents: dict[CallPurpose, Synced] = field(default_factory=dict)
    experts: dict[str, Synced] = field(default_factory=dict)  # by expert key, ``dentist/de``


async def sync_agents(
    client: AsyncElevenLabs, base_url: str, tool_secret: str, options: AgentOptions | None = None
) -> SyncReport:
    """Create or update (by name) the tool secret, the post-call webhook, every webhook tool, one agent per
    call purpose and one discovery agent per expert service and language, all subscribed to the webhook."""
    if not tool_secret:
        raise ValueError("The tools' shared secret is empty; set TOOLS_SHARED_SECRET.")
    options = options or AgentOptions()
    secret = await _sync_secret(client, tool_secret)
    webhook = await sync_webhook(client, base_url)
    existing_tools = await _tool_ids_by_name(client)
    tools: list[Synced] = []
    for definition in tool_definitions(base_url, secret.id):
        request = ToolRequestModel.model_validate({"tool_config": definition})
        tool_id = existing_tools.get(definition["name"])
        if tool_id is None:
            created = await client.conversational_ai.tools.create(request=request, request_options=_WRITE)
            tools.append(Synced(definition["name"], created.id, "created"))
        else:
            await client.conversational_ai.tools.update(tool_id, request=request, request_options=_WRITE)
            tools.append(Synced(definition["name"], tool_id, "updated"))
    tool_ids = {tool.name: tool.id for tool in tools}

    agents: dict[CallPurpose, Synced] = {}
    for purpose in CallPurpose:
        definition = agent_definition(purpose, [tool_ids[name] for name in AGENT_TOOLS[purpose]], options, webhook.id)
        agents[purpose] = await _sync_agent(client, definition)
    discover_tools = [tool_ids[name] for name in AGENT_TOOLS[CallPurpose.DISCOVER]]
    experts = {
        key: await _sync_agent(client, expert_agent_definition(service, language, discover_tools, options, webhook.id))
        for key, service, language in expert_agents()
    }
    await retire_webhooks(client, webhook.stale)
    return SyncReport(secret=secret, webhook=webhook, tools=tools, agents=agents, experts=experts)


async def _sync_secret(client: AsyncElevenLabs, value: str) -> Synced:
    secrets = client.conversational_ai.secrets
    found = await find_secret_id(client)
    if found is None:
        created = await secrets.create(name=TOOL_SECRET_NAME, value=value, request_options=_WRITE)
        return Synced(TOOL_SECRET_NAME, created.secret_id, "created")
    # ElevenLabs never shows a stored secret, so it is always written: TOOLS_SHARED_SECRET may have changed.
    await secrets.update(found, name=TOOL_SECRET_NAME, value=value, request_options=_WRITE)
    return Synced(TOOL_SECRET_NAME, found, "updated")


async def webhook_tools_by_name(client: AsyncElevenLabs) -> dict[str, list[ToolResponseModel]]:
    """The workspace's webhook tools named like a NEXUS tool, by name (several when names were reused)."""
    wanted = {spec.name for spec in TOOLS}
    found: dict[str, list[ToolResponseModel]] = {}
    cursor: str | None = None
    while True:
        page = await client.conversational_ai.tools.list(
            types="webhook", page_size=_PAGE_SIZE, cursor=cursor, request_options=_READ
        )
        for tool in page.tools:
            name = getattr(tool.tool_config, "name", None)
            if isinstance(name, str) and name in wanted:
                found.setdefault(name, []).append(tool)
        if not page.has_more or not page.next_cursor:
            return found
        cursor = page.next_cursor


async def find_secret_id(client: AsyncElevenLabs) -> str | None:
    """The id of the workspace secret holding the tools' shared secret, if there is one."""
    listed = await client.conversational_ai.secrets.list(search=TOOL_SECRET_NAME, request_options=_READ)
    return next((s.secret_id for s in listed.secrets if s.name == TOOL_SECRET_NAME), None)


async def _tool_ids_by_name(client: AsyncElevenLabs) -> dict[str, str]:
    found: dict[str, str] = {}
    for name, tools in (await webhook_tools_by_name(client)).items():
        if len(tools) > 1:
            log.warning("several ElevenLabs tools are named %s; updating %s", name, tools[0].id)
        found[name] = tools[0].id
    return found


async def _sync_agent(client: AsyncElevenLabs, definition: dict[str, Any]) -> Synced:
    agents = client.conversational_ai.agents
    name: str = definition["name"]
    agent_id = await agent_id_by_name(client, name)
    conversation_config = ConversationalConfig.model_validate(definition["conversation_config"])
    platform_settings = AgentPlatformSettingsRequestModel.model_validate(definition["platform_settings"])
    if agent_id is None:
        created = await agents.create(
            name=name,
            tags=definition["tags"],
            conversation_config=conversation_config,
            platform_settings=platform_settings,
            request_options=_WRITE,
        )
        return Synced(name, created.agent_id, "created")
    await agents.update(
        agent_id,
        name=name,
        tags=definition["tags"],
        conversation_config=conversation_config,
        platform_settings=platform_settings,
        request_options=_WRITE,
    )
    return Synced(name, agent_id, "updated")


async def agent_id_by_name(client: AsyncElevenLabs, name: str) -> str | None:
    """The id of the (not archived) agent named exactly ``name``, if there is one."""
    cursor: str | None = None
    while True:
        page = await client.conversational_ai.agents.list(
            search=name, page_size=_PAGE_SIZE, archived=False, cursor=cursor, request_options=_READ
        )
        # The search matches parts of names; only the exact name is ours.
        for agent in page.agents:
            if agent.name == name:
                return str(agent.agent_id)
        if not page.has_more or not page.next_cursor:
            return None
        cursor = page.next_cursor


# --- reading back what the agents reported ---------------------------------------------------------


def outcome_from_analysis(analysis: Mapping[str, Any]) -> CallOutcome | None:
    """The outcome the agent's post-call analysis collected (``data_collection_results.outcome``), if valid."""
    results = analysis.get("data_collection_results")
    item = results.get(OUTCOME_FIELD) if isinstance(results, Mapping) else None
    value = item.get("value") if isinstance(item, Mapping) else None
    try:
        return CallOutcome(value) if isinstance(value, str) else None
    except ValueError:
        return None


def call_back_from_analysis(analysis: Mapping[str, Any]) -> datetime | None:
    """When the desk asked to be called again, as the post-call analysis collected it (aware), if valid."""
    results = analysis.get("data_collection_results")
    item = results.get(CALL_BACK_FIELD) if isinstance(results, Mapping) else None
    value = item.get("value") if isinstance(item, Mapping) else None
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) and value else None
    except ValueError:
        return None
    return moment if moment is not None and moment.tzinfo is not None else None


def conversation_fetcher(client: AsyncElevenLabs) -> ConversationFetcher:
    """``fetch`` for ``reconcile_silent_calls``: ask ElevenLabs about a conversation, answer in domain terms."""

    async def fetch(conversation_id: str) -> ConversationInfo:
        return conversation_info(await fetch_conversation(client, conversation_id))

    return fetch


def conversation_info(status: ConversationStatus) -> ConversationInfo:
    """What ``fetch_conversation`` found, in the domain's terms (for ``reconcile_silent_calls``)."""
    return ConversationInfo(
        conversation_id=status.conversation_id,
        over=status.state.final,
        failed=status.state is ConversationState.FAILED,
        transcript=tuple(status.domain_transcript()),
        summary=status.summary,
        outcome=outcome_from_analysis(status.analysis),
        call_back_at=call_back_from_analysis(status.analysis),
    )
