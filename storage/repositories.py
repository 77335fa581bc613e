"""SQLAlchemy repositories: the persistence ports of ``domain.ports`` over one ``AsyncSession``.

Every write is an explicit statement (insert, conditional update, upsert), so the database decides
races: optimistic versions on campaigns and calls, a conditional update for reminders, a unique key for
processed events and outbox messages, partial unique indexes for one booking per offer and one open
cancellation call per appointment, a claim lease (and ``FOR UPDATE SKIP LOCKED`` on PostgreSQL) for the
outbox and, for appointments, an exclusion constraint (PostgreSQL) or a check inside a
``BEGIN IMMEDIATE`` transaction (SQLite). Reads refresh any row already in the session.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, delete, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.dml import Insert, UpdateBase

from domain.errors import ConcurrentUpdate, SlotConflict
from domain.follow_ups import FOLLOW_UP_READY, FollowUp, FollowUpStatus
from domain.models import (
    Appointment,
    AppointmentStatus,
    CalendarLink,
    CallStatus,
    CallTask,
    Campaign,
    CampaignStatus,
    ChatSession,
    Offer,
    Reminder,
    TimeWindow,
    User,
)
from domain.notifications import CallsChanged, Notification, finishes_live_view, folding_key, idempotency_key
from domain.ports import OutboxEntry
from domain.scoring import UNKNOWN_RATING
from storage import erasure, mapping, messages, statements
from storage.orm import (
    ONE_BOOKING_PER_OFFER,
    ONE_CANCELLATION_CALL,
    AppointmentRow,
    Base,
    CalendarLinkRow,
    CallTaskRow,
    CampaignRow,
    ChatSessionRow,
    FollowUpRow,
    OfferRow,
    OutboxRow,
    ProcessedEventRow,
    ReminderRow,
    UserRow,
)
from storage.transaction import Transaction

RowT = TypeVar("RowT", bound=Base)

log = logging.getLogger(__name__)

_OPEN_CALL_STATUSES = [status.value for status in CallStatus if not status.is_ended]
# Statements below carry their own WHERE clauses; rows in the session are refreshed on the next read.
_DML = {"synchronize_session": False}

_SLOT_TAKEN = "You already have an appointment at that time, so this slot cannot be booked."


class ReadAhead:
    """What one statement of a unit of work read beyond what it was asked for, for the next read to take.

    Reading a call also reads its campaign and the user's booked appointments (one joined statement), and
    finding an offer also counts its standing. The next ``campaigns.get``, ``appointments.overlapping`` or
    ``offers.standing`` of the same transaction takes that answer instead of asking the database again;
    each is taken once, and any write to the same records throws it away.
    """

    def __init__(self) -> None:
        self.campaigns: dict[str, Campaign] = {}
        # user id -> (every booked appointment ending after this moment, in start order)
        self.booked: dict[int, tuple[datetime, list[Appointment]]] = {}
        # offer id -> (position, total)
        self.standings: dict[str, tuple[int, int]] = {}


class _Repository:
    def __init__(self, session: Transaction, ahead: ReadAhead | None = None) -> None:
        self._session = session
        self._ahead = ahead or ReadAhead()

    async def _first(self, statement: Select[RowT]) -> RowT | None:
        result = await self._session.scalars(statement.execution_options(populate_existing=True).limit(1))
        row: RowT | None = result.first()
        return row

    async def _all(self, statement: Select[RowT]) -> Sequence[RowT]:
        result = await self._session.scalars(statement.execution_options(populate_existing=True))
        rows: Sequence[RowT] = result.all()
        return rows

    def _dialect(self) -> str:
        return self._session.dialect

    def _upsert(self, row_class: type[Base], values: dict[str, Any], key: str) -> Insert:
        """``INSERT ... ON CONFLICT (key) DO UPDATE``: one statement, so concurrent saves never collide."""
        changes = [name for name in values if name != key]
        dialect = self._dialect()
        if dialect == "postgresql":
            pg = postgresql.insert(row_class).values(values)
            return pg.on_conflict_do_update(index_elements=[key], set_={c: pg.excluded[c] for c in changes})
        if dialect == "sqlite":
            lite = sqlite.insert(row_class).values(values)
            return lite.on_conflict_do_update(index_elements=[key], set_={c: lite.excluded[c] for c in changes})
        raise NotImplementedError(f"NEXUS does not support the {dialect} database.")

    def _insert_if_absent(self, row_class: type[Base], values: dict[str, Any], key: str) -> Insert:
        dialect = self._dialect()
        if dialect == "postgresql":
            return postgresql.insert(row_class).values(values).on_conflict_do_nothing(index_elements=[key])
        if dialect == "sqlite":
            return sqlite.insert(row_class).values(values).on_conflict_do_nothing(index_elements=[key])
        raise NotImplementedError(f"NEXUS does not support the {dialect} database.")


def _new(values: dict[str, Any], version: int) -> dict[str, Any]:
    """Parameters of ``statements.versioned_update``: the new values, and the version they replace."""
    params = {f"new_{name}": value for name, value in values.items()}
    params.update(key=values["id"], expected=version, new_version=version + 1)
    return params


def _violated(error: IntegrityError) -> str | None:
    """``"unique"`` or ``"exclusion"`` for the constraint kinds repositories translate, else ``None``."""
    original = error.orig
    sqlstate = getattr(original, "sqlstate", None)  # asyncpg
    if sqlstate == "23505":
        return "unique"
    if sqlstate == "23P01":
        return "exclusion"
    if getattr(original, "sqlite_errorname", None) in ("SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY"):
        return "unique"
    return None


def _is_index(error: IntegrityError, index: str, column: str) -> bool:
    """Whether ``error`` broke the unique ``index`` on ``column`` (PostgreSQL names the index, SQLite the
    column as ``table.column``)."""
    message = str(error.orig)
    return index in message or f".{column}" in message


class SqlAlchemyUserRepository(_Repository):
    async def get(self, user_id: int) -> User | None:
        row = await self._first(select(UserRow).where(UserRow.id == user_id))
        return None if row is None else mapping.user_from_row(row)

    async def save(self, user: User) -> None:
        await self._session.execute(self._upsert(UserRow, mapping.user_values(user), "id"))

    async def erase(self, user_id: int) -> None:
        await erasure.erase_user(self._session, user_id)


class SqlAlchemyCampaignRepository(_Repository):
    async def add(self, campaign: Campaign) -> None:
        await self._session.execute(insert(CampaignRow).values(**mapping.campaign_values(campaign), version=0))
        campaign.version = 0

    async def get(self, campaign_id: str) -> Campaign | None:
        read = self._ahead.campaigns.pop(campaign_id, None)
        if read is not None:
            return read
        row = await self._first(select(CampaignRow).where(CampaignRow.id == campaign_id))
        return None if row is None else mapping.campaign_from_row(row)

    async def save(self, campaign: Campaign) -> None:
        self._ahead.campaigns.pop(campaign.id, None)
        values = _new(mapping.campaign_values(campaign), campaign.version)
        result = await self._session.execute(statements.CAMPAIGN_UPDATE, values)
        if result.first() is None:
            raise ConcurrentUpdate("The campaign was changed by someone else in the meantime; please try again.")
        campaign.version += 1

    async def list_for_user(
        self, user_id: int, statuses: Collection[CampaignStatus] | None = None, limit: int = 20
    ) -> list[Campaign]:
        statement = select(CampaignRow).where(CampaignRow.user_id == user_id)
        if statuses is not None:
            statement = statement.where(CampaignRow.status.in_([s.value for s in statuses]))
        statement = statement.order_by(CampaignRow.created_at.desc(), CampaignRow.id.desc()).limit(limit)
        return [mapping.campaign_from_row(row) for row in await self._all(statement)]

    async def list_by_status(
        self, statuses: Collection[CampaignStatus], deadline_before: datetime | None = None, limit: int = 100
    ) -> list[Campaign]:
        statement = select(CampaignRow).where(CampaignRow.status.in_([s.value for s in statuses]))
        if deadline_before is not None:
            statement = statement.where(CampaignRow.deadline_at < deadline_before)
        statement = statement.order_by(CampaignRow.deadline_at, CampaignRow.id).limit(limit)
        return [mapping.campaign_from_row(row) for row in await self._all(statement)]

    async def count_created_since(self, user_id: int, since: datetime) -> int:
        statement = select(func.count()).where(CampaignRow.user_id == user_id, CampaignRow.created_at >= since)
        count: int = (await self._session.execute(statement)).scalar_one()
        return count


class SqlAlchemyCallTaskRepository(_Repository):
    async def add(self, call: CallTask) -> None:
        """Insert; raises ``ConcurrentUpdate`` when the call is a cancellation and another cancellation call of
        the same appointment is open (two taps at once: the database lets only one through)."""
        try:
            await self._session.execute(insert(CallTaskRow).values(**mapping.call_values(call), version=0))
        except IntegrityError as error:
            if _violated(error) != "unique" or not _is_index(error, ONE_CANCELLATION_CALL, "target_appointment_id"):
                raise
            raise ConcurrentUpdate("Another request is already calling to cancel that appointment.") from error
        call.version = 0

    async def get(self, call_id: str) -> CallTask | None:
        return await self._get_with_campaign(statements.CALL_BY_ID, call_id)

    async def get_by_token_hash(self, token_hash: str) -> CallTask | None:
        return await self._get_with_campaign(statements.CALL_BY_TOKEN_HASH, token_hash)

    async def _get_with_campaign(self, statement: Select[Any], key: str) -> CallTask | None:
        """The call, with its campaign and the user's booked appointments read ahead (one statement)."""
        # A leading read (storage.transaction): whatever is written on its strength is checked by version.
        rows = await self._session.read_ahead_of_transaction(statement, {"key": key})
        parts = statements.split_call_rows(rows)
        if parts is None:
            return None
        call_fields, campaign_fields, booked = parts
        campaign = mapping.campaign_from_row(campaign_fields)
        self._ahead.campaigns[campaign.id] = campaign
        appointments = [mapping.appointment_from_row(fields) for fields in booked]
        self._ahead.booked[campaign.user_id] = (campaign.created_at, appointments)
        return mapping.call_from_row(call_fields)

    async def get_by_conversation_id(self, conversation_id: str) -> CallTask | None:
        return await self._get_where(CallTaskRow.conversation_id == conversation_id)

    async def save(self, call: CallTask) -> None:
        result = await self._session.execute(statements.CALL_UPDATE, _new(mapping.call_values(call), call.version))
        if result.first() is None:
            raise ConcurrentUpdate("The call was changed by someone else in the meantime; please try again.")
        call.version += 1

    async def list_for_campaign(self, campaign_id: str) -> list[CallTask]:
        statement = select(CallTaskRow).where(CallTaskRow.campaign_id == campaign_id).order_by(CallTaskRow.seq)
        return [mapping.call_from_row(row) for row in await self._all(statement)]

    async def list_open(self, started_before: datetime | None = None, limit: int = 200) -> list[CallTask]:
        statement = select(CallTaskRow).where(CallTaskRow.status.in_(_OPEN_CALL_STATUSES))
        if started_before is not None:
            statement = statement.where(CallTaskRow.created_at < started_before)
        statement = statement.order_by(CallTaskRow.created_at, CallTaskRow.seq).limit(limit)
        return [mapping.call_from_row(row) for row in await self._all(statement)]

    async def list_open_past_timeout(self, now: datetime, limit: int = 200) -> list[CallTask]:
        statement = (
            select(CallTaskRow)
            .where(CallTaskRow.status.in_(_OPEN_CALL_STATUSES), CallTaskRow.timeout_at <= now)
            .order_by(CallTaskRow.timeout_at, CallTaskRow.seq)
            .limit(limit)
        )
        return [mapping.call_from_row(row) for row in await self._all(statement)]

    async def list_due(self, now: datetime, limit: int = 200) -> list[CallTask]:
        statement = (
            select(CallTaskRow)
            .where(CallTaskRow.status == CallStatus.QUEUED.value, CallTaskRow.not_before <= now)
            .order_by(CallTaskRow.not_before, CallTaskRow.seq)
            .limit(limit)
        )
        return [mapping.call_from_row(row) for row in await self._all(statement)]

    async def forget_details(self, ended_before: datetime, now: datetime, limit: int = 500) -> int:
        return await erasure.forget_call_details(self._session, ended_before, now, limit)

    async def talk_seconds_since(self, user_id: int, since: datetime) -> float:
        statement = (
            select(CallTaskRow.started_at, CallTaskRow.ended_at)
            .join(CampaignRow, CampaignRow.id == CallTaskRow.campaign_id)
            .where(CampaignRow.user_id == user_id, CallTaskRow.started_at >= since)
        )
        rows = (await self._session.execute(statement)).all()
        # an open call counts from its start until now would need a clock; it is counted once it has ended
        seconds = 0.0
        for started, ended in rows:
            if started is not None and ended is not None:
                seconds += (ended - started).total_seconds()
        return seconds

    async def _get_where(self, condition: ColumnElement[bool]) -> CallTask | None:
        row = await self._first(select(CallTaskRow).where(condition))
        return None if row is None else mapping.call_from_row(row)


class SqlAlchemyOfferRepository(_Repository):
    async def add(self, offer: Offer) -> None:
        """Insert; raises ``ConcurrentUpdate`` when the call already reported an offer for that start."""
        statement = statements.OFFER_INSERT_IF_ABSENT[self._dialect()]
        if (await self._session.execute(statement, mapping.offer_values(offer))).first() is None:
            raise ConcurrentUpdate(
                "This call already reported an offer for that time; look it up instead of adding it again."
            )

    async def get(self, offer_id: str) -> Offer | None:
        row = await self._first(select(OfferRow).where(OfferRow.id == offer_id))
        return None if row is None else mapping.offer_from_row(row)

    async def save(self, offer: Offer) -> None:
        self._ahead.standings.pop(offer.id, None)
        values = mapping.offer_values(offer)
        await self._session.execute(update(OfferRow).where(OfferRow.id == offer.id).values(values))

    async def list_for_campaign(self, campaign_id: str) -> list[Offer]:
        statement = (
            select(OfferRow)
            .where(OfferRow.campaign_id == campaign_id)
            .order_by(OfferRow.created_at, OfferRow.start_at, OfferRow.id)
        )
        return [mapping.offer_from_row(row) for row in await self._all(statement)]

    async def find(self, call_task_id: str, start: datetime) -> Offer | None:
        """The call's offer for ``start``; its standing is counted in the same statement and read ahead."""
        params = {"call_task_id": call_task_id, "start_at": start}
        # A leading read: an offer added in between is caught by the insert's ON CONFLICT.
        rows = await self._session.read_ahead_of_transaction(statements.OFFER_WITH_STANDING, params)
        if not rows:
            return None
        fields, ahead, total = statements.split_offer_row(rows[0])
        offer = mapping.offer_from_row(fields)
        self._ahead.standings[offer.id] = (ahead + 1, total)
        return offer

    async def standing(self, offer: Offer) -> tuple[int, int]:
        # Counted in the database, so reporting stays cheap however many offers a campaign collects.
        # The order is domain.scoring.ranking_key: score, start, rating (unknown = 3.0), provider name.
        read = self._ahead.standings.pop(offer.id, None)
        if read is not None:
            return read
        params = {
            "offer_id": offer.id,
            "campaign_id": offer.campaign_id,
            "score": offer.score,
            "start_at": offer.start,
            "rating": UNKNOWN_RATING if offer.rating is None else offer.rating,
            "provider_name": offer.provider_name,
        }
        # A leading read: the count leaves the offer out, so it holds whether or not the offer is stored yet.
        others, better = (await self._session.read_ahead_of_transaction(statements.STANDING, params))[0]
        return int(better) + 1, int(others) + 1


class SqlAlchemyAppointmentRepository(_Repository):
    async def add(self, appointment: Appointment) -> None:
        self._ahead.booked.pop(appointment.user_id, None)
        values = mapping.appointment_values(appointment)
        await self._write_booked(appointment, insert(AppointmentRow).values(values))

    async def get(self, appointment_id: str) -> Appointment | None:
        row = await self._first(select(AppointmentRow).where(AppointmentRow.id == appointment_id))
        return None if row is None else mapping.appointment_from_row(row)

    async def get_by_offer(self, offer_id: str) -> Appointment | None:
        statement = select(AppointmentRow).where(AppointmentRow.offer_id == offer_id)
        # A cancelled appointment may share its offer with a later booking; the booked one wins.
        statement = statement.order_by((AppointmentRow.status == AppointmentStatus.BOOKED.value).desc())
        row = await self._first(statement.order_by(AppointmentRow.created_at.desc()))
        return None if row is None else mapping.appointment_from_row(row)

    async def save(self, appointment: Appointment) -> None:
        self._ahead.booked.pop(appointment.user_id, None)
        values = mapping.appointment_values(appointment)
        statement = update(AppointmentRow).where(AppointmentRow.id == appointment.id).values(values)
        await self._write_booked(appointment, statement)

    async def list_for_user(
        self,
        user_id: int,
        statuses: Collection[AppointmentStatus] | None = None,
        ending_after: datetime | None = None,
    ) -> list[Appointment]:
        statement = select(AppointmentRow).where(AppointmentRow.user_id == user_id)
        if statuses is not None:
            statement = statement.where(AppointmentRow.status.in_([s.value for s in statuses]))
        if ending_after is not None:
            statement = statement.where(AppointmentRow.end_at > ending_after)
        statement = statement.order_by(AppointmentRow.start_at, AppointmentRow.id)
        return [mapping.appointment_from_row(row) for row in await self._all(statement)]

    async def overlapping(self, user_id: int, window: TimeWindow) -> list[Appointment]:
        read = self._ahead.booked.pop(user_id, None)
        if read is not None and window.start >= read[0]:
            # Every booked appointment that could overlap ends after the window starts, so it was read.
            return [a for a in read[1] if a.start < window.end and a.end > window.start]
        statement = self._overlapping(user_id, window).order_by(AppointmentRow.start_at, AppointmentRow.id)
        return [mapping.appointment_from_row(row) for row in await self._all(statement)]

    @staticmethod
    def _overlapping(user_id: int, window: TimeWindow) -> Select[AppointmentRow]:
        return select(AppointmentRow).where(
            AppointmentRow.user_id == user_id,
            AppointmentRow.status == AppointmentStatus.BOOKED.value,
            AppointmentRow.start_at < window.end,
            AppointmentRow.end_at > window.start,
        )

    async def _write_booked(self, appointment: Appointment, statement: UpdateBase) -> None:
        """Run ``statement`` (an insert or update of ``appointment``) unless it would double-book the user.

        The explicit check is exact on SQLite, whose writers are serialised by ``BEGIN IMMEDIATE``. On
        PostgreSQL concurrent transactions may both pass it; the exclusion constraint then refuses the
        second, inside a savepoint so the surrounding transaction stays usable.
        """
        if appointment.status is AppointmentStatus.BOOKED:
            clash = self._overlapping(appointment.user_id, appointment.window).where(
                AppointmentRow.id != appointment.id
            )
            if await self._first(clash) is not None:
                raise SlotConflict(_SLOT_TAKEN)
        try:
            async with self._session.begin_nested():
                await self._session.execute(statement)
        except IntegrityError as error:
            violated = _violated(error)
            if violated == "unique" and _is_index(error, ONE_BOOKING_PER_OFFER, "offer_id"):
                # Another transaction booked this very offer first: the same booking, read it again.
                raise ConcurrentUpdate("This offer was booked by someone else in the meantime.") from error
            if violated != "exclusion":
                raise
            raise SlotConflict(_SLOT_TAKEN) from error


class SqlAlchemyReminderRepository(_Repository):
    async def add(self, reminder: Reminder) -> None:
        await self._session.execute(insert(ReminderRow).values(mapping.reminder_values(reminder)))

    async def claim_due(self, now: datetime, limit: int = 100) -> list[Reminder]:
        due = (
            select(ReminderRow.id)
            .where(ReminderRow.due_at <= now, ReminderRow.sent_at.is_(None), ReminderRow.cancelled.is_(False))
            .order_by(ReminderRow.due_at)
            .limit(limit)
            # PostgreSQL: a concurrent claimer skips rows being claimed and takes the next ones.
            .with_for_update(skip_locked=True)
        )
        # ``sent_at IS NULL`` is re-checked on the locked row, so a reminder is claimed exactly once even if
        # two claimers picked the same ids (SQLite serialises writers anyway).
        statement = (
            update(ReminderRow)
            .where(ReminderRow.id.in_(due), ReminderRow.sent_at.is_(None))
            .values(sent_at=now)
            .returning(ReminderRow)
        )
        rows = (await self._session.scalars(statement, execution_options=_DML)).all()
        return sorted((mapping.reminder_from_row(row) for row in rows), key=lambda r: (r.due_at, r.id))

    async def cancel_for_appointment(self, appointment_id: str) -> int:
        statement = (
            update(ReminderRow)
            .where(
                ReminderRow.appointment_id == appointment_id,
                ReminderRow.sent_at.is_(None),
                ReminderRow.cancelled.is_(False),
            )
            .values(cancelled=True)
            .returning(ReminderRow.id)
        )
        return len((await self._session.execute(statement)).all())


class SqlAlchemyCalendarLinkRepository(_Repository):
    async def get(self, user_id: int) -> CalendarLink | None:
        row = await self._first(select(CalendarLinkRow).where(CalendarLinkRow.user_id == user_id))
        return None if row is None else mapping.calendar_link_from_row(row)

    async def save(self, link: CalendarLink) -> None:
        await self._session.execute(self._upsert(CalendarLinkRow, mapping.calendar_link_values(link), "user_id"))

    async def delete(self, user_id: int) -> bool:
        statement = delete(CalendarLinkRow).where(CalendarLinkRow.user_id == user_id).returning(CalendarLinkRow.user_id)
        return (await self._session.execute(statement)).first() is not None


class SqlAlchemyChatSessionRepository(_Repository):
    async def get(self, user_id: int) -> ChatSession | None:
        row = await self._first(select(ChatSessionRow).where(ChatSessionRow.user_id == user_id))
        return None if row is None else mapping.chat_session_from_row(row)

    async def save(self, session: ChatSession) -> None:
        values = mapping.chat_session_values(session)
        if session.version == 0:
            insert = self._insert_if_absent(ChatSessionRow, {**values, "version": 1}, "user_id")
            result = await self._session.execute(insert.returning(ChatSessionRow.user_id))
        else:
            change = (
                update(ChatSessionRow)
                .where(ChatSessionRow.user_id == session.user_id, ChatSessionRow.version == session.version)
                .values(**values, version=session.version + 1)
                .returning(ChatSessionRow.user_id)
            )
            result = await self._session.execute(change)
        if result.first() is None:
            raise ConcurrentUpdate("The chat was changed by someone else in the meantime; please try again.")
        session.version += 1

    async def delete(self, user_id: int) -> None:
        statement = delete(ChatSessionRow).where(ChatSessionRow.user_id == user_id)
        await self._session.execute(statement)


class SqlAlchemyProcessedEventRepository(_Repository):
    async def remember(self, key: str, at: datetime) -> bool:
        # ON CONFLICT DO NOTHING: a replay neither raises nor aborts the surrounding transaction.
        statement = self._insert_if_absent(ProcessedEventRow, {"key": key, "seen_at": at}, "key")
        inserted = await self._session.execute(statement.returning(ProcessedEventRow.key))
        return inserted.first() is not None


class OutboxStatus:
    PENDING = "PENDING"
    DELIVERED = "DELIVERED"
    FAILED = "FAILED"


# At most this many messages queued right behind a claimed one are folded into it.
_FOLD_LIMIT = 200


class SqlAlchemyOutboxRepository(_Repository):
    """``domain.ports.OutboxRepository``. A message is claimed with a lease (``claimed_until``) in a short
    transaction and delivered outside it; the lease keeps other dispatchers off it and off the later
    messages of its user, and lets another dispatcher take over when the claimer died."""

    def __init__(self, session: Transaction) -> None:
        super().__init__(session)
        self.queued = 0

    async def add(self, user_id: int, notification: Notification, now: datetime) -> bool:
        kind, payload = messages.to_json(notification)
        key = idempotency_key(notification)
        values = {
            "user_id": user_id,
            "key": key,
            "folding_key": folding_key(notification),
            "kind": kind,
            "payload": payload,
            "created_at": now,
            "status": OutboxStatus.PENDING,
            "attempts": 0,
        }
        if key is None:
            await self._session.execute(statements.OUTBOX_INSERT, values)
        else:
            # ON CONFLICT DO NOTHING: the same message queued twice is one, and the transaction goes on.
            statement = statements.OUTBOX_INSERT_IF_ABSENT[self._dialect()]
            if (await self._session.execute(statement, values)).first() is None:
                return False
        self.queued += 1
        return True

    async def claim(
        self, now: datetime, lease_until: datetime, limit: int, users: Collection[int] | None = None
    ) -> list[OutboxEntry]:
        pending = OutboxRow.status == OutboxStatus.PENDING
        heads = select(func.min(OutboxRow.seq)).where(pending)
        if users is not None:
            heads = heads.where(OutboxRow.user_id.in_(list(users)))
        due = (
            select(OutboxRow)
            .where(
                OutboxRow.seq.in_(heads.group_by(OutboxRow.user_id)),
                pending,
                or_(OutboxRow.claimed_until.is_(None), OutboxRow.claimed_until <= now),
                or_(OutboxRow.not_before.is_(None), OutboxRow.not_before <= now),
            )
            .order_by(OutboxRow.seq)
            .limit(limit)
            # PostgreSQL: a concurrent claimer skips the heads being claimed (and, as only heads are
            # claimable, the rest of their users' messages). SQLite: BEGIN IMMEDIATE serialises claimers.
            .with_for_update(skip_locked=True)
        )
        entries: list[OutboxEntry] = []
        unreadable: list[int] = []
        for row in await self._all(due):
            try:
                notification = messages.from_json(row.kind, row.payload)
            except (KeyError, TypeError, ValueError) as exc:
                log.error("outbox message %s (%s) cannot be read: %s", row.seq, row.kind, exc)
                unreadable.append(row.seq)
                continue
            folded: tuple[int, ...] = ()
            superseded = False
            if row.folding_key is not None:
                folded, after = await self._followers(row)
                superseded = (
                    isinstance(notification, CallsChanged)
                    and after is not None
                    and finishes_live_view(after) == notification.campaign_id
                )
            entries.append(
                OutboxEntry(row.seq, row.user_id, notification, row.attempts, row.created_at, folded, superseded)
            )
        if unreadable:
            await self._set(unreadable, status=OutboxStatus.FAILED, last_error="The message could not be read.")
        # Only heads are leased: the messages folded into one are not claimable while it is pending.
        claimed = [entry.id for entry in entries]
        if claimed:
            await self._set(claimed, claimed_until=lease_until)
        return entries

    async def _followers(self, head: OutboxRow) -> tuple[tuple[int, ...], Notification | None]:
        """Messages of the same user queued right behind ``head`` with its folding key, and the message
        after them (if one is queued and readable)."""
        behind = (
            select(OutboxRow.seq, OutboxRow.folding_key, OutboxRow.kind, OutboxRow.payload)
            .where(
                OutboxRow.user_id == head.user_id, OutboxRow.status == OutboxStatus.PENDING, OutboxRow.seq > head.seq
            )
            .order_by(OutboxRow.seq)
            .limit(_FOLD_LIMIT)
        )
        folded: list[int] = []
        for seq, key, kind, payload in (await self._session.execute(behind)).all():
            if key != head.folding_key:
                try:
                    return tuple(folded), messages.from_json(kind, payload)
                except (KeyError, TypeError, ValueError):
                    break
            folded.append(seq)
        return tuple(folded), None

    async def _set(self, ids: Collection[int], **values: Any) -> None:
        statement = update(OutboxRow).where(OutboxRow.seq.in_(list(ids))).values(**values)
        await self._session.execute(statement)

    async def delivered(self, ids: Collection[int], now: datetime) -> None:
        await self._set(ids, status=OutboxStatus.DELIVERED, delivered_at=now, claimed_until=None)

    async def retry_later(self, entry_id: int, not_before: datetime, reason: str, *, count: bool = True) -> None:
        await self._set(
            [entry_id],
            not_before=not_before,
            claimed_until=None,
            last_error=reason[:1000],
            attempts=OutboxRow.attempts + (1 if count else 0),
        )

    async def give_up(self, entry_id: int, reason: str, now: datetime) -> None:
        await self._set(
            [entry_id],
            status=OutboxStatus.FAILED,
            claimed_until=None,
            last_error=reason[:1000],
            attempts=OutboxRow.attempts + 1,
        )

    async def purge_delivered(self, before: datetime) -> int:
        statement = (
            delete(OutboxRow)
            .where(OutboxRow.status == OutboxStatus.DELIVERED, OutboxRow.delivered_at < before)
            .returning(OutboxRow.seq)
        )
        return len((await self._session.execute(statement)).all())


class SqlAlchemyFollowUpRepository(_Repository):
    async def get(self, campaign_id: str) -> FollowUp | None:
        row = await self._first(select(FollowUpRow).where(FollowUpRow.campaign_id == campaign_id))
        return None if row is None else mapping.follow_up_from_row(row)

    async def save(self, follow_up: FollowUp) -> None:
        values = mapping.follow_up_values(follow_up)
        if follow_up.version == 0:
            statement = self._insert_if_absent(FollowUpRow, {**values, "version": 1}, "campaign_id")
            result = await self._session.execute(statement.returning(FollowUpRow.campaign_id))
        else:
            change = (
                update(FollowUpRow)
                .where(FollowUpRow.campaign_id == follow_up.campaign_id, FollowUpRow.version == follow_up.version)
                .values(**values, version=follow_up.version + 1)
                .returning(FollowUpRow.campaign_id)
            )
            result = await self._session.execute(change)
        if result.first() is None:
            raise ConcurrentUpdate("The follow-up of this search was changed by someone else in the meantime.")
        follow_up.version += 1

    async def list_due(self, now: datetime, limit: int = 100) -> list[FollowUp]:
        statement = (
            select(FollowUpRow)
            .join(CampaignRow, CampaignRow.id == FollowUpRow.campaign_id)
            .where(
                FollowUpRow.status == FollowUpStatus.ACTIVE.value,
                FollowUpRow.next_due_at <= now,
                # a search with a shortlist or a round running waits; it must not crowd out the others
                CampaignRow.status.in_([s.value for s in FOLLOW_UP_READY]),
            )
            .order_by(FollowUpRow.next_due_at)
            .limit(limit)
        )
        return [mapping.follow_up_from_row(row) for row in await self._all(statement)]

    async def list_for_appointment(self, appointment_id: str) -> list[FollowUp]:
        statement = select(FollowUpRow).where(
            FollowUpRow.appointment_id == appointment_id, FollowUpRow.status == FollowUpStatus.ACTIVE.value
        )
        return [mapping.follow_up_from_row(row) for row in await self._all(statement)]

    async def list_replacing(self, limit: int = 100) -> list[FollowUp]:
        statement = (
            select(FollowUpRow)
            .join(CampaignRow, CampaignRow.id == FollowUpRow.campaign_id)
            .where(
                FollowUpRow.status == FollowUpStatus.ACTIVE.value,
                FollowUpRow.appointment_id.is_not(None),
                CampaignRow.status == CampaignStatus.CONFIRMED.value,
            )
            .limit(limit)
        )
        return [mapping.follow_up_from_row(row) for row in await self._all(statement)]
