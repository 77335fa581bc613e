"""One booked appointment per offer, and one open cancellation call per appointment, decided by the database.

Two identical ``book-slot`` requests at once could each insert an appointment for the same offer (the second
then failed on the overlap constraint and was told to apologise although the slot was booked); two taps on
"cancel" at once could each place a cancellation call. Partial unique indexes make the second writer fail,
and the repositories turn that failure into "someone else did it first".

Revision ID: 0004
Revises: 0002
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BOOKED = sa.text("status = 'BOOKED'")
_OPEN_CANCELLATION = sa.text("purpose = 'CANCEL' AND status IN ('QUEUED', 'DIALING', 'IN_PROGRESS')")


def upgrade() -> None:
    # Calls placed twice by the old race: keep the first open cancellation call of each appointment.
    op.execute(
        """
        UPDATE call_tasks SET status = 'FAILED',
               failure_reason = 'A second cancellation call for the same appointment.'
        WHERE purpose = 'CANCEL' AND status IN ('QUEUED', 'DIALING', 'IN_PROGRESS')
          AND seq > (SELECT MIN(first.seq) FROM call_tasks AS first
                     WHERE first.purpose = 'CANCEL' AND first.status IN ('QUEUED', 'DIALING', 'IN_PROGRESS')
                       AND first.target_appointment_id = call_tasks.target_appointment_id)
        """
    )
    op.create_index(
        "uq_appointments_offer_id_booked",
        "appointments",
        ["offer_id"],
        unique=True,
        sqlite_where=_BOOKED,
        postgresql_where=_BOOKED,
    )
    op.create_index(
        "uq_call_tasks_target_appointment_id_cancelling",
        "call_tasks",
        ["target_appointment_id"],
        unique=True,
        sqlite_where=_OPEN_CANCELLATION,
        postgresql_where=_OPEN_CANCELLATION,
    )


def downgrade() -> None:
    op.drop_index("uq_call_tasks_target_appointment_id_cancelling", table_name="call_tasks")
    op.drop_index("uq_appointments_offer_id_booked", table_name="appointments")
