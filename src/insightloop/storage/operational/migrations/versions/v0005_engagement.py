"""Suppression lists and journeys (engagement capability): ``suppressions``, ``journeys``,
``journey_state``, ``journey_log``.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision: str | None = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "suppressions",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("value", sa.String(320), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("reason", sa.String(200), nullable=False),
        sa.Column("added_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("kind", "value", "channel", name="uq_suppressions"),
    )
    op.create_table(
        "journeys",
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "journey_state",
        sa.Column("journey", sa.String(100), primary_key=True),
        sa.Column("customer_id", sa.String(100), primary_key=True),
        sa.Column("step", sa.String(100), nullable=False),
        sa.Column("due_at", sa.DateTime(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("entered_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_journey_state_due", "journey_state", ["status", "due_at"])
    op.create_table(
        "journey_log",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("journey", sa.String(100), nullable=False),
        sa.Column("customer_id", sa.String(100), nullable=False),
        sa.Column("step", sa.String(100), nullable=False),
        sa.Column("outcome", sa.String(64), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("journey", "customer_id", "step", name="uq_journey_log_step"),
    )


def downgrade() -> None:
    op.drop_table("journey_log")
    op.drop_index("ix_journey_state_due", table_name="journey_state")
    op.drop_table("journey_state")
    op.drop_table("journeys")
    op.drop_table("suppressions")
