"""ElevenLabs Agents Platform: placing calls, reading post-call webhooks, asking after conversations."""

from integrations.elevenlabs.client import make_elevenlabs_client
from integrations.elevenlabs.conversations import ConversationState, ConversationStatus, fetch_conversation
from integrations.elevenlabs.gateway import (
    CALL_TOKEN_HEADER,
    CallControl,
    DiallingPolicy,
    ElevenLabsVoiceGateway,
    dynamic_variables,
    mask_phone,
)
from integrations.elevenlabs.transcript import TranscriptTurn
from integrations.elevenlabs.webhooks import (
    CALL_TOKEN_VARIABLE,
    SIGNATURE_HEADER,
    CallInitiationFailure,
    PostCallEvent,
    PostCallTranscription,
    UnsupportedEvent,
    WebhookPayloadError,
    WebhookSignatureError,
    parse_event,
    replay_key,
    sign_payload,
    verify_signature,
)

__all__ = [
    "CALL_TOKEN_HEADER",
    "CALL_TOKEN_VARIABLE",
    "SIGNATURE_HEADER",
    "CallControl",
    "CallInitiationFailure",
    "ConversationState",
    "ConversationStatus",
    "DiallingPolicy",
    "ElevenLabsVoiceGateway",
    "PostCallEvent",
    "PostCallTranscription",
    "TranscriptTurn",
    "UnsupportedEvent",
    "WebhookPayloadError",
    "WebhookSignatureError",
    "dynamic_variables",
    "fetch_conversation",
    "make_elevenlabs_client",
    "mask_phone",
    "parse_event",
    "replay_key",
    "sign_payload",
    "verify_signature",
]
