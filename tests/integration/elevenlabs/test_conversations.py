"""Asking ElevenLabs after a conversation, against the fake API over real HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from elevenlabs import AsyncElevenLabs

from domain.errors import DependencyUnavailable, NotFound
from domain.models import Turn
from integrations.elevenlabs import (
    ConversationState,
    ConversationStatus,
    TranscriptTurn,
    fetch_conversation,
    make_elevenlabs_client,
)
from tests.integration.elevenlabs.conftest import API_KEY, FakeElevenLabs

STARTED = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def conversation(status: str, **extra: Any) -> dict[str, Any]:
    return {
        "agent_id": "agent_discover",
        "conversation_id": "conv_1",
        "status": status,
        "metadata": {"start_time_unix_secs": int(STARTED.timestamp()), "call_duration_secs": 40},
        "has_audio": True,
        "has_user_audio": True,
        "has_response_audio": True,
        "has_auxiliary_audio": False,
        "transcript": [],
        **extra,
    }


async def test_a_finished_conversation_comes_with_transcript_summary_and_verdict(
    elevenlabs_client: AsyncElevenLabs, fake_elevenlabs: FakeElevenLabs
) -> None:
    fake_elevenlabs.conversations["conv_1"] = conversation(
        "done",
        transcript=[
            {"role": "agent", "message": "Hello, I am calling for a patient.", "time_in_call_secs": 0},
            {"role": "agent", "message": None, "time_in_call_secs": 3, "tool_calls": []},
            {"role": "user", "message": "Tuesday at 14:30 works.", "time_in_call_secs": 6},
        ],
        analysis={"call_successful": "success", "transcript_summary": "Tuesday 14:30 was offered."},
    )

    status = await fetch_conversation(elevenlabs_client, "conv_1")

    assert status == ConversationStatus(
        conversation_id="conv_1",
        state=ConversationState.DONE,
        transcript=(
            TranscriptTurn("agent", "Hello, I am calling for a patient.", 0),
            TranscriptTurn("user", "Tuesday at 14:30 works.", 6),
        ),
        summary="Tuesday 14:30 was offered.",
        call_successful=True,
        started_at=STARTED,
        analysis={"call_successful": "success", "transcript_summary": "Tuesday 14:30 was offered."},
    )
    assert status.domain_transcript()[1] == Turn("provider", "Tuesday at 14:30 works.", STARTED + timedelta(seconds=6))
    [seen] = fake_elevenlabs.seen
    assert (seen.method, seen.path, seen.headers["xi-api-key"]) == ("GET", "/v1/convai/conversations/conv_1", API_KEY)


@pytest.mark.parametrize(
    ("raw", "state", "final"),
    [
        ("initiated", ConversationState.INITIATED, False),
        ("in-progress", ConversationState.IN_PROGRESS, False),
        ("processing", ConversationState.PROCESSING, False),
        ("failed", ConversationState.FAILED, True),
        ("something-new", ConversationState.UNKNOWN, False),
    ],
)
async def test_an_unfinished_conversation_reports_only_its_state(
    elevenlabs_client: AsyncElevenLabs,
    fake_elevenlabs: FakeElevenLabs,
    raw: str,
    state: ConversationState,
    final: bool,
) -> None:
    fake_elevenlabs.conversations["conv_1"] = conversation(
        raw, transcript=[{"role": "agent", "message": "Hello", "time_in_call_secs": 0}]
    )

    status = await fetch_conversation(elevenlabs_client, "conv_1")

    assert status == ConversationStatus(conversation_id="conv_1", state=state)
    assert status.state.final is final


async def test_an_unknown_conversation_is_not_found(
    elevenlabs_client: AsyncElevenLabs, fake_elevenlabs: FakeElevenLabs
) -> None:
    with pytest.raises(NotFound, match="no such conversation"):
        await fetch_conversation(elevenlabs_client, "conv_missing")


async def test_a_broken_api_is_unavailable_after_one_request(
    elevenlabs_client: AsyncElevenLabs, fake_elevenlabs: FakeElevenLabs
) -> None:
    fake_elevenlabs.conversation_status = 503

    with pytest.raises(DependencyUnavailable, match="could not say how the call went"):
        await fetch_conversation(elevenlabs_client, "conv_1")

    assert len(fake_elevenlabs.seen) == 1


async def test_an_unreachable_api_is_unavailable() -> None:
    client = make_elevenlabs_client(API_KEY, "http://127.0.0.1:9")

    with pytest.raises(DependencyUnavailable):
        await fetch_conversation(client, "conv_1")
