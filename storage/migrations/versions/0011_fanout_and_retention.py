"""Campaigns keep the providers an adaptive fan-out has not called yet (``fanout_reserve``); call tasks record
when the retention job cleared their transcript and summary (``details_forgotten_at``), indexed with
``ended_at`` so the job finds what is due without reading every call.

Revision ID: 0011
Revises: 0006
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("campaigns") as batch:
        batch.add_column(sa.Column("fanout_reserve", sa.JSON(none_as_null=True), nullable=True))
    with op.batch_alter_table("call_tasks") as batch:
        batch.add_column(sa.Column("details_forgotten_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_index("ix_call_tasks_details_forgotten_at_ended_at", ["details_forgotten_at", "ended_at"])


def downgrade() -> None:
    with op.batch_alter_table("call_tasks") as batch:
        batch.drop_index("ix_call_tasks_details_forgotten_at_ended_at")
        batch.drop_column("details_forgotten_at")
    with op.batch_alter_table("campaigns") as batch:
        batch.drop_column("fanout_reserve")
