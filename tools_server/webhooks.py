"""``POST /webhooks/elevenlabs``: ElevenLabs tells NEXUS how a call went once it is over.

The raw body is checked against the ``ElevenLabs-Signature`` header before anything is read (401 when it does
not match, 400 when a signed body is not an event). A delivery seen before answers ``duplicate``; a
conversation that is not one of ours answers ``ignored``, so ElevenLabs does not retry it forever. The replay
key is remembered in the transaction that records the call, so a delivery whose handling fails answers 5xx
and its redelivery is processed. A lost delivery is not lost for good: the reconciliation sweep asks
ElevenLabs about calls that stay silent.
"""

from __future__ import annotations

import logging

from aiohttp import web

from domain.services.reconcile import ConversationInfo, record_call_failure, record_conversation
from integrations.elevenlabs.agents import call_back_from_analysis, outcome_from_analysis
from integrations.elevenlabs.webhooks import (
    SIGNATURE_HEADER,
    WEBHOOK_PATH,
    CallInitiationFailure,
    PostCallTranscription,
    parse_event,
    replay_key,
    verify_signature,
)
from tools_server.keys import PORTS

log = logging.getLogger(__name__)

__all__ = ["MAX_WEBHOOK_BYTES", "WEBHOOK_PATH", "add_webhook_route", "elevenlabs_webhook"]
# Post-call bodies carry the whole transcript and analysis, far more than a tool call's body.
MAX_WEBHOOK_BYTES = 2 * 1024 * 1024
_WEBHOOK_SECRET = web.AppKey("elevenlabs_webhook_secret", str)


def add_webhook_route(app: web.Application, secret: str) -> None:
    """Serve ``POST /webhooks/elevenlabs`` on ``app``, trusting deliveries signed with ``secret``."""
    if not secret:
        raise ValueError("The ElevenLabs webhook needs ELEVENLABS_WEBHOOK_SECRET.")
    app[_WEBHOOK_SECRET] = secret
    app.router.add_post(WEBHOOK_PATH, elevenlabs_webhook, name="elevenlabs_webhook")


async def elevenlabs_webhook(request: web.Request) -> web.Response:
    """Check the delivery, then record the call's transcript and end it, or record why it never connected."""
    ports = request.app[PORTS]
    now = ports.clock.now()
    raw = await _read_body(request)
    header = request.headers.get(SIGNATURE_HEADER)
    verify_signature(raw, header, request.app[_WEBHOOK_SECRET], now)
    assert header is not None  # a missing header never verifies
    event = parse_event(raw)

    key = replay_key(header)
    if isinstance(event, PostCallTranscription):
        info = ConversationInfo(
            conversation_id=event.conversation_id,
            over=True,
            transcript=tuple(event.domain_transcript()),
            summary=event.summary,
            outcome=outcome_from_analysis(event.analysis),
            call_back_at=call_back_from_analysis(event.analysis),
        )
        recorded = await record_conversation(ports, info, call_token=event.call_token, event_key=key)
    elif isinstance(event, CallInitiationFailure):
        recorded = await record_call_failure(
            ports, event.conversation_id, event.status, call_token=event.call_token, event_key=key
        )
    else:
        return web.json_response({"status": "ignored"})
    if recorded.duplicate:
        return web.json_response({"status": "duplicate"})
    call = recorded.call
    if call is None:
        log.info("ElevenLabs reported on conversation %s, which is not one of our calls", event.conversation_id)
        return web.json_response({"status": "ignored"})
    return web.json_response({"status": "recorded", "call_status": call.status.value})


async def _read_body(request: web.Request) -> bytes:
    """The raw body, refused beyond ``MAX_WEBHOOK_BYTES`` (the app's own limit is sized for tool calls)."""
    if request.content_length is not None and request.content_length > MAX_WEBHOOK_BYTES:
        raise web.HTTPRequestEntityTooLarge(max_size=MAX_WEBHOOK_BYTES, actual_size=request.content_length)
    chunks: list[bytes] = []
    size = 0
    while chunk := await request.content.read(64 * 1024):
        size += len(chunk)
        if size > MAX_WEBHOOK_BYTES:
            raise web.HTTPRequestEntityTooLarge(max_size=MAX_WEBHOOK_BYTES, actual_size=size)
        chunks.append(chunk)
    return b"".join(chunks)
