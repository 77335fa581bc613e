"""The post-call webhook as code: one workspace webhook, by name, pointing at NEXUS, signed with HMAC.

ElevenLabs shows a webhook's secret once, when it is created; so ``sync_webhook`` creates the webhook only
when none of that name exists (or when it points elsewhere: a webhook's address cannot be changed, so a new
one replaces it), and otherwise leaves it and its secret alone. The agents subscribe to it through their
``platform_settings.workspace_overrides.webhooks`` (see ``agents.agent_definition``), with the events NEXUS
reads: the transcript and the failure to connect a call. Audio stays off: it makes each delivery many
megabytes, beyond what the webhook route reads (``tools_server.webhooks.MAX_WEBHOOK_BYTES``), and the
provider switches off a webhook that keeps failing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from elevenlabs import AsyncElevenLabs
from elevenlabs.core.request_options import RequestOptions
from elevenlabs.types import WebhookHmacSettings, WorkspaceWebhookResponseModel

from integrations.elevenlabs.webhooks import WEBHOOK_PATH

WEBHOOK_NAME = "NEXUS post-call"
# The agents' post-call events: ``transcript`` (post_call_transcription) ends a call with its verdict,
# ``call_initiation_failure`` tells busy and no-answer apart from a call that broke off.
WEBHOOK_EVENTS = ("transcript", "call_initiation_failure")

_READ = RequestOptions(timeout_in_seconds=20, max_retries=2)
_WRITE = RequestOptions(timeout_in_seconds=30, max_retries=0)


@dataclass(frozen=True, slots=True)
class SyncedWebhook:
    """The webhook sync made sure of; ``secret`` only when it was just created (ElevenLabs shows it once)."""

    name: str
    id: str
    action: str
    url: str
    secret: str | None = field(default=None, repr=False)
    # Webhooks of our name that point elsewhere: deleted once the agents have moved to this one.
    stale: tuple[str, ...] = ()


def webhook_url(base_url: str) -> str:
    return base_url.rstrip("/") + WEBHOOK_PATH


def webhook_subscription(webhook_id: str) -> dict[str, Any]:
    """What an agent's ``workspace_overrides.webhooks`` holds: our webhook, our events, no audio."""
    return {"post_call_webhook_id": webhook_id, "events": list(WEBHOOK_EVENTS), "send_audio": False}


async def find_webhook(client: AsyncElevenLabs) -> list[WorkspaceWebhookResponseModel]:
    """Every workspace webhook named ``WEBHOOK_NAME``."""
    listed = await client.webhooks.list(request_options=_READ)
    return [hook for hook in listed.webhooks if hook.name == WEBHOOK_NAME]


async def sync_webhook(client: AsyncElevenLabs, base_url: str) -> SyncedWebhook:
    """Create the post-call webhook, or keep (and re-enable) the one there is; replace one pointing elsewhere."""
    url = webhook_url(base_url)
    found = await find_webhook(client)
    current = next((hook for hook in found if hook.webhook_url == url), None)
    if current is not None:
        if current.is_disabled or current.is_auto_disabled:
            await client.webhooks.update(
                current.webhook_id, is_disabled=False, name=WEBHOOK_NAME, request_options=_WRITE
            )
            return SyncedWebhook(WEBHOOK_NAME, current.webhook_id, "enabled", url)
        return SyncedWebhook(WEBHOOK_NAME, current.webhook_id, "kept", url)
    created = await client.webhooks.create(
        settings=WebhookHmacSettings(name=WEBHOOK_NAME, webhook_url=url), request_options=_WRITE
    )
    action = "replaced" if found else "created"
    stale = tuple(hook.webhook_id for hook in found)
    return SyncedWebhook(WEBHOOK_NAME, created.webhook_id, action, url, created.webhook_secret, stale)


async def retire_webhooks(client: AsyncElevenLabs, webhook_ids: tuple[str, ...]) -> None:
    """Delete webhooks of ours that point where NEXUS no longer is (after the agents moved off them)."""
    for webhook_id in webhook_ids:
        await client.webhooks.delete(webhook_id, request_options=_WRITE)
