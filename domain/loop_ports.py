"""The storage ports of the user in the loop: live transcripts, questions to the user, the user's profile and
instructions to running calls. Part of the unit of work (``domain.ports.UnitOfWork``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from domain.loop import Instruction, UserProfile, UserQuestion
from domain.models import Turn


class TurnRepository(Protocol):
    """A call's transcript as it happens: each turn (speaker ``agent`` or ``provider``, text, time) by call
    id, in the order stored. Whoever reads a transcript (the live view, the grounding of offers) reads here."""

    async def append(self, call_id: str, turns: Sequence[Turn]) -> None: ...

    async def replace(self, call_id: str, turns: Sequence[Turn]) -> None:
        """Put the whole transcript in place of what was stored (the post-call transcript is the full one)."""
        ...

    async def list_for_call(self, call_id: str) -> list[Turn]: ...

    async def listen(self, call_id: str, user_id: int, message_id: int | None) -> None:
        """Remember that ``user_id`` follows the call (in Telegram message ``message_id``, once sent)."""
        ...

    async def listener(self, call_id: str) -> tuple[int, int | None] | None:
        """``(user_id, message_id)`` of whoever follows the call, if anybody."""
        ...


class QuestionRepository(Protocol):
    async def add(self, question: UserQuestion) -> bool:
        """Insert; ``False`` (nothing stored) when the campaign has an open question about the same topic."""
        ...

    async def get(self, question_id: str) -> UserQuestion | None: ...

    async def save(self, question: UserQuestion) -> None:
        """Store the answer of a question that has none; raises ``ConcurrentUpdate`` when it has one by now."""
        ...

    async def open_in_campaign(self, campaign_id: str, topic: str) -> UserQuestion | None:
        """The campaign's unanswered question about ``topic`` (another call asked it, or this one retried)."""
        ...

    async def answered(self, campaign_id: str, topic: str) -> UserQuestion | None:
        """The latest answered question about ``topic`` in the campaign."""
        ...

    async def latest_open_for_user(self, user_id: int, since: datetime) -> UserQuestion | None:
        """The user's newest unanswered question asked at or after ``since``."""
        ...

    async def list_for_call(self, call_id: str) -> list[UserQuestion]: ...


class ProfileRepository(Protocol):
    async def get(self, user_id: int) -> UserProfile | None: ...

    async def save(self, profile: UserProfile) -> None:
        """Insert or update."""
        ...


class InstructionRepository(Protocol):
    async def add(self, instruction: Instruction) -> None: ...

    async def unread(self, campaign_id: str, call_id: str) -> list[Instruction]:
        """Instructions for ``call_id`` or for every call of the campaign that this call has not fetched yet,
        oldest first."""
        ...

    async def mark_read(self, call_id: str, instruction_ids: Sequence[str], at: datetime) -> None:
        """Remember that the call fetched them; marking one twice is harmless."""
        ...

    async def list_for_campaign(self, campaign_id: str) -> list[Instruction]: ...
