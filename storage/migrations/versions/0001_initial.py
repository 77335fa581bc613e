"""The first schema: users, campaigns, calls, offers, appointments, reminders, calendar links, chat sessions,
processed events.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.String(32)
_TIME = sa.DateTime(timezone=True)
_JSON = sa.JSON(none_as_null=True)


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("home", _JSON, nullable=True),
        sa.Column("weights", _JSON, nullable=False),
        sa.Column("radius_km", sa.Float(), nullable=False),
        sa.Column("reminders_enabled", sa.Boolean(), nullable=False),
        sa.Column("language", sa.String(16), nullable=False),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
    )
    op.create_table(
        "campaigns",
        sa.Column("id", _ID, nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("service", sa.String(200), nullable=False),
        sa.Column("windows", _JSON, nullable=False),
        sa.Column("location", _JSON, nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("deadline_at", _TIME, nullable=False),
        sa.Column("request_text", sa.Text(), nullable=False),
        sa.Column("language", sa.String(16), nullable=False),
        sa.Column("duration_minutes", sa.Integer(), nullable=False),
        sa.Column("radius_km", sa.Float(), nullable=False),
        sa.Column("weights", _JSON, nullable=False),
        sa.Column("max_calls", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("failure_reason", sa.Text(), nullable=True),
        sa.Column("chosen_offer_id", _ID, nullable=True),
        sa.Column("updated_at", _TIME, nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_campaigns"),
    )
    op.create_index("ix_campaigns_user_id_created_at", "campaigns", ["user_id", "created_at"])
    op.create_index("ix_campaigns_status_deadline_at", "campaigns", ["status", "deadline_at"])
    op.create_table(
        "call_tasks",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("id", _ID, nullable=False),
        sa.Column("campaign_id", _ID, nullable=False),
        sa.Column("provider", _JSON, nullable=False),
        sa.Column("purpose", sa.String(16), nullable=False),
        sa.Column("token_hash", sa.String(128), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("timeout_at", _TIME, nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("outcome", sa.String(32), nullable=True),
        sa.Column("target_offer_id", _ID, nullable=True),
        sa.Column("target_appointment_id", _ID, nullable=True),
        sa.Column("conversation_id", sa.String(128), nullable=True),
        sa.Column("call_sid", sa.String(64), nullable=True),
        sa.Column("started_at", _TIME, nullable=True),
        sa.Column("ended_at", _TIME, nullable=True),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("failure_reason", sa.Text(), nullable=True),
        sa.Column("transcript", _JSON, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_call_tasks"),
        sa.UniqueConstraint("id", name="uq_call_tasks_id"),
        sa.UniqueConstraint("token_hash", name="uq_call_tasks_token_hash"),
        sa.UniqueConstraint("conversation_id", name="uq_call_tasks_conversation_id"),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaigns.id"], name="fk_call_tasks_campaign_id_campaigns", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_call_tasks_campaign_id", "call_tasks", ["campaign_id"])
    op.create_index("ix_call_tasks_status_timeout_at", "call_tasks", ["status", "timeout_at"])
    op.create_table(
        "offers",
        sa.Column("id", _ID, nullable=False),
        sa.Column("campaign_id", _ID, nullable=False),
        sa.Column("call_task_id", _ID, nullable=False),
        sa.Column("provider_id", sa.String(200), nullable=False),
        sa.Column("provider_name", sa.String(200), nullable=False),
        sa.Column("start_at", _TIME, nullable=False),
        sa.Column("end_at", _TIME, nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("rating", sa.Float(), nullable=True),
        sa.Column("distance_km", sa.Float(), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("status", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_offers"),
        sa.UniqueConstraint("call_task_id", "start_at", name="uq_offers_call_task_id_start_at"),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaigns.id"], name="fk_offers_campaign_id_campaigns", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["call_task_id"], ["call_tasks.id"], name="fk_offers_call_task_id_call_tasks", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_offers_campaign_id", "offers", ["campaign_id"])
    op.create_table(
        "appointments",
        sa.Column("id", _ID, nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("campaign_id", _ID, nullable=False),
        sa.Column("offer_id", _ID, nullable=False),
        sa.Column("provider", _JSON, nullable=False),
        sa.Column("start_at", _TIME, nullable=False),
        sa.Column("end_at", _TIME, nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("calendar_event_id", sa.String(1024), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_appointments"),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaigns.id"], name="fk_appointments_campaign_id_campaigns", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["offer_id"], ["offers.id"], name="fk_appointments_offer_id_offers", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_appointments_user_id_start_at", "appointments", ["user_id", "start_at"])
    op.create_index("ix_appointments_offer_id", "appointments", ["offer_id"])
    if op.get_context().dialect.name == "postgresql":
        # The database itself refuses two booked appointments of one user that overlap; half-open ranges
        # let one appointment end exactly when the next begins. btree_gist provides ``=`` on bigint in GiST.
        op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
        op.execute(
            "ALTER TABLE appointments ADD CONSTRAINT appointments_no_overlap "
            "EXCLUDE USING gist (user_id WITH =, tstzrange(start_at, end_at, '[)') WITH &&) "
            "WHERE (status = 'BOOKED')"
        )
    op.create_table(
        "reminders",
        sa.Column("id", _ID, nullable=False),
        sa.Column("appointment_id", _ID, nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("due_at", _TIME, nullable=False),
        sa.Column("lead_minutes", sa.Integer(), nullable=False),
        sa.Column("sent_at", _TIME, nullable=True),
        sa.Column("cancelled", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_reminders"),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointments.id"],
            name="fk_reminders_appointment_id_appointments",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_reminders_due_at", "reminders", ["due_at"])
    op.create_index("ix_reminders_appointment_id", "reminders", ["appointment_id"])
    op.create_table(
        "calendar_links",
        sa.Column("user_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("encrypted_token", sa.Text(), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("calendar_id", sa.String(1024), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name="pk_calendar_links"),
    )
    op.create_table(
        "chat_sessions",
        sa.Column("user_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("state", _JSON, nullable=False),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("user_id", name="pk_chat_sessions"),
    )
    op.create_table(
        "processed_events",
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("seen_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_processed_events"),
    )


def downgrade() -> None:
    for table in (
        "processed_events",
        "chat_sessions",
        "calendar_links",
        "reminders",
        "appointments",
        "offers",
        "call_tasks",
        "campaigns",
        "users",
    ):
        op.drop_table(table)
