"""Campaign schedules, held sends and bounces (campaigns capability): ``campaigns.spec`` and
``campaigns.bandit`` (the stored definition a schedule or tick runs again; the bandit that
picks variants), ``send_ledger.due_at`` (a send held until the customer's best hour),
``schedule_runs`` (one claim per schedule and due time) and ``campaign_bounces``.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision: str | None = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("campaigns") as batch:
        batch.add_column(sa.Column("spec", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("bandit", sa.String(100), nullable=True))
    with op.batch_alter_table("send_ledger") as batch:
        batch.add_column(sa.Column("due_at", sa.DateTime(), nullable=True))
    op.create_table(
        "schedule_runs",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("schedule_id", sa.Integer(), nullable=False),
        sa.Column("due_at", sa.DateTime(), nullable=False),
        sa.Column("campaign_id", sa.String(100), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("claimed_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.UniqueConstraint("schedule_id", "due_at", name="uq_schedule_runs_due"),
    )
    op.create_table(
        "campaign_bounces",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("recipient", sa.String(320), nullable=False),
        sa.Column("message_id", sa.String(300), nullable=True),
        sa.Column("campaign_id", sa.String(100), nullable=True),
        sa.Column("customer_id", sa.String(100), nullable=True),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("diagnostic", sa.String(300), nullable=False),
        sa.Column("source", sa.String(300), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("key", name="uq_campaign_bounces_key"),
    )
    op.create_index("ix_campaign_bounces_recipient", "campaign_bounces", ["recipient"])


def downgrade() -> None:
    op.drop_index("ix_campaign_bounces_recipient", table_name="campaign_bounces")
    op.drop_table("campaign_bounces")
    op.drop_table("schedule_runs")
    with op.batch_alter_table("send_ledger") as batch:
        batch.drop_column("due_at")
    with op.batch_alter_table("campaigns") as batch:
        batch.drop_column("bandit")
        batch.drop_column("spec")
