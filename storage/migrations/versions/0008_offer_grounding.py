"""Offers get ``grounding`` (pending / verified / unverified: whether the receptionist's own words in the
transcript support the offer) and the words that decided it; campaigns get ``expert_answers`` (what the user
answered to the expert's questions before calling).

Revision ID: 0008
Revises: 0006
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("offers") as batch:
        batch.add_column(sa.Column("grounding", sa.String(16), nullable=False, server_default="pending"))
        batch.add_column(sa.Column("grounding_evidence", sa.Text(), nullable=True))
    with op.batch_alter_table("campaigns") as batch:
        batch.add_column(sa.Column("expert_answers", sa.JSON(none_as_null=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("campaigns") as batch:
        batch.drop_column("expert_answers")
    with op.batch_alter_table("offers") as batch:
        batch.drop_column("grounding_evidence")
        batch.drop_column("grounding")
