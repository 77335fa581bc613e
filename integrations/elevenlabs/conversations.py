"""Reconciliation: ask ElevenLabs how a conversation stands when its post-call webhook never came."""

from __future__ import annotations

import enum
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
from elevenlabs import AsyncElevenLabs
from elevenlabs.core.api_error import ApiError
from elevenlabs.core.parse_error import ParsingError
from elevenlabs.core.request_options import RequestOptions

from domain.errors import DependencyUnavailable, NotFound
from domain.models import Turn
from integrations.elevenlabs.transcript import TranscriptTurn, from_unix, success_flag, to_domain_turns

log = logging.getLogger(__name__)

# No retries here: the reconciliation sweep asks again on its next round anyway.
_READ_OPTIONS = RequestOptions(timeout_in_seconds=15, max_retries=0)


class ConversationState(enum.StrEnum):
    """ElevenLabs' conversation status; ``UNKNOWN`` stands for one this code does not know yet."""

    INITIATED = "initiated"
    IN_PROGRESS = "in-progress"
    PROCESSING = "processing"
    DONE = "done"
    FAILED = "failed"
    UNKNOWN = "unknown"

    @property
    def final(self) -> bool:
        """Whether ElevenLabs is done with the conversation. ``processing`` is not: the phone call has ended
        but its transcript and analysis (the outcome) are still being made, so a call ended then would lose
        its outcome for good."""
        return self in (ConversationState.DONE, ConversationState.FAILED)


@dataclass(frozen=True, slots=True)
class ConversationStatus:
    """Where one conversation stands; the transcript and analysis are filled once it is ``DONE``."""

    conversation_id: str
    state: ConversationState
    transcript: tuple[TranscriptTurn, ...] = ()
    summary: str | None = None
    call_successful: bool | None = None
    started_at: datetime | None = None
    analysis: Mapping[str, Any] = field(default_factory=dict)

    def domain_transcript(self) -> list[Turn]:
        """The transcript as the domain keeps it, timed from the start of the call."""
        return to_domain_turns(self.transcript, self.started_at) if self.started_at else []


async def fetch_conversation(client: AsyncElevenLabs, conversation_id: str) -> ConversationStatus:
    """The conversation's status; raises ``NotFound`` when ElevenLabs does not know it and
    ``DependencyUnavailable`` when ElevenLabs cannot be asked."""
    try:
        conversation = await client.conversational_ai.conversations.get(conversation_id, request_options=_READ_OPTIONS)
    except ApiError as exc:
        if exc.status_code == 404:
            raise NotFound("ElevenLabs knows no such conversation.") from exc
        log.warning("ElevenLabs answered HTTP %s for conversation %s", exc.status_code, conversation_id)
        raise DependencyUnavailable("ElevenLabs could not say how the call went.") from exc
    except (httpx.HTTPError, ParsingError) as exc:
        log.warning("could not read conversation %s from ElevenLabs: %s", conversation_id, type(exc).__name__)
        raise DependencyUnavailable("ElevenLabs could not say how the call went.") from exc

    try:
        state = ConversationState(conversation.status)
    except ValueError:
        state = ConversationState.UNKNOWN
    metadata = conversation.metadata
    started = getattr(metadata, "start_time_unix_secs", None)
    if state is not ConversationState.DONE:
        return ConversationStatus(conversation_id=conversation_id, state=state)
    analysis = conversation.analysis
    return ConversationStatus(
        conversation_id=conversation_id,
        state=state,
        transcript=tuple(
            TranscriptTurn(role=str(turn.role), message=turn.message.strip(), time_in_call_secs=turn.time_in_call_secs)
            for turn in conversation.transcript or []
            if turn.message and turn.message.strip()
        ),
        summary=(analysis.transcript_summary or None) if analysis else None,
        call_successful=success_flag(analysis.call_successful) if analysis else None,
        started_at=from_unix(started) if isinstance(started, int | float) else None,
        analysis=_as_mapping(analysis),
    )


def _as_mapping(analysis: object) -> Mapping[str, Any]:
    """The SDK's analysis model as plain data (what the post-call webhook carries too)."""
    dump = getattr(analysis, "model_dump", None)
    data = dump(mode="json") if callable(dump) else None
    return data if isinstance(data, dict) else {}
