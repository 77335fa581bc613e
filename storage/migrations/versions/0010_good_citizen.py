"""A good citizen on the phone network: practices that opted out of automated calls, the calls counted in
each practice's daily budget, and short-lived facts about practices' availability shared by every search.

Revision ID: 0010
Revises: 0006
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "practice_opt_outs",
        sa.Column("phone", sa.String(16), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.PrimaryKeyConstraint("phone", name="pk_practice_opt_outs"),
    )
    op.create_table(
        "practice_calls",
        sa.Column("phone", sa.String(16), nullable=False),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("placed_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("phone", "day", "seq", name="pk_practice_calls"),
    )
    op.create_index("ix_practice_calls_phone_placed_at", "practice_calls", ["phone", "placed_at"])
    op.create_table(
        "practice_facts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("phone", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("learned_at", _TIME, nullable=False),
        sa.Column("expires_at", _TIME, nullable=False),
        sa.Column("start_at", _TIME, nullable=True),
        sa.Column("until", _TIME, nullable=True),
        sa.Column("detail", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_practice_facts"),
    )
    op.create_index("ix_practice_facts_phone_expires_at", "practice_facts", ["phone", "expires_at"])


def downgrade() -> None:
    op.drop_index("ix_practice_facts_phone_expires_at", table_name="practice_facts")
    op.drop_table("practice_facts")
    op.drop_index("ix_practice_calls_phone_placed_at", table_name="practice_calls")
    op.drop_table("practice_calls")
    op.drop_table("practice_opt_outs")
