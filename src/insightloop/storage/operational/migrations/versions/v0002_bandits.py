"""Thompson-sampling bandits of the experiments capability: ``bandits`` and
``bandit_arms``.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision: str | None = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bandits",
        sa.Column("id", sa.String(100), primary_key=True),
        sa.Column("arms", sa.JSON(), nullable=False),
        sa.Column("holdout", sa.Float(), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("draws", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "bandit_arms",
        sa.Column("bandit_id", sa.String(100), primary_key=True),
        sa.Column("arm", sa.String(100), primary_key=True),
        sa.Column("pulls", sa.Integer(), nullable=False),
        sa.Column("successes", sa.Float(), nullable=False),
        sa.Column("failures", sa.Float(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("bandit_arms")
    op.drop_table("bandits")
