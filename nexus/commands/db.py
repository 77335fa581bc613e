"""``nexus db upgrade``: bring the database schema up to this version of NEXUS."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from nexus.settings import Settings


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser("db", help="manage the database schema")
    actions = parser.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    upgrade = actions.add_parser("upgrade", help="apply every pending migration (creates the tables on first run)")
    upgrade.set_defaults(handler=handle_upgrade)


def handle_upgrade(args: argparse.Namespace) -> int:
    """Apply pending migrations to ``DATABASE_URL`` and say where the database now stands."""
    print(asyncio.run(_upgrade(Settings().database_url)))
    return 0


async def _upgrade(database_url: str) -> str:
    # Imported here so that other commands do not pay for loading SQLAlchemy and Alembic.
    from nexus.failures import database_unreachable, is_database_error, sqlite_cannot_open
    from storage.engine import create_engine
    from storage.schema import current_revision, upgrade

    async def revision() -> str | None:
        engine = create_engine(database_url)
        try:
            return await current_revision(engine)
        finally:
            await engine.dispose()

    if failure := sqlite_cannot_open(database_url):
        raise failure
    try:
        before = await revision()
        await upgrade(database_url)
        after = await revision()
    except Exception as exc:
        if is_database_error(exc):
            raise database_unreachable(database_url, exc) from exc
        raise
    if before == after:
        return f"Database is already up to date (revision {after})."
    if before is None:
        return f"Database created and up to date (revision {after})."
    return f"Database upgraded from revision {before} and up to date (revision {after})."
