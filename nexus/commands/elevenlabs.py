"""``nexus elevenlabs tools|sync|check``: the ElevenLabs tools, agents and webhook, generated from the code and
kept in step.

``tools`` prints the webhook-tool definitions (``--json`` for the exact JSON ElevenLabs gets); ``sync`` creates or
updates the workspace secret, the post-call webhook, the tools, one agent per call purpose and one discovery agent
per expert service and language (``domain/services.json``), and prints what goes into ``.env``; ``check`` reads
them all back and names every difference from what NEXUS expects.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from nexus.settings import Settings, SettingsError

if TYPE_CHECKING:
    from elevenlabs import AsyncElevenLabs

    from integrations.elevenlabs.agents import AgentOptions, SyncReport

# Where `tools` says the endpoints are when PUBLIC_BASE_URL is not set (a name reserved for examples).
PLACEHOLDER_BASE_URL = "https://nexus.example.com"

# The setting that takes each agent's id, by call purpose.
_ENV_NAMES = {
    "DISCOVER": "ELEVENLABS_AGENT_ID_DISCOVER",
    "CONFIRM": "ELEVENLABS_AGENT_ID_CONFIRM",
    "CANCEL": "ELEVENLABS_AGENT_ID_CANCEL",
    "RESCHEDULE": "ELEVENLABS_AGENT_ID_RESCHEDULE",
}


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser(
        "elevenlabs",
        help="show or sync the ElevenLabs voice agents and their tools",
        description="The ElevenLabs tools and agents NEXUS needs, generated from its code.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    tools = actions.add_parser(
        "tools",
        help="print the webhook-tool definitions",
        description="Print the ElevenLabs webhook tools generated from the tool endpoints. Works offline; "
        "without PUBLIC_BASE_URL the addresses use a placeholder.",
    )
    tools.add_argument("--json", action="store_true", help="print the definitions as JSON, as ElevenLabs gets them")
    tools.add_argument("--base-url", metavar="URL", help="where ElevenLabs reaches NEXUS (default: PUBLIC_BASE_URL)")
    tools.add_argument(
        "--secret-id",
        metavar="ID",
        help="the id of the workspace secret holding TOOLS_SHARED_SECRET (sync creates it; default: a placeholder)",
    )
    tools.set_defaults(handler=handle_tools)

    sync = actions.add_parser(
        "sync",
        help="create or update the tools and the discover, confirm and cancel agents",
        description="Create or update, by name, the tool secret, the webhook tools and one agent per call purpose "
        "in your ElevenLabs workspace. Safe to run again after every change. Needs ELEVENLABS_API_KEY, "
        "TOOLS_SHARED_SECRET and PUBLIC_BASE_URL.",
    )
    _agent_arguments(sync)
    sync.set_defaults(handler=handle_sync)

    check = actions.add_parser(
        "check",
        help="compare the workspace with what NEXUS expects",
        description="Read the tool secret, the webhook tools, the post-call webhook and the agents back from your "
        "ElevenLabs workspace and name every difference from what sync would make (give the options sync got). "
        "Exit status 1 when something differs. Needs ELEVENLABS_API_KEY and PUBLIC_BASE_URL.",
    )
    _agent_arguments(check)
    check.set_defaults(handler=handle_check)


def _agent_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--base-url", metavar="URL", help="where ElevenLabs reaches NEXUS (default: PUBLIC_BASE_URL)")
    parser.add_argument(
        "--language", default="en", help="the agents' own language, en or de; the other is a preset (default: en)"
    )
    parser.add_argument("--llm", help="the language model the agents use (default: ElevenLabs' choice)")
    parser.add_argument("--voice-id", help="the ElevenLabs voice the agents speak with (default: ElevenLabs' choice)")


def handle_tools(args: argparse.Namespace) -> int:
    """Print the webhook-tool definitions."""
    from integrations.elevenlabs.agents import SECRET_ID_PLACEHOLDER, tool_definitions

    settings = Settings()
    if args.base_url or settings.public_base_url:
        base_url = _base_url(args.base_url, settings)
    else:
        base_url = PLACEHOLDER_BASE_URL
        print(
            f"PUBLIC_BASE_URL is not set, so the tool addresses use the placeholder {PLACEHOLDER_BASE_URL}; "
            "set PUBLIC_BASE_URL (or pass --base-url) to see the real ones.",
            file=sys.stderr,
        )
    definitions = tool_definitions(base_url, args.secret_id or SECRET_ID_PLACEHOLDER)
    if args.json:
        print(json.dumps(definitions, indent=2, ensure_ascii=False))
        return 0
    width = max(len(d["name"]) for d in definitions)
    for definition in definitions:
        url, timeout = definition["api_schema"]["url"], definition["response_timeout_secs"]
        print(f"{definition['name']:<{width}}  POST {url}  (answers within {timeout} s)")
        print(f"{'':<{width}}  {definition['description']}")
    return 0


def _options(args: argparse.Namespace, settings: Settings) -> AgentOptions:
    from integrations.elevenlabs.agents import AgentOptions
    from integrations.elevenlabs.languages import LANGUAGES

    if args.language not in LANGUAGES:
        raise SettingsError(f"The agents speak {' or '.join(LANGUAGES)}; --language {args.language!r} is neither.")
    return AgentOptions(
        language=args.language,
        timezone=settings.default_timezone,
        llm=args.llm,
        voice_id=args.voice_id,
        record_voice=settings.record_call_audio,
        retention_days=settings.transcript_retention_days,
    )


def handle_sync(args: argparse.Namespace) -> int:
    """Create or update the ElevenLabs secret, webhook, tools and agents, and print what goes into .env."""
    settings = Settings()
    return asyncio.run(run_sync(settings, _base_url(args.base_url, settings), _options(args, settings)))


def handle_check(args: argparse.Namespace) -> int:
    """Compare the ElevenLabs workspace with what NEXUS expects; exit 1 when anything differs."""
    settings = Settings()
    return asyncio.run(run_check(settings, _base_url(args.base_url, settings), _options(args, settings)))


async def run_check(settings: Settings, base_url: str, options: AgentOptions) -> int:
    """``check`` on an event loop: print every difference; 1 when there is one or ElevenLabs refused."""
    from domain.models import CallPurpose
    from integrations.elevenlabs.check import check_workspace

    configured = {
        CallPurpose.DISCOVER: settings.elevenlabs_agent_id_discover,
        CallPurpose.CONFIRM: settings.elevenlabs_agent_id_confirm,
        CallPurpose.CANCEL: settings.elevenlabs_agent_id_cancel,
        CallPurpose.RESCHEDULE: settings.elevenlabs_agent_id_reschedule,
    }

    async def check(client: AsyncElevenLabs) -> int:
        differences = await check_workspace(client, base_url, options, configured)
        if not differences:
            print("The ElevenLabs workspace holds what NEXUS expects: secret, tools, post-call webhook and agents.")
            return 0
        print(f"{len(differences)} difference(s) from what NEXUS expects:")
        for difference in differences:
            print(f"  - {difference}")
        print("Run nexus elevenlabs sync (with the same options) to set them right.")
        return 1

    return await _with_client(settings, "check", check)


async def run_sync(settings: Settings, base_url: str, options: AgentOptions) -> int:
    """``sync`` on an event loop: talk to ElevenLabs, print what was done; 1 when ElevenLabs refused."""
    from integrations.elevenlabs.agents import sync_agents

    async def sync(client: AsyncElevenLabs) -> int:
        tool_secret = settings.tools_shared_secret.get_secret_value()
        if not tool_secret:
            raise SettingsError(
                "nexus elevenlabs sync needs TOOLS_SHARED_SECRET, the secret the agents send to the tool endpoints."
            )
        report = await sync_agents(client, base_url, tool_secret, options)
        print(_describe(report, base_url))
        return 0

    return await _with_client(settings, "sync", sync)


async def _with_client(settings: Settings, command: str, work: Callable[[AsyncElevenLabs], Awaitable[int]]) -> int:
    """Run ``work`` with an ElevenLabs client; 1 with a sentence when ElevenLabs refuses or cannot be reached."""
    import httpx
    from elevenlabs.core.api_error import ApiError

    from integrations.elevenlabs import make_elevenlabs_client

    if settings.elevenlabs_api_key is None:
        raise SettingsError(f"nexus elevenlabs {command} needs ELEVENLABS_API_KEY; set it in the environment or .env.")
    async with httpx.AsyncClient() as http:
        client = make_elevenlabs_client(
            settings.elevenlabs_api_key.get_secret_value(), settings.elevenlabs_base_url, http_client=http
        )
        try:
            return await work(client)
        except ApiError as exc:
            print(
                f"nexus elevenlabs {command}: ElevenLabs refused (HTTP {exc.status_code}): {exc.body}", file=sys.stderr
            )
        except httpx.HTTPError as exc:
            print(
                f"nexus elevenlabs {command}: ElevenLabs could not be reached ({type(exc).__name__}).", file=sys.stderr
            )
    return 1


def _describe(report: SyncReport, base_url: str) -> str:
    lines = [f"Workspace secret {report.secret.name}: {report.secret.action} ({report.secret.id})", "Tools:"]
    width = max(len(t.name) for t in report.tools)
    lines += [f"  {t.name:<{width}}  {t.action:<7}  {t.id}" for t in report.tools]
    lines.append("Agents:")
    lines += [
        f"  {a.name:<{width}}  {a.action:<7}  {a.id}" for a in [*report.agents.values(), *report.experts.values()]
    ]
    webhook = report.webhook
    lines += [
        f"Post-call webhook {webhook.name}: {webhook.action} ({webhook.id}) -> {webhook.url}",
        "  events: post-call transcription and call initiation failure, no audio; every agent sends to it",
    ]
    lines += ["", "Put these into .env (or the environment) of every NEXUS process:"]
    lines += [f"{_ENV_NAMES[purpose.value]}={agent.id}" for purpose, agent in report.agents.items()]
    if report.experts:
        experts = ",".join(f"{key}={agent.id}" for key, agent in report.experts.items())
        lines.append(f"ELEVENLABS_EXPERT_AGENT_IDS={experts}")
    if webhook.secret:
        lines += [
            f"ELEVENLABS_WEBHOOK_SECRET={webhook.secret}",
            "",
            "ElevenLabs shows the webhook's secret only now: keep ELEVENLABS_WEBHOOK_SECRET as printed above.",
        ]
    else:
        lines += [
            "",
            "ELEVENLABS_WEBHOOK_SECRET stays the secret printed when the webhook was created. If it is lost, "
            f"delete the webhook {webhook.name!r} in ElevenLabs and run sync again for a new one.",
        ]
    return "\n".join(lines)


def _base_url(given: str | None, settings: Settings) -> str:
    base_url = given or settings.public_base_url
    if not base_url:
        raise SettingsError(
            "ElevenLabs needs to know where to reach NEXUS: set PUBLIC_BASE_URL (or pass --base-url), "
            "e.g. https://nexus.example.com."
        )
    if not base_url.startswith(("https://", "http://")):
        raise SettingsError(f"PUBLIC_BASE_URL must be an address starting with https://; {base_url!r} is not.")
    return base_url.rstrip("/")
