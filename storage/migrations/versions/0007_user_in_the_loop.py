"""The user in the loop: live call transcripts and who follows them, questions the agent asks the user, the
user's profile (what the agent may share), instructions to running calls.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TIME = sa.DateTime(timezone=True)
_ID = sa.String(32)


def upgrade() -> None:
    op.create_table(
        "call_turns",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("call_id", _ID, nullable=False),
        sa.Column("speaker", sa.String(16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_call_turns"),
    )
    op.create_index("ix_call_turns_call_id_seq", "call_turns", ["call_id", "seq"])
    op.create_table(
        "call_listeners",
        sa.Column("call_id", _ID, nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("call_id", name="pk_call_listeners"),
    )
    op.create_table(
        "user_questions",
        sa.Column("id", _ID, nullable=False),
        sa.Column("call_id", _ID, nullable=False),
        sa.Column("campaign_id", _ID, nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("provider_name", sa.String(200), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("topic", sa.String(200), nullable=False),
        sa.Column("choices", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("why", sa.Text(), nullable=False),
        sa.Column("asked_at", _TIME, nullable=False),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("answered_at", _TIME, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_user_questions"),
    )
    op.create_index("ix_user_questions_campaign_id_topic", "user_questions", ["campaign_id", "topic"])
    op.create_index("ix_user_questions_call_id", "user_questions", ["call_id"])
    op.create_index(
        "uq_user_questions_campaign_id_topic_open",
        "user_questions",
        ["campaign_id", "topic"],
        unique=True,
        sqlite_where=sa.text("answer IS NULL"),
        postgresql_where=sa.text("answer IS NULL"),
    )
    op.create_index("ix_user_questions_user_id_asked_at", "user_questions", ["user_id", "asked_at"])
    op.create_table(
        "user_profiles",
        sa.Column("user_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("phone", sa.String(32), nullable=False),
        sa.Column("insurance", sa.String(16), nullable=True),
        sa.Column("patient", sa.String(16), nullable=True),
        sa.Column("handover_consent", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name="pk_user_profiles"),
    )
    op.create_table(
        "call_instructions",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("id", _ID, nullable=False),
        sa.Column("campaign_id", _ID, nullable=False),
        sa.Column("call_id", _ID, nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_call_instructions"),
        sa.UniqueConstraint("id", name="uq_call_instructions_id"),
    )
    op.create_index("ix_call_instructions_campaign_id_seq", "call_instructions", ["campaign_id", "seq"])
    op.create_table(
        "call_instruction_reads",
        sa.Column("instruction_id", _ID, nullable=False),
        sa.Column("call_id", _ID, nullable=False),
        sa.Column("read_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("instruction_id", "call_id", name="pk_call_instruction_reads"),
    )


def downgrade() -> None:
    op.drop_table("call_instruction_reads")
    op.drop_index("ix_call_instructions_campaign_id_seq", table_name="call_instructions")
    op.drop_table("call_instructions")
    op.drop_table("user_profiles")
    op.drop_index("ix_user_questions_user_id_asked_at", table_name="user_questions")
    op.drop_index("uq_user_questions_campaign_id_topic_open", table_name="user_questions")
    op.drop_index("ix_user_questions_call_id", table_name="user_questions")
    op.drop_index("ix_user_questions_campaign_id_topic", table_name="user_questions")
    op.drop_table("user_questions")
    op.drop_table("call_listeners")
    op.drop_index("ix_call_turns_call_id_seq", table_name="call_turns")
    op.drop_table("call_turns")
