"""Keep looking, waitlists, reschedule and watch for an earlier slot: a call remembers when the desk asked to be
called back and which round it belongs to, an appointment counts its moves (the ``.ics`` SEQUENCE), and a
search's follow-up (its plan of rounds) lives in ``follow_ups`` so that any process can run it after a restart.

Revision ID: 0009
Revises: 0006
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("call_tasks") as batch:
        batch.add_column(sa.Column("call_back_at", _TIME, nullable=True))
        batch.add_column(sa.Column("round_no", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("appointments") as batch:
        batch.add_column(sa.Column("sequence", sa.Integer(), nullable=False, server_default="0"))
    op.create_table(
        "follow_ups",
        sa.Column("campaign_id", sa.String(32), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("until", _TIME, nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("max_rounds", sa.Integer(), nullable=False),
        sa.Column("rounds_done", sa.Integer(), nullable=False),
        sa.Column("next_due_at", _TIME, nullable=True),
        sa.Column("plan", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("appointment_id", sa.String(32), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaigns.id"], name="fk_follow_ups_campaign_id_campaigns", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("campaign_id", name="pk_follow_ups"),
    )
    op.create_index("ix_follow_ups_status_next_due_at", "follow_ups", ["status", "next_due_at"])


def downgrade() -> None:
    op.drop_index("ix_follow_ups_status_next_due_at", table_name="follow_ups")
    op.drop_table("follow_ups")
    with op.batch_alter_table("appointments") as batch:
        batch.drop_column("sequence")
    with op.batch_alter_table("call_tasks") as batch:
        batch.drop_column("round_no")
        batch.drop_column("call_back_at")
