"""SQLAlchemy repositories of the user in the loop (``domain.loop_ports``): live transcripts and listeners,
questions to the user, profiles, instructions to running calls."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from domain.errors import ConcurrentUpdate
from domain.loop import Instruction, Insurance, PatientStatus, UserProfile, UserQuestion
from domain.models import Turn
from storage.orm import (
    _OPEN_QUESTION,
    CallListenerRow,
    CallTurnRow,
    InstructionReadRow,
    InstructionRow,
    UserProfileRow,
    UserQuestionRow,
)
from storage.repositories import _Repository


class SqlAlchemyTurnRepository(_Repository):
    async def append(self, call_id: str, turns: Sequence[Turn]) -> None:
        if turns:
            rows = [{"call_id": call_id, "speaker": t.speaker, "text": t.text, "at": t.at} for t in turns]
            await self._session.execute(insert(CallTurnRow), rows)

    async def replace(self, call_id: str, turns: Sequence[Turn]) -> None:
        await self._session.execute(delete(CallTurnRow).where(CallTurnRow.call_id == call_id))
        await self.append(call_id, turns)

    async def list_for_call(self, call_id: str) -> list[Turn]:
        rows = await self._all(select(CallTurnRow).where(CallTurnRow.call_id == call_id).order_by(CallTurnRow.seq))
        return [Turn(r.speaker, r.text, r.at) for r in rows]

    async def listen(self, call_id: str, user_id: int, message_id: int | None) -> None:
        values = {"call_id": call_id, "user_id": user_id, "message_id": message_id}
        await self._session.execute(self._upsert(CallListenerRow, values, "call_id"))

    async def listener(self, call_id: str) -> tuple[int, int | None] | None:
        row = await self._first(select(CallListenerRow).where(CallListenerRow.call_id == call_id))
        return None if row is None else (row.user_id, row.message_id)


def _question(row: UserQuestionRow) -> UserQuestion:
    return UserQuestion(
        id=row.id,
        call_id=row.call_id,
        campaign_id=row.campaign_id,
        user_id=row.user_id,
        provider_name=row.provider_name,
        question=row.question,
        topic=row.topic,
        choices=tuple(str(c) for c in row.choices),
        why=row.why,
        asked_at=row.asked_at,
        answer=row.answer,
        answered_at=row.answered_at,
    )


class SqlAlchemyQuestionRepository(_Repository):
    async def add(self, question: UserQuestion) -> bool:
        values = {
            "id": question.id,
            "call_id": question.call_id,
            "campaign_id": question.campaign_id,
            "user_id": question.user_id,
            "provider_name": question.provider_name[:200],
            "question": question.question,
            "topic": question.topic[:200],
            "choices": list(question.choices),
            "why": question.why,
            "asked_at": question.asked_at,
            "answer": question.answer,
            "answered_at": question.answered_at,
        }
        dialect = postgresql if self._dialect() == "postgresql" else sqlite
        statement = (
            dialect.insert(UserQuestionRow)
            .values(values)
            .on_conflict_do_nothing(index_elements=["campaign_id", "topic"], index_where=_OPEN_QUESTION)
        )
        inserted = await self._session.execute(statement.returning(UserQuestionRow.id))
        return inserted.first() is not None

    async def get(self, question_id: str) -> UserQuestion | None:
        row = await self._first(select(UserQuestionRow).where(UserQuestionRow.id == question_id))
        return None if row is None else _question(row)

    async def save(self, question: UserQuestion) -> None:
        # Only an unanswered question takes an answer: of two taps at once, the second finds it answered.
        change = (
            update(UserQuestionRow)
            .where(UserQuestionRow.id == question.id, UserQuestionRow.answer.is_(None))
            .values(answer=question.answer, answered_at=question.answered_at)
            .returning(UserQuestionRow.id)
        )
        stored = await self._session.execute(change)
        if stored.first() is None:
            raise ConcurrentUpdate("The question was answered by someone else in the meantime.")

    async def open_in_campaign(self, campaign_id: str, topic: str) -> UserQuestion | None:
        statement = (
            select(UserQuestionRow)
            .where(
                UserQuestionRow.campaign_id == campaign_id,
                UserQuestionRow.topic == topic,
                UserQuestionRow.answer.is_(None),
            )
            .order_by(UserQuestionRow.asked_at.desc())
        )
        row = await self._first(statement)
        return None if row is None else _question(row)

    async def answered(self, campaign_id: str, topic: str) -> UserQuestion | None:
        statement = (
            select(UserQuestionRow)
            .where(
                UserQuestionRow.campaign_id == campaign_id,
                UserQuestionRow.topic == topic,
                UserQuestionRow.answer.is_not(None),
            )
            .order_by(UserQuestionRow.answered_at.desc())
        )
        row = await self._first(statement)
        return None if row is None else _question(row)

    async def latest_open_for_user(self, user_id: int, since: datetime) -> UserQuestion | None:
        statement = (
            select(UserQuestionRow)
            .where(
                UserQuestionRow.user_id == user_id,
                UserQuestionRow.asked_at >= since,
                UserQuestionRow.answer.is_(None),
            )
            .order_by(UserQuestionRow.asked_at.desc())
        )
        row = await self._first(statement)
        return None if row is None else _question(row)

    async def list_for_call(self, call_id: str) -> list[UserQuestion]:
        rows = await self._all(
            select(UserQuestionRow).where(UserQuestionRow.call_id == call_id).order_by(UserQuestionRow.asked_at)
        )
        return [_question(r) for r in rows]


class SqlAlchemyProfileRepository(_Repository):
    async def get(self, user_id: int) -> UserProfile | None:
        row = await self._first(select(UserProfileRow).where(UserProfileRow.user_id == user_id))
        if row is None:
            return None
        return UserProfile(
            user_id=row.user_id,
            name=row.name,
            phone=row.phone,
            insurance=Insurance(row.insurance) if row.insurance else None,
            patient=PatientStatus(row.patient) if row.patient else None,
            handover_consent=row.handover_consent,
        )

    async def save(self, profile: UserProfile) -> None:
        values = {
            "user_id": profile.user_id,
            "name": profile.name[:200],
            "phone": profile.phone[:32],
            "insurance": profile.insurance.value if profile.insurance else None,
            "patient": profile.patient.value if profile.patient else None,
            "handover_consent": profile.handover_consent,
        }
        await self._session.execute(self._upsert(UserProfileRow, values, "user_id"))


def _instruction(row: InstructionRow) -> Instruction:
    return Instruction(
        id=row.id, campaign_id=row.campaign_id, call_id=row.call_id, text=row.text, created_at=row.created_at
    )


class SqlAlchemyInstructionRepository(_Repository):
    async def add(self, instruction: Instruction) -> None:
        values = {
            "id": instruction.id,
            "campaign_id": instruction.campaign_id,
            "call_id": instruction.call_id,
            "text": instruction.text,
            "created_at": instruction.created_at,
        }
        await self._session.execute(insert(InstructionRow).values(values))

    async def unread(self, campaign_id: str, call_id: str) -> list[Instruction]:
        read = select(InstructionReadRow.instruction_id).where(InstructionReadRow.call_id == call_id)
        statement = (
            select(InstructionRow)
            .where(
                InstructionRow.campaign_id == campaign_id,
                or_(InstructionRow.call_id.is_(None), InstructionRow.call_id == call_id),
                InstructionRow.id.not_in(read),
            )
            .order_by(InstructionRow.seq)
        )
        return [_instruction(r) for r in await self._all(statement)]

    async def mark_read(self, call_id: str, instruction_ids: Sequence[str], at: datetime) -> None:
        if not instruction_ids:
            return
        rows = [{"instruction_id": i, "call_id": call_id, "read_at": at} for i in instruction_ids]
        dialect = postgresql if self._dialect() == "postgresql" else sqlite
        # DO NOTHING on the key: two fetches at once both succeed, each instruction is read once.
        await self._session.execute(dialect.insert(InstructionReadRow).values(rows).on_conflict_do_nothing())

    async def list_for_campaign(self, campaign_id: str) -> list[Instruction]:
        statement = select(InstructionRow).where(InstructionRow.campaign_id == campaign_id).order_by(InstructionRow.seq)
        return [_instruction(r) for r in await self._all(statement)]
