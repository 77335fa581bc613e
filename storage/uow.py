"""The unit of work: one session, one transaction, every repository."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from types import TracebackType
from typing import Self

from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from domain.errors import DependencyUnavailable
from domain.loop_ports import InstructionRepository, ProfileRepository, QuestionRepository, TurnRepository
from domain.ports import (
    AppointmentRepository,
    CalendarLinkRepository,
    CallTaskRepository,
    CampaignRepository,
    ChatSessionRepository,
    FollowUpRepository,
    OfferRepository,
    OutboxRepository,
    PracticeRepository,
    ProcessedEventRepository,
    ReminderRepository,
    UnitOfWork,
    UnitOfWorkFactory,
    UserRepository,
)
from storage.loop_repositories import (
    SqlAlchemyInstructionRepository,
    SqlAlchemyProfileRepository,
    SqlAlchemyQuestionRepository,
    SqlAlchemyTurnRepository,
)
from storage.practices import SqlAlchemyPracticeRepository
from storage.repositories import (
    ReadAhead,
    SqlAlchemyAppointmentRepository,
    SqlAlchemyCalendarLinkRepository,
    SqlAlchemyCallTaskRepository,
    SqlAlchemyCampaignRepository,
    SqlAlchemyChatSessionRepository,
    SqlAlchemyFollowUpRepository,
    SqlAlchemyOfferRepository,
    SqlAlchemyOutboxRepository,
    SqlAlchemyProcessedEventRepository,
    SqlAlchemyReminderRepository,
    SqlAlchemyUserRepository,
)
from storage.sqlite_reads import SqliteReader
from storage.transaction import WRITER_TURN_TIMEOUT_SECONDS, ConnectionGate, Transaction

__all__ = ["WRITER_TURN_TIMEOUT_SECONDS", "SqlAlchemyUnitOfWork", "make_uow_factory"]


class SqlAlchemyUnitOfWork:
    """``async with uow:`` opens a session and its transaction; leaving without ``commit()`` rolls back.

    The transaction begins at the first statement that is not a leading read (``storage.transaction``):
    a unit of work that only reads sends neither BEGIN nor COMMIT, and on SQLite never waits for the
    writer's turn.

    Use one unit of work per task and do not nest them in one task: on SQLite the outer one may hold the
    write lock that the inner one waits for.
    """

    users: UserRepository
    campaigns: CampaignRepository
    calls: CallTaskRepository
    offers: OfferRepository
    appointments: AppointmentRepository
    reminders: ReminderRepository
    calendar_links: CalendarLinkRepository
    chat_sessions: ChatSessionRepository
    events: ProcessedEventRepository
    outbox: OutboxRepository
    turns: TurnRepository
    questions: QuestionRepository
    profiles: ProfileRepository
    instructions: InstructionRepository
    follow_ups: FollowUpRepository
    practices: PracticeRepository

    def __init__(
        self,
        engine: AsyncEngine,
        session_factory: async_sessionmaker[AsyncSession],
        writer_turn: asyncio.Lock | None = None,
        on_queued: Callable[[], None] | None = None,
        gate: ConnectionGate | None = None,
        reader: SqliteReader | None = None,
    ) -> None:
        self._engine = engine
        self._gate = gate
        self._reader = reader
        self._session_factory = session_factory
        self._on_queued = on_queued
        self._outbox: SqlAlchemyOutboxRepository | None = None
        self._transaction: Transaction | None = None
        self._writer_turn = writer_turn

    async def __aenter__(self) -> Self:
        if self._transaction is not None:
            raise RuntimeError("This unit of work is already open; make a new one for each transaction.")
        tx = self._transaction = Transaction(
            self._engine, self._session_factory, self._writer_turn, self._gate, self._reader
        )
        ahead = ReadAhead()  # one per transaction: what one read brought along for the next
        self.users = SqlAlchemyUserRepository(tx)
        self.campaigns = SqlAlchemyCampaignRepository(tx, ahead)
        self.calls = SqlAlchemyCallTaskRepository(tx, ahead)
        self.offers = SqlAlchemyOfferRepository(tx, ahead)
        self.appointments = SqlAlchemyAppointmentRepository(tx, ahead)
        self.reminders = SqlAlchemyReminderRepository(tx)
        self.calendar_links = SqlAlchemyCalendarLinkRepository(tx)
        self.chat_sessions = SqlAlchemyChatSessionRepository(tx)
        self.events = SqlAlchemyProcessedEventRepository(tx)
        self.outbox = self._outbox = SqlAlchemyOutboxRepository(tx)
        self.turns = SqlAlchemyTurnRepository(tx)
        self.questions = SqlAlchemyQuestionRepository(tx)
        self.profiles = SqlAlchemyProfileRepository(tx)
        self.instructions = SqlAlchemyInstructionRepository(tx)
        self.follow_ups = SqlAlchemyFollowUpRepository(tx)
        self.practices = SqlAlchemyPracticeRepository(tx)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        transaction, self._transaction = self._transaction, None
        if transaction is not None:
            # Closing rolls back whatever was not committed and returns the connection to the pool.
            await transaction.close()
        if isinstance(exc, PoolTimeout):
            # Every connection of this process stayed busy for the pool's whole timeout: overloaded.
            raise DependencyUnavailable("The database is busy; please try again in a moment.") from exc
        if exc is not None and _refused(exc):
            # PostgreSQL would not take another connection (too many clients, starting up, shutting down).
            raise DependencyUnavailable("The database is not taking connections right now; please try again.") from exc
        if isinstance(exc, DBAPIError) and exc.connection_invalidated:
            # The database dropped the connection (a restart): the pool has thrown its connections away,
            # so the next unit of work reconnects. This one can only say the database was unavailable.
            raise DependencyUnavailable("The database connection was lost; please try again.") from exc

    async def commit(self) -> None:
        # Only leading reads ran (outside any transaction): there is nothing to commit, and nothing is sent.
        await self._open().commit()
        if self._outbox is not None and self._outbox.queued:
            self._outbox.queued = 0
            if self._on_queued is not None:
                self._on_queued()  # wake this process's dispatcher: messages were just committed

    async def rollback(self) -> None:
        await self._open().rollback()

    def _open(self) -> Transaction:
        if self._transaction is None:
            raise RuntimeError("Use the unit of work inside `async with`.")
        return self._transaction


# SQLSTATEs of a server that refuses a connection: class 08 (connection exception), too_many_connections,
# cannot_connect_now (starting up or shutting down).
_REFUSED_STATES = ("53300", "57P03")


def _refused(error: BaseException) -> bool:
    # SQLAlchemy wraps the driver's error in a DBAPIError, but older releases (2.0.33, our lowest) let asyncpg's
    # error at connect time through as it was: the SQLSTATE is looked for on either.
    driver_error = error.orig if isinstance(error, DBAPIError) else error
    state = getattr(driver_error, "sqlstate", None)
    return isinstance(state, str) and (state.startswith("08") or state in _REFUSED_STATES)


def make_uow_factory(engine: AsyncEngine, on_queued: Callable[[], None] | None = None) -> UnitOfWorkFactory:
    """A factory of fresh units of work over ``engine``, for ``bootstrap`` and the use cases.

    ``on_queued`` is called after every commit that queued outbox messages (the dispatcher's nudge).

    SQLite lets one transaction write at a time (every one starts ``BEGIN IMMEDIATE``). Left to itself, a
    waiting transaction polls the lock with growing sleeps, so under load most of the time goes to sleeping
    and the slowest requests wait seconds. Units of work of one process therefore take turns in order on an
    asyncio lock, from their first statement that is not a leading read (``storage.transaction``); only
    other processes are left to SQLite's busy timeout.
    """
    session_factory = async_sessionmaker(engine, expire_on_commit=False)
    writer_turn = asyncio.Lock() if engine.dialect.name == "sqlite" else None
    gate = ConnectionGate.of(engine)
    reader = SqliteReader.of(engine)

    def new_unit_of_work() -> UnitOfWork:
        return SqlAlchemyUnitOfWork(engine, session_factory, writer_turn, on_queued, gate, reader)

    return new_unit_of_work
