"""Post-call webhooks: signatures agree with the ElevenLabs SDK's own check; events read as documented."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from elevenlabs import ElevenLabs
from elevenlabs.errors import BadRequestError

from domain.errors import InvalidRequest, NotAuthorized
from domain.models import CallStatus, Turn
from integrations.elevenlabs import (
    CallInitiationFailure,
    PostCallTranscription,
    TranscriptTurn,
    UnsupportedEvent,
    WebhookPayloadError,
    WebhookSignatureError,
    parse_event,
    replay_key,
    sign_payload,
    verify_signature,
)

SECRET = "wsec_7c1d0e5a9b2f4c3d8e6f1a0b9c8d7e6f"
BODY = b'{"type":"post_call_transcription","event_timestamp":1764583200,"data":{}}'
T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
T0_UNIX = int(T0.timestamp())
EVENT_UNIX = T0_UNIX + 60


@pytest.fixture(scope="module")
def sdk() -> ElevenLabs:
    return ElevenLabs(api_key="unused", base_url="http://127.0.0.1:9")


def sdk_accepts(sdk: ElevenLabs, body: bytes, header: str) -> bool:
    try:
        sdk.webhooks.construct_event(body.decode("utf-8"), header, SECRET)
    except BadRequestError:
        return False
    return True


def we_accept(body: bytes, header: str, now: datetime) -> bool:
    try:
        verify_signature(body, header, SECRET, now)
    except WebhookSignatureError:
        return False
    return True


# --- signatures ------------------------------------------------------------------------------------


def test_a_signature_we_make_passes_the_sdk_check_and_ours(sdk: ElevenLabs) -> None:
    now = datetime.now(UTC)
    header = sign_payload(BODY, SECRET, now)

    assert header.startswith(f"t={int(now.timestamp())},v0=")
    assert sdk_accepts(sdk, BODY, header)
    verify_signature(BODY, header, SECRET, now)


@pytest.mark.parametrize(
    ("case", "body", "make_header"),
    [
        ("signed", BODY, lambda now: sign_payload(BODY, SECRET, now)),
        ("tampered body", BODY.replace(b"post_call", b"pre_call"), lambda now: sign_payload(BODY, SECRET, now)),
        ("other secret", BODY, lambda now: sign_payload(BODY, SECRET + "x", now)),
        ("expired", BODY, lambda now: sign_payload(BODY, SECRET, now - timedelta(minutes=31))),
        ("just in time", BODY, lambda now: sign_payload(BODY, SECRET, now - timedelta(minutes=29))),
        ("fields reversed", BODY, lambda now: ",".join(reversed(sign_payload(BODY, SECRET, now).split(",")))),
        ("no signature", BODY, lambda now: f"t={int(now.timestamp())}"),
        ("no timestamp", BODY, lambda now: sign_payload(BODY, SECRET, now).split(",")[1]),
    ],
)
def test_our_check_and_the_sdk_check_agree(
    sdk: ElevenLabs, case: str, body: bytes, make_header: Callable[[datetime], str]
) -> None:
    now = datetime.now(UTC)
    header = make_header(now)

    assert we_accept(body, header, now) == sdk_accepts(sdk, body, header), case


def test_a_signature_from_the_future_beyond_the_tolerance_is_refused() -> None:
    header = sign_payload(BODY, SECRET, T0 + timedelta(minutes=31))

    with pytest.raises(WebhookSignatureError, match="too old or from the future"):
        verify_signature(BODY, header, SECRET, T0)


def test_the_tolerance_can_be_narrowed() -> None:
    header = sign_payload(BODY, SECRET, T0 - timedelta(minutes=6))

    verify_signature(BODY, header, SECRET, T0)
    with pytest.raises(WebhookSignatureError):
        verify_signature(BODY, header, SECRET, T0, tolerance=timedelta(minutes=5))


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (None, "missing"),
        ("", "missing"),
        ("garbage", "not of the form"),
        ("t=abc,v0=" + "a" * 64, "not of the form"),
        (f"t={T0_UNIX},v0=nothex", "not of the form"),
        (f"t={T0_UNIX},v1=" + "a" * 64, "not of the form"),
    ],
)
def test_a_malformed_header_is_refused_with_a_reason(header: str | None, reason: str) -> None:
    with pytest.raises(WebhookSignatureError, match=reason):
        verify_signature(BODY, header, SECRET, T0)


def test_a_wrong_signature_is_refused() -> None:
    header = f"t={int(T0.timestamp())},v0={'0' * 64}"

    with pytest.raises(WebhookSignatureError, match="does not match"):
        verify_signature(BODY, header, SECRET, T0)


def test_any_one_of_several_signatures_may_match_while_a_secret_is_rotated() -> None:
    good = sign_payload(BODY, SECRET, T0)
    header = f"{good.split(',')[0]},v0={'0' * 64},{good.split(',')[1]}"

    verify_signature(BODY, header, SECRET, T0)


def test_without_a_configured_secret_nothing_is_trusted() -> None:
    with pytest.raises(WebhookSignatureError, match="No webhook secret"):
        verify_signature(BODY, sign_payload(BODY, "", T0), "", T0)


def test_signature_errors_are_authorisation_errors_for_the_http_layer() -> None:
    assert issubclass(WebhookSignatureError, NotAuthorized)
    assert issubclass(WebhookPayloadError, InvalidRequest)


def test_replay_key_is_stable_per_delivery_and_distinct_between_deliveries() -> None:
    first = sign_payload(BODY, SECRET, T0)
    second = sign_payload(BODY, SECRET, T0 + timedelta(seconds=1))

    assert replay_key(first) == replay_key(f" {first} ")
    assert replay_key(first) != replay_key(second)
    assert SECRET not in replay_key(first)


# --- events ----------------------------------------------------------------------------------------


def transcription_body(**data_overrides: object) -> bytes:
    data: dict[str, object] = {
        "agent_id": "agent_discover",
        "conversation_id": "conv_01",
        "status": "done",
        "transcript": [
            {"role": "agent", "message": "Hello, I am calling for a patient.", "time_in_call_secs": 0},
            {"role": "agent", "message": None, "time_in_call_secs": 4, "tool_calls": [{"tool_name": "x"}]},
            {"role": "user", "message": " We have Tuesday at 14:30. ", "time_in_call_secs": 7.5},
        ],
        "metadata": {
            "start_time_unix_secs": T0_UNIX,
            "call_duration_secs": 42,
            "phone_call": {"type": "twilio", "call_sid": "CA0123456789abcdef"},
        },
        "analysis": {
            "call_successful": "success",
            "transcript_summary": "The practice offered Tuesday at 14:30.",
            "data_collection_results": {},
        },
        "conversation_initiation_client_data": {
            "dynamic_variables": {"provider_name": "Praxis Dr. Weiss", "secret__call_token": "tok_secret"}
        },
    }
    data.update(data_overrides)
    return json.dumps({"type": "post_call_transcription", "event_timestamp": EVENT_UNIX, "data": data}).encode()


def test_a_transcription_event_is_read_with_its_transcript_summary_and_verdict() -> None:
    event = parse_event(transcription_body())

    assert isinstance(event, PostCallTranscription)
    assert (event.conversation_id, event.agent_id, event.call_sid) == (
        "conv_01",
        "agent_discover",
        "CA0123456789abcdef",
    )
    assert event.transcript == (
        TranscriptTurn("agent", "Hello, I am calling for a patient.", 0.0),
        TranscriptTurn("user", "We have Tuesday at 14:30.", 7.5),
    )
    assert event.summary == "The practice offered Tuesday at 14:30."
    assert event.call_successful is True
    assert event.analysis["call_successful"] == "success"
    assert event.at == datetime(2026, 12, 1, 12, 1, tzinfo=UTC)
    assert event.started_at == datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def test_the_call_token_is_kept_apart_from_the_other_variables_and_out_of_the_repr() -> None:
    event = parse_event(transcription_body())

    assert isinstance(event, PostCallTranscription)
    assert event.dynamic_variables == {"provider_name": "Praxis Dr. Weiss"}
    assert event.call_token == "tok_secret"
    assert "tok_secret" not in repr(event)


def test_the_domain_transcript_is_timed_from_the_start_of_the_call() -> None:
    event = parse_event(transcription_body())

    assert isinstance(event, PostCallTranscription)
    start = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    assert event.domain_transcript() == [
        Turn("agent", "Hello, I am calling for a patient.", start),
        Turn("provider", "We have Tuesday at 14:30.", start + timedelta(seconds=7.5)),
    ]


@pytest.mark.parametrize(("verdict", "expected"), [("success", True), ("failure", False), ("unknown", None)])
def test_the_success_verdict_is_yes_no_or_unknown(verdict: str, expected: bool | None) -> None:
    event = parse_event(transcription_body(analysis={"call_successful": verdict, "transcript_summary": ""}))

    assert isinstance(event, PostCallTranscription)
    assert event.call_successful is expected
    assert event.summary is None


def test_a_transcription_without_analysis_or_variables_still_reads() -> None:
    event = parse_event(
        transcription_body(analysis=None, conversation_initiation_client_data=None, metadata=None, transcript=[])
    )

    assert isinstance(event, PostCallTranscription)
    assert (event.summary, event.call_successful, event.call_token, event.started_at) == (None, None, None, None)
    assert event.dynamic_variables == {}
    assert event.domain_transcript() == []


@pytest.mark.parametrize(
    ("reason", "status"),
    [("busy", CallStatus.BUSY), ("no-answer", CallStatus.NO_ANSWER), ("unknown", CallStatus.FAILED)],
)
def test_a_call_initiation_failure_maps_to_a_call_status(reason: str, status: CallStatus) -> None:
    body = {
        "type": "call_initiation_failure",
        "event_timestamp": EVENT_UNIX,
        "data": {
            "agent_id": "agent_discover",
            "conversation_id": "conv_02",
            "failure_reason": reason,
            "metadata": {"type": "twilio", "body": {"CallSid": "CA99", "CallStatus": reason}},
        },
    }

    event = parse_event(json.dumps(body).encode())

    assert event == CallInitiationFailure(
        conversation_id="conv_02",
        failure_reason=reason,
        status=status,
        at=datetime(2026, 12, 1, 12, 1, tzinfo=UTC),
        agent_id="agent_discover",
        call_sid="CA99",
    )


def test_a_failure_without_a_reason_counts_as_failed() -> None:
    body = {"type": "call_initiation_failure", "event_timestamp": EVENT_UNIX, "data": {"conversation_id": "c"}}

    event = parse_event(json.dumps(body).encode())

    assert isinstance(event, CallInitiationFailure)
    assert (event.failure_reason, event.status) == ("unknown", CallStatus.FAILED)


def test_other_event_types_are_unsupported_not_errors() -> None:
    body = {"type": "post_call_audio", "event_timestamp": EVENT_UNIX, "data": {"full_audio": "UklGRg=="}}

    assert parse_event(json.dumps(body).encode()) == UnsupportedEvent(
        type="post_call_audio", at=datetime(2026, 12, 1, 12, 1, tzinfo=UTC)
    )


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"\xff\xfe",
        b"not json",
        b"[1, 2]",
        b'{"data": {}}',
        b'{"type": "post_call_transcription"}',
        b'{"type": "post_call_transcription", "data": {"agent_id": "a"}}',
        b'{"type": "post_call_transcription", "data": {"conversation_id": "c", "agent_id": "a", "transcript": "hi"}}',
        b'{"type": "post_call_transcription", "data": {"conversation_id": "c", "agent_id": "a", "transcript": [1]}}',
        b'{"type": "post_call_transcription", "data": {"conversation_id": "c", "agent_id": "a",'
        b' "transcript": [{"message": "hi", "time_in_call_secs": 1}]}}',
        b'{"type": "post_call_transcription", "data": {"conversation_id": "c", "agent_id": "a", "analysis": []}}',
        b'{"type": "call_initiation_failure", "event_timestamp": "yesterday", "data": {"conversation_id": "c"}}',
        b'{"type": "call_initiation_failure", "event_timestamp": 1e300, "data": {"conversation_id": "c"}}',
        b'{"type": "call_initiation_failure", "event_timestamp": true, "data": {"conversation_id": "c"}}',
    ],
)
def test_garbage_is_a_payload_error(body: bytes) -> None:
    with pytest.raises(WebhookPayloadError):
        parse_event(body)
