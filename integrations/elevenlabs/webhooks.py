"""ElevenLabs post-call webhooks: check the signature, then read the event. Pure: no HTTP framework here.

ElevenLabs signs every delivery in the ``ElevenLabs-Signature`` header as ``t=<unix seconds>,v0=<hex>``, where
the hex is HMAC-SHA256, keyed by the webhook secret, of ``"<t>.<raw body>"``. The body is an envelope
``{"type": ..., "event_timestamp": <unix seconds>, "data": {...}}``; NEXUS acts on two types:

- ``post_call_transcription``: the call is over and analysed (transcript, summary, success verdict);
- ``call_initiation_failure``: the phone never connected (``failure_reason`` busy / no-answer / unknown).

Errors::

    WebhookSignatureError (NotAuthorized)  the delivery cannot be shown to come from ElevenLabs (401)
    WebhookPayloadError (InvalidRequest)   the body is not an event NEXUS can read (400)
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeGuard

from domain.errors import InvalidRequest, NotAuthorized
from domain.models import CallStatus, Turn, ensure_aware
from integrations.elevenlabs.transcript import TranscriptTurn, from_unix, success_flag, to_domain_turns

SIGNATURE_HEADER = "ElevenLabs-Signature"
# Where NEXUS takes post-call webhooks, under PUBLIC_BASE_URL.
WEBHOOK_PATH = "/webhooks/elevenlabs"
DEFAULT_TOLERANCE = timedelta(minutes=30)

# Dynamic variables whose names start with this are secrets (the call token): kept apart, never printed.
SECRET_PREFIX = "secret__"  # noqa: S105 - names, not secrets
CALL_TOKEN_VARIABLE = "secret__call_token"  # noqa: S105

_TIMESTAMP = re.compile(r"[0-9]{1,12}")
# No phone call lasts a week; a turn said later than that is not a time in the call.
_LONGEST_CALL_SECS = 7 * 24 * 3600
_HEX_SHA256 = re.compile(r"[0-9a-fA-F]{64}")


class WebhookSignatureError(NotAuthorized):
    """The signature header is missing, malformed, too old or wrong."""

    code = "bad_signature"


class WebhookPayloadError(InvalidRequest):
    """The body is not a post-call event NEXUS can read."""

    code = "bad_webhook"


# --- signatures ------------------------------------------------------------------------------------


def verify_signature(
    raw_body: bytes,
    header: str | None,
    secret: str,
    now: datetime,
    tolerance: timedelta = DEFAULT_TOLERANCE,
) -> None:
    """Return when ``header`` proves ElevenLabs sent ``raw_body`` within ``tolerance`` of ``now``; raise
    ``WebhookSignatureError`` otherwise. The comparison takes the same time whatever the signature."""
    if not secret:
        raise WebhookSignatureError("No webhook secret is configured, so no delivery can be trusted.")
    timestamp, signatures = _parse_header(header)
    try:
        signed_at = from_unix(int(timestamp))
    except (OverflowError, OSError, ValueError):
        # Twelve digits still pass the header's form but name a year no calendar reaches (t=999999999999).
        raise WebhookSignatureError("The webhook signature's time is not a real moment.") from None
    if abs(ensure_aware(now, "current time") - signed_at) > tolerance:
        raise WebhookSignatureError("The webhook signature is too old or from the future; it may be a replay.")
    expected = _digest(raw_body, timestamp, secret)
    # Check every candidate (ElevenLabs may send several while a secret is rotated) without stopping early.
    matches = [hmac.compare_digest(expected, candidate) for candidate in signatures]
    if not any(matches):
        raise WebhookSignatureError("The webhook signature does not match the body.")


def sign_payload(raw_body: bytes, secret: str, at: datetime) -> str:
    """The ``ElevenLabs-Signature`` header ElevenLabs would send for ``raw_body`` at ``at`` (for tests and
    the offline simulator)."""
    timestamp = str(int(ensure_aware(at, "signing time").timestamp()))
    return f"t={timestamp},v0={_digest(raw_body, timestamp, secret)}"


def replay_key(header: str) -> str:
    """A stable key for one signed delivery, for ``ProcessedEventRepository.remember``.

    The header carries the signing time and the body's HMAC, so a replayed request has the same key. A
    delivery that ElevenLabs signs afresh is a new key; handlers stay idempotent for that case.
    """
    return "elevenlabs-webhook:" + hashlib.sha256(header.strip().encode("utf-8")).hexdigest()


def _digest(raw_body: bytes, timestamp: str, secret: str) -> str:
    message = timestamp.encode("ascii") + b"." + raw_body
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def _parse_header(header: str | None) -> tuple[str, list[str]]:
    if not header or not header.strip():
        raise WebhookSignatureError(f"The {SIGNATURE_HEADER} header is missing.")
    timestamp: str | None = None
    signatures: list[str] = []
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep:
            continue
        if key == "t" and _TIMESTAMP.fullmatch(value):
            timestamp = value
        elif key == "v0" and _HEX_SHA256.fullmatch(value):
            signatures.append(value.lower())
    if timestamp is None or not signatures:
        raise WebhookSignatureError(f"The {SIGNATURE_HEADER} header is not of the form t=<time>,v0=<signature>.")
    return timestamp, signatures


# --- events ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PostCallTranscription:
    """A call that connected has ended and ElevenLabs has analysed it."""

    conversation_id: str
    agent_id: str
    transcript: tuple[TranscriptTurn, ...]
    summary: str | None
    analysis: dict[str, Any]
    call_successful: bool | None
    dynamic_variables: dict[str, Any]
    at: datetime | None
    started_at: datetime | None = None
    call_sid: str | None = None
    call_token: str | None = field(default=None, repr=False)

    def domain_transcript(self) -> list[Turn]:
        """The transcript as the domain keeps it, timed from the start of the call."""
        start = self.started_at or self.at
        if start is None:
            return []
        return to_domain_turns(self.transcript, start)


@dataclass(frozen=True, slots=True)
class CallInitiationFailure:
    """The phone call never connected."""

    conversation_id: str
    failure_reason: str
    status: CallStatus
    at: datetime | None
    agent_id: str | None = None
    call_sid: str | None = None
    dynamic_variables: dict[str, Any] = field(default_factory=dict)
    call_token: str | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class UnsupportedEvent:
    """A well-formed event of a type NEXUS does not act on (``post_call_audio``, ...); acknowledge it."""

    type: str
    at: datetime | None


PostCallEvent = PostCallTranscription | CallInitiationFailure | UnsupportedEvent

_FAILURE_STATUS = {"busy": CallStatus.BUSY, "no-answer": CallStatus.NO_ANSWER, "no_answer": CallStatus.NO_ANSWER}


def parse_event(raw_body: bytes) -> PostCallEvent:
    """Read a post-call webhook body (after ``verify_signature``); raise ``WebhookPayloadError`` for garbage."""
    try:
        envelope = json.loads(raw_body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise WebhookPayloadError("The webhook body is not JSON.") from exc
    if not isinstance(envelope, dict):
        raise WebhookPayloadError("The webhook body is not a JSON object.")
    event_type = envelope.get("type")
    if not isinstance(event_type, str) or not event_type:
        raise WebhookPayloadError("The webhook body names no event type.")
    at = _optional_time(envelope.get("event_timestamp"), "event_timestamp")
    if event_type not in ("post_call_transcription", "call_initiation_failure"):
        return UnsupportedEvent(type=event_type, at=at)
    data = envelope.get("data")
    if not isinstance(data, dict):
        raise WebhookPayloadError(f"The {event_type} event carries no data object.")
    if event_type == "post_call_transcription":
        return _transcription(data, at)
    return _initiation_failure(data, at)


def _transcription(data: dict[str, Any], at: datetime | None) -> PostCallTranscription:
    analysis = _optional_object(data, "analysis")
    metadata = _optional_object(data, "metadata")
    variables, token = _split_variables(data)
    return PostCallTranscription(
        conversation_id=_required_text(data, "conversation_id"),
        agent_id=_required_text(data, "agent_id"),
        transcript=parse_transcript(data.get("transcript")),
        summary=_text_or_none(analysis.get("transcript_summary")),
        analysis=analysis,
        call_successful=success_flag(analysis.get("call_successful")),
        dynamic_variables=variables,
        at=at,
        started_at=_optional_time(metadata.get("start_time_unix_secs"), "metadata.start_time_unix_secs"),
        call_sid=_text_or_none(_optional_object(metadata, "phone_call").get("call_sid")),
        call_token=token,
    )


def _initiation_failure(data: dict[str, Any], at: datetime | None) -> CallInitiationFailure:
    reason = _text_or_none(data.get("failure_reason")) or "unknown"
    metadata = _optional_object(data, "metadata")
    body = _optional_object(metadata, "body")  # the telephony provider's own status report
    variables, token = _split_variables(data)
    return CallInitiationFailure(
        conversation_id=_required_text(data, "conversation_id"),
        failure_reason=reason,
        status=_FAILURE_STATUS.get(reason.lower(), CallStatus.FAILED),
        at=at,
        agent_id=_text_or_none(data.get("agent_id")),
        call_sid=_text_or_none(body.get("CallSid")) or _text_or_none(body.get("call_sid")),
        dynamic_variables=variables,
        call_token=token,
    )


def parse_transcript(value: object) -> tuple[TranscriptTurn, ...]:
    """Spoken turns of an ElevenLabs transcript (JSON form); turns without words (tool calls) are left out."""
    if value is None:
        return ()
    if not isinstance(value, list):
        raise WebhookPayloadError("The transcript is not a list of turns.")
    turns: list[TranscriptTurn] = []
    for item in value:
        if not isinstance(item, dict):
            raise WebhookPayloadError("A transcript turn is not an object.")
        role, message, offset = item.get("role"), item.get("message"), item.get("time_in_call_secs", 0)
        if not isinstance(role, str) or not _is_number(offset):
            raise WebhookPayloadError("A transcript turn lacks its role or its time in the call.")
        if not 0 <= offset <= _LONGEST_CALL_SECS:
            raise WebhookPayloadError("A transcript turn's time in the call is not a time a call lasts.")
        if isinstance(message, str) and message.strip():
            turns.append(TranscriptTurn(role=role, message=message.strip(), time_in_call_secs=float(offset)))
    return tuple(turns)


def _split_variables(data: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    client_data = _optional_object(data, "conversation_initiation_client_data")
    variables = _optional_object(client_data, "dynamic_variables")
    token = variables.get(CALL_TOKEN_VARIABLE)
    public = {k: v for k, v in variables.items() if not k.startswith(SECRET_PREFIX)}
    return public, token if isinstance(token, str) and token else None


def _required_text(data: dict[str, Any], key: str) -> str:
    value = _text_or_none(data.get(key))
    if value is None:
        raise WebhookPayloadError(f"The webhook data has no {key}.")
    return value


def _text_or_none(value: object) -> str | None:
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def _optional_object(data: dict[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise WebhookPayloadError(f"The webhook field {key} is not an object.")
    return value


def _optional_time(value: object, what: str) -> datetime | None:
    if value is None:
        return None
    if not _is_number(value):
        raise WebhookPayloadError(f"The webhook field {what} is not a Unix time.")
    try:
        return from_unix(float(value))
    except (OverflowError, OSError, ValueError) as exc:
        raise WebhookPayloadError(f"The webhook field {what} is not a Unix time.") from exc


def _is_number(value: object) -> TypeGuard[int | float]:
    """A finite JSON number (``true`` is not one, though Python thinks so)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
