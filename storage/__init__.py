"""Persistence: SQLAlchemy (SQLite / PostgreSQL), Alembic migrations, hold stores (Redis / in-process).

Wiring::

    await upgrade(settings.database_url)            # or `nexus db upgrade`; check_current(engine) at start-up
    engine = create_engine(settings.database_url)
    uow_factory = make_uow_factory(engine)          # domain.ports.UnitOfWorkFactory
    holds = RedisHoldStore(redis.asyncio.Redis.from_url(url)) or InMemoryHoldStore()
"""

from storage.engine import create_engine
from storage.holds import InMemoryHoldStore, RedisHoldStore
from storage.schema import DatabaseAhead, DatabaseBehind, SchemaMismatch, check_current, current_revision, upgrade
from storage.uow import SqlAlchemyUnitOfWork, make_uow_factory

__all__ = [
    "DatabaseAhead",
    "DatabaseBehind",
    "InMemoryHoldStore",
    "RedisHoldStore",
    "SchemaMismatch",
    "SqlAlchemyUnitOfWork",
    "check_current",
    "create_engine",
    "current_revision",
    "make_uow_factory",
    "upgrade",
]
