"""One process at a time: a named lock shared by every NEXUS process on the same database.

On PostgreSQL it is a session advisory lock, taken without waiting and held for the block; the server frees
it when the process dies with it. SQLite serves a single process, which always has the lock.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine


@asynccontextmanager
async def exclusively(engine: AsyncEngine, name: str) -> AsyncIterator[bool]:
    """Yields whether this process holds the lock called ``name`` for the block (``False``: another has it)."""
    if engine.dialect.name != "postgresql":
        yield True
        return
    key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
    async with engine.connect() as connection:
        taken = bool((await connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": key})).scalar())
        await connection.commit()  # the lock belongs to the session, not to this transaction
        try:
            yield taken
        finally:
            if taken:
                await connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                await connection.commit()
