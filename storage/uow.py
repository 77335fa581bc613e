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
from storage.engine import SQLITE_BUSY_TIMEOUT_MS
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

# A unit of work waits at most this long for its turn on SQLite (as long as SQLite's own busy timeout).
WRITER_TURN_TIMEOUT_SECONDS = SQLITE_BUSY_TIMEOUT_MS / 1000


class SqlAlchemyUnitOfWork:
    """``async with uow:`` opens a session and its transaction; leaving without ``commit()`` rolls back.

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
        session_factory: async_sessionmaker[AsyncSession],
        writer_turn: asyncio.Lock | None = None,
        on_queued: Callable[[], None] | None = None,
    ) -> None:
        self._session_factory = session_factory
        self._on_queued = on_queued
        self._outbox: SqlAlchemyOutboxRepository | None = None
        self._session: AsyncSession | None = None
        self._writer_turn = writer_turn
        self._holds_turn = False

    async def __aenter__(self) -> Self:
        if self._session is not None:
            raise RuntimeError("This unit of work is already open; make a new one for each transaction.")
        if self._writer_turn is not None:
            try:
                async with asyncio.timeout(WRITER_TURN_TIMEOUT_SECONDS):
                    await self._writer_turn.acquire()
            except TimeoutError:
                raise DependencyUnavailable("The database is busy; please try again.") from None
            self._holds_turn = True
        session = self._session = self._session_factory()
        ahead = ReadAhead()  # one per transaction: what one read brought along for the next
        self.users = SqlAlchemyUserRepository(session)
        self.campaigns = SqlAlchemyCampaignRepository(session, ahead)
        self.calls = SqlAlchemyCallTaskRepository(session, ahead)
        self.offers = SqlAlchemyOfferRepository(session, ahead)
        self.appointments = SqlAlchemyAppointmentRepository(session, ahead)
        self.reminders = SqlAlchemyReminderRepository(session)
        self.calendar_links = SqlAlchemyCalendarLinkRepository(session)
        self.chat_sessions = SqlAlchemyChatSessionRepository(session)
        self.events = SqlAlchemyProcessedEventRepository(session)
        self.outbox = self._outbox = SqlAlchemyOutboxRepository(session)
        self.turns = SqlAlchemyTurnRepository(session)
        self.questions = SqlAlchemyQuestionRepository(session)
        self.profiles = SqlAlchemyProfileRepository(session)
        self.instructions = SqlAlchemyInstructionRepository(session)
        self.follow_ups = SqlAlchemyFollowUpRepository(session)
        self.practices = SqlAlchemyPracticeRepository(session)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        session, self._session = self._session, None
        try:
            if session is not None:
                # Closing rolls back whatever was not committed and returns the connection to the pool.
                await session.close()
        finally:
            if self._holds_turn and self._writer_turn is not None:
                self._holds_turn = False
                self._writer_turn.release()
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
        await self._open().commit()
        if self._outbox is not None and self._outbox.queued:
            self._outbox.queued = 0
            if self._on_queued is not None:
                self._on_queued()  # wake this process's dispatcher: messages were just committed

    async def rollback(self) -> None:
        await self._open().rollback()

    def _open(self) -> AsyncSession:
        if self._session is None:
            raise RuntimeError("Use the unit of work inside `async with`.")
        return self._session


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
    asyncio lock; only other processes are left to SQLite's busy timeout.
    """
    session_factory = async_sessionmaker(engine, expire_on_commit=False)
    writer_turn = asyncio.Lock() if engine.dialect.name == "sqlite" else None

    def new_unit_of_work() -> UnitOfWork:
        return SqlAlchemyUnitOfWork(session_factory, writer_turn, on_queued)

    return new_unit_of_work
