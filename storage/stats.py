"""What the database says about the whole deployment right now, for ``/metrics`` (read at scrape time).

Every process sees the same numbers, since they come from the shared database rather than from a process's
memory. Tables a version of the schema lacks (the outbox before its migration) are reported as unknown.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.orm import CallTaskRow, CampaignRow
from storage.types import UtcDateTime

# A call holds a slot from dialling until it ends.
_IN_FLIGHT = ("DIALING", "IN_PROGRESS")
# The outbox (its own migration) keeps messages ``PENDING`` until they are delivered.
_OUTBOX = sa.table("outbox", sa.column("status", sa.String()), sa.column("created_at", UtcDateTime()))


@dataclass(frozen=True)
class DeploymentState:
    calls_in_flight: int
    campaigns_by_status: dict[str, int] = field(default_factory=dict)
    outbox_backlog: int | None = None
    oldest_undelivered_at: datetime | None = None


async def read_state(engine: AsyncEngine) -> DeploymentState:
    """Count calls in flight, campaigns by status and the outbox backlog in one read-only transaction."""
    async with engine.connect() as connection:
        in_flight = await connection.scalar(
            sa.select(sa.func.count()).select_from(CallTaskRow).where(CallTaskRow.status.in_(_IN_FLIGHT))
        )
        rows = await connection.execute(sa.select(CampaignRow.status, sa.func.count()).group_by(CampaignRow.status))
        campaigns = {str(status): int(count) for status, count in rows}
        has_outbox = await connection.run_sync(lambda sync: _has_table(sync, "outbox"))
        backlog: int | None = None
        oldest: datetime | None = None
        if has_outbox:
            pending = _OUTBOX.c.status == "PENDING"
            row = (
                await connection.execute(sa.select(sa.func.count(), sa.func.min(_OUTBOX.c.created_at)).where(pending))
            ).one()
            backlog, oldest = int(row[0]), row[1]
    return DeploymentState(int(in_flight or 0), campaigns, backlog, oldest)


def _has_table(connection: Connection, name: str) -> bool:
    return sa.inspect(connection).has_table(name)
