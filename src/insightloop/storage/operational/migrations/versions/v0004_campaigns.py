"""Campaigns and delivery (campaigns capability): ``campaigns``, ``campaign_outbox`` and the
delivery columns of ``send_ledger`` (message_id, variant, attempts, retry).

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision: str | None = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "campaigns",
        sa.Column("id", sa.String(100), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("audience", sa.Text(), nullable=False),
        sa.Column("holdout", sa.Float(), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("variants", sa.JSON(), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("runs", sa.Integer(), nullable=False),
        sa.Column("lease_owner", sa.String(200), nullable=True),
        sa.Column("lease_until", sa.Float(), nullable=True),
    )
    op.create_table(
        "campaign_outbox",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("idempotency_key", sa.String(300), nullable=False),
        sa.Column("campaign_id", sa.String(100), nullable=False),
        sa.Column("customer_id", sa.String(100), nullable=False),
        sa.Column("message_id", sa.String(300), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("pulled_at", sa.DateTime(), nullable=True),
        sa.UniqueConstraint("idempotency_key", name="uq_campaign_outbox_key"),
    )
    op.create_index("ix_campaign_outbox_campaign_id", "campaign_outbox", ["campaign_id"])
    with op.batch_alter_table("send_ledger") as batch:
        batch.add_column(sa.Column("message_id", sa.String(300), nullable=True))
        batch.add_column(sa.Column("variant", sa.String(100), nullable=True))
        batch.add_column(sa.Column("attempts", sa.Integer(), nullable=False,
                                   server_default="0"))
        batch.add_column(sa.Column("retry", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
    op.create_index("ix_send_ledger_campaign", "send_ledger", ["campaign_id", "step", "status"])


def downgrade() -> None:
    op.drop_index("ix_send_ledger_campaign", table_name="send_ledger")
    with op.batch_alter_table("send_ledger") as batch:
        batch.drop_column("retry")
        batch.drop_column("attempts")
        batch.drop_column("variant")
        batch.drop_column("message_id")
    op.drop_index("ix_campaign_outbox_campaign_id", table_name="campaign_outbox")
    op.drop_table("campaign_outbox")
    op.drop_table("campaigns")
