"""The tables, as typed declarative models. Repositories map them to and from the domain dataclasses.

The schema itself is created by the Alembic migrations in ``storage/migrations``; these models describe
the same tables so that queries are typed and autogenerate can compare the two.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    func,
    literal_column,
    text,
)
from sqlalchemy.dialects.postgresql import ExcludeConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from storage.types import UtcDateTime

# Telegram user ids exceed 32 bits; SQLite only auto-numbers an INTEGER primary key, hence the variant.
BigId = BigInteger().with_variant(Integer(), "sqlite")
Id = String(32)
Json = JSON(none_as_null=True)

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

APPOINTMENT_OVERLAP_CONSTRAINT = "appointments_no_overlap"
ONE_BOOKING_PER_OFFER = "uq_appointments_offer_id_booked"
ONE_CANCELLATION_CALL = "uq_call_tasks_target_appointment_id_cancelling"

_BOOKED = text("status = 'BOOKED'")
_OPEN_CANCELLATION = text("purpose = 'CANCEL' AND status IN ('QUEUED', 'DIALING', 'IN_PROGRESS')")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UtcDateTime(), dict[str, Any]: Json, list[Any]: Json}


class UserRow(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    timezone: Mapped[str] = mapped_column(String(64))
    home: Mapped[dict[str, Any] | None]
    weights: Mapped[dict[str, Any]]
    radius_km: Mapped[float] = mapped_column(Float)
    reminders_enabled: Mapped[bool] = mapped_column(Boolean)
    language: Mapped[str] = mapped_column(String(16))
    display_name: Mapped[str] = mapped_column(String(200))


class CampaignRow(Base):
    __tablename__ = "campaigns"
    __table_args__ = (
        Index(None, "user_id", "created_at"),
        Index(None, "status", "deadline_at"),
    )

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger)
    service: Mapped[str] = mapped_column(String(200))
    windows: Mapped[list[Any]]
    location: Mapped[dict[str, Any]]
    timezone: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    deadline_at: Mapped[datetime]
    request_text: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(16))
    duration_minutes: Mapped[int] = mapped_column(Integer)
    radius_km: Mapped[float] = mapped_column(Float)
    weights: Mapped[dict[str, Any]]
    max_calls: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(32))
    failure_reason: Mapped[str | None] = mapped_column(Text)
    chosen_offer_id: Mapped[str | None] = mapped_column(Id)
    updated_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(Integer)
    expert_answers: Mapped[dict[str, Any] | None]
    fanout_reserve: Mapped[list[Any] | None]


class CallTaskRow(Base):
    __tablename__ = "call_tasks"
    __table_args__ = (
        Index(None, "campaign_id"),
        Index(None, "status", "timeout_at"),
        # At most one open cancellation call per appointment, however many taps arrive at once.
        Index(
            ONE_CANCELLATION_CALL,
            "target_appointment_id",
            unique=True,
            sqlite_where=_OPEN_CANCELLATION,
            postgresql_where=_OPEN_CANCELLATION,
        ),
        Index(None, "status", "not_before"),
        Index(None, "details_forgotten_at", "ended_at"),
    )

    # ``seq`` keeps creation order: calls of one campaign are created in the same instant.
    seq: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(Id, unique=True)
    campaign_id: Mapped[str] = mapped_column(Id, ForeignKey("campaigns.id", ondelete="CASCADE"))
    provider: Mapped[dict[str, Any]]
    purpose: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(128), unique=True)
    created_at: Mapped[datetime]
    timeout_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(32))
    outcome: Mapped[str | None] = mapped_column(String(32))
    target_offer_id: Mapped[str | None] = mapped_column(Id)
    target_appointment_id: Mapped[str | None] = mapped_column(Id)
    conversation_id: Mapped[str | None] = mapped_column(String(128), unique=True)
    call_sid: Mapped[str | None] = mapped_column(String(64))
    started_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    summary: Mapped[str | None] = mapped_column(Text)
    failure_reason: Mapped[str | None] = mapped_column(Text)
    transcript: Mapped[list[Any]]
    not_before: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(Integer)
    # when the retention job cleared the call's transcript and summary (None: not yet)
    details_forgotten_at: Mapped[datetime | None]
    call_back_at: Mapped[datetime | None]
    round_no: Mapped[int] = mapped_column(Integer, server_default="0")


class OfferRow(Base):
    __tablename__ = "offers"
    __table_args__ = (
        UniqueConstraint("call_task_id", "start_at"),
        Index(None, "campaign_id"),
    )

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    campaign_id: Mapped[str] = mapped_column(Id, ForeignKey("campaigns.id", ondelete="CASCADE"))
    call_task_id: Mapped[str] = mapped_column(Id, ForeignKey("call_tasks.id", ondelete="CASCADE"))
    provider_id: Mapped[str] = mapped_column(String(200))
    provider_name: Mapped[str] = mapped_column(String(200))
    start_at: Mapped[datetime]
    end_at: Mapped[datetime]
    score: Mapped[float] = mapped_column(Float)
    rating: Mapped[float | None] = mapped_column(Float)
    distance_km: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime]
    notes: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(32))
    grounding: Mapped[str] = mapped_column(String(16), server_default="pending")
    grounding_evidence: Mapped[str | None] = mapped_column(Text)


class AppointmentRow(Base):
    __tablename__ = "appointments"
    __table_args__ = (
        Index(None, "user_id", "start_at"),
        Index(None, "offer_id"),
        # At most one booked appointment per offer: a second booking of the same offer is the same booking.
        Index(ONE_BOOKING_PER_OFFER, "offer_id", unique=True, sqlite_where=_BOOKED, postgresql_where=_BOOKED),
        # PostgreSQL refuses overlapping booked appointments of one user by itself (needs btree_gist);
        # SQLite serialises writers instead and the repository checks inside the transaction.
        ExcludeConstraint(
            (literal_column("user_id"), "="),
            (func.tstzrange(literal_column("start_at"), literal_column("end_at"), "[)"), "&&"),
            name=APPOINTMENT_OVERLAP_CONSTRAINT,
            using="gist",
            where=text("status = 'BOOKED'"),
        ).ddl_if(dialect="postgresql"),
    )

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger)
    campaign_id: Mapped[str] = mapped_column(Id, ForeignKey("campaigns.id", ondelete="CASCADE"))
    offer_id: Mapped[str] = mapped_column(Id, ForeignKey("offers.id", ondelete="CASCADE"))
    provider: Mapped[dict[str, Any]]
    start_at: Mapped[datetime]
    end_at: Mapped[datetime]
    created_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(32))
    calendar_event_id: Mapped[str | None] = mapped_column(String(1024))
    sequence: Mapped[int] = mapped_column(Integer, server_default="0")


class ReminderRow(Base):
    __tablename__ = "reminders"
    __table_args__ = (
        Index(None, "due_at"),
        Index(None, "appointment_id"),
    )

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    appointment_id: Mapped[str] = mapped_column(Id, ForeignKey("appointments.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(BigInteger)
    due_at: Mapped[datetime]
    lead_minutes: Mapped[int] = mapped_column(Integer)
    sent_at: Mapped[datetime | None]
    cancelled: Mapped[bool] = mapped_column(Boolean)


class CalendarLinkRow(Base):
    __tablename__ = "calendar_links"

    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    provider: Mapped[str] = mapped_column(String(32))
    encrypted_token: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    calendar_id: Mapped[str] = mapped_column(String(1024))


class ChatSessionRow(Base):
    __tablename__ = "chat_sessions"

    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    state: Mapped[dict[str, Any]]
    updated_at: Mapped[datetime]
    version: Mapped[int] = mapped_column(server_default="0")


class ProcessedEventRow(Base):
    __tablename__ = "processed_events"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    seen_at: Mapped[datetime]


class OutboxRow(Base):
    """A message to a user, queued in the transaction that caused it (see ``domain.ports.OutboxRepository``)."""

    __tablename__ = "outbox"
    __table_args__ = (Index(None, "status", "user_id", "seq"),)

    # ``seq`` is the order messages of one user go out in.
    seq: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(BigInteger)
    key: Mapped[str | None] = mapped_column(String(200), unique=True)
    folding_key: Mapped[str | None] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer)
    not_before: Mapped[datetime | None]
    claimed_until: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)


# --- the user in the loop (domain.loop_ports) ------------------------------------------------------


class CallTurnRow(Base):
    """One turn of a call's transcript, stored as it is said (``seq`` is the order)."""

    __tablename__ = "call_turns"
    __table_args__ = (Index(None, "call_id", "seq"),)

    seq: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    call_id: Mapped[str] = mapped_column(Id)
    speaker: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime]


class CallListenerRow(Base):
    """Who follows a call's transcript live, and in which message."""

    __tablename__ = "call_listeners"

    call_id: Mapped[str] = mapped_column(Id, primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger)
    message_id: Mapped[int | None] = mapped_column(BigInteger)


_OPEN_QUESTION = text("answer IS NULL")
ONE_OPEN_QUESTION_PER_TOPIC = "uq_user_questions_campaign_id_topic_open"


class UserQuestionRow(Base):
    __tablename__ = "user_questions"
    __table_args__ = (
        Index(None, "campaign_id", "topic"),
        # Two calls asking the same at once make one question to the user.
        Index(
            ONE_OPEN_QUESTION_PER_TOPIC,
            "campaign_id",
            "topic",
            unique=True,
            sqlite_where=_OPEN_QUESTION,
            postgresql_where=_OPEN_QUESTION,
        ),
        Index(None, "call_id"),
        Index(None, "user_id", "asked_at"),
    )

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    call_id: Mapped[str] = mapped_column(Id)
    campaign_id: Mapped[str] = mapped_column(Id)
    user_id: Mapped[int] = mapped_column(BigInteger)
    provider_name: Mapped[str] = mapped_column(String(200))
    question: Mapped[str] = mapped_column(Text)
    topic: Mapped[str] = mapped_column(String(200))
    choices: Mapped[list[Any]]
    why: Mapped[str] = mapped_column(Text)
    asked_at: Mapped[datetime]
    answer: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime | None]


class UserProfileRow(Base):
    __tablename__ = "user_profiles"

    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str] = mapped_column(String(32))
    insurance: Mapped[str | None] = mapped_column(String(16))
    patient: Mapped[str | None] = mapped_column(String(16))
    handover_consent: Mapped[bool] = mapped_column(Boolean)


class InstructionRow(Base):
    __tablename__ = "call_instructions"
    __table_args__ = (Index(None, "campaign_id", "seq"),)

    # ``seq`` is the order the user gave them in (several may share one instant)
    seq: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(Id, unique=True)
    campaign_id: Mapped[str] = mapped_column(Id)
    call_id: Mapped[str | None] = mapped_column(Id)
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]


class InstructionReadRow(Base):
    """An instruction a call has fetched (so it is told once)."""

    __tablename__ = "call_instruction_reads"

    instruction_id: Mapped[str] = mapped_column(Id, primary_key=True)
    call_id: Mapped[str] = mapped_column(Id, primary_key=True)
    read_at: Mapped[datetime]


class FollowUpRow(Base):
    """What happens after a search's first round: keep looking, watch for an earlier slot, reschedule."""

    __tablename__ = "follow_ups"
    __table_args__ = (Index(None, "status", "next_due_at"),)

    campaign_id: Mapped[str] = mapped_column(Id, ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    until: Mapped[datetime]
    created_at: Mapped[datetime]
    max_rounds: Mapped[int] = mapped_column(Integer)
    rounds_done: Mapped[int] = mapped_column(Integer)
    next_due_at: Mapped[datetime | None]
    plan: Mapped[dict[str, Any]]
    appointment_id: Mapped[str | None] = mapped_column(Id)
    version: Mapped[int] = mapped_column(Integer)


class PracticeOptOutRow(Base):
    """A practice that does not want automated calls, by its E.164 number (see ``domain.practices``)."""

    __tablename__ = "practice_opt_outs"

    phone: Mapped[str] = mapped_column(String(16), primary_key=True)
    created_at: Mapped[datetime]
    source: Mapped[str] = mapped_column(String(16))


class PracticeCallRow(Base):
    """One NEXUS call counted in a practice's budget of ``day`` (its local date). ``seq`` numbers the day's
    calls from 1; the primary key makes two processes counting the same call number at once collide, and
    the repository never writes a number past the budget, so the count cannot pass it."""

    __tablename__ = "practice_calls"
    __table_args__ = (Index(None, "phone", "placed_at"),)

    phone: Mapped[str] = mapped_column(String(16), primary_key=True)
    day: Mapped[str] = mapped_column(String(10), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    placed_at: Mapped[datetime]


class PracticeFactRow(Base):
    """A shared, short-lived fact about a practice's availability. Nothing in it names a user or a search."""

    __tablename__ = "practice_facts"
    __table_args__ = (Index(None, "phone", "expires_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    phone: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(32))
    learned_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    start_at: Mapped[datetime | None]
    until: Mapped[datetime | None]
    detail: Mapped[str] = mapped_column(String(200))
