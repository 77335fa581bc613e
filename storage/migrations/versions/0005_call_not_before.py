"""Call tasks get ``not_before``: a call scheduled for when the provider opens (or a voicemail retry) waits in
the database until the sweep dials it, so a restart loses no scheduled call.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("call_tasks") as batch:
        batch.add_column(sa.Column("not_before", sa.DateTime(timezone=True), nullable=True))
        batch.create_index("ix_call_tasks_status_not_before", ["status", "not_before"])


def downgrade() -> None:
    with op.batch_alter_table("call_tasks") as batch:
        batch.drop_index("ix_call_tasks_status_not_before")
        batch.drop_column("not_before")
