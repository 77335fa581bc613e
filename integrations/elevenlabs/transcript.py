"""What was said in an ElevenLabs conversation, as ElevenLabs reports it and as the domain keeps it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from domain.models import Turn


@dataclass(frozen=True, slots=True)
class TranscriptTurn:
    """One utterance: ``role`` is ``agent`` (our voice agent) or ``user`` (the person who picked up)."""

    role: str
    message: str
    time_in_call_secs: float


def to_domain_turns(turns: Iterable[TranscriptTurn], started_at: datetime) -> list[Turn]:
    """The domain's transcript: the other side of an ElevenLabs conversation is the provider."""
    return [
        Turn(
            speaker="agent" if turn.role == "agent" else "provider",
            text=turn.message,
            at=started_at + timedelta(seconds=turn.time_in_call_secs),
        )
        for turn in turns
    ]


def from_unix(seconds: float) -> datetime:
    """An aware UTC datetime from a Unix timestamp in seconds."""
    return datetime.fromtimestamp(seconds, tz=UTC)


def success_flag(value: object) -> bool | None:
    """ElevenLabs' ``call_successful`` (``success`` / ``failure`` / ``unknown``) as yes, no or unknown."""
    if value == "success":
        return True
    if value == "failure":
        return False
    return None
