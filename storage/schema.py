"""Schema versions: bring a database up to the code (``upgrade``) and refuse to run on an old one.

Alembic is driven from here rather than from an ``alembic.ini``; the migrations live in
``storage/migrations``.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.engine import create_engine

_MIGRATIONS = Path(__file__).with_name("migrations")


class SchemaMismatch(Exception):
    """The database schema is not the one this code was written for; ``str(error)`` says what to do."""


class DatabaseBehind(SchemaMismatch):
    """The database lacks migrations this code needs."""


class DatabaseAhead(SchemaMismatch):
    """The database was migrated by a newer version of NEXUS."""


def alembic_config(database_url: str | None = None) -> Config:
    """Alembic's configuration for NEXUS, for Alembic commands beyond ``upgrade`` (see ``storage.migrations``)."""
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    if database_url is not None:
        config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def head_revision() -> str:
    """The revision the code expects."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError(f"No migrations found in {_MIGRATIONS}.")
    return head


async def current_revision(engine: AsyncEngine) -> str | None:
    """The revision the database is at; ``None`` for an empty database."""

    def read(connection: Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    async with engine.connect() as connection:
        return await connection.run_sync(read)


async def upgrade(database: str | AsyncEngine, revision: str = "head") -> None:
    """Apply every migration up to ``revision`` in one transaction (creates the schema on an empty database).

    ``database`` is a URL, or an engine to reuse: the only way to migrate an in-memory SQLite database,
    which lives as long as its engine.
    """
    config = alembic_config()

    def run(connection: Connection) -> None:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    engine = create_engine(database) if isinstance(database, str) else database
    try:
        async with engine.begin() as connection:
            await connection.run_sync(run)
    finally:
        if engine is not database:
            await engine.dispose()


async def check_current(engine: AsyncEngine) -> None:
    """Raise ``DatabaseBehind`` (or ``DatabaseAhead``) unless the database is at the code's revision."""
    current = await current_revision(engine)
    head = head_revision()
    if current == head:
        return
    if current is None:
        raise DatabaseBehind(
            f"The database is behind the code: it has no NEXUS tables yet (the code needs revision {head}); "
            "run `nexus db upgrade`."
        )
    known = {script.revision for script in ScriptDirectory.from_config(alembic_config()).walk_revisions()}
    if current not in known:
        raise DatabaseAhead(
            f"The database is at revision {current}, which this version of NEXUS does not know (it needs "
            f"{head}); it was upgraded by a newer NEXUS, so run that version instead."
        )
    raise DatabaseBehind(
        f"The database is behind the code: it is at revision {current} and the code needs {head}; "
        "run `nexus db upgrade`."
    )
