"""Erasure requests (privacy capability); the audit log made append-only.

``audit_log`` refuses DELETE and UPDATE, on SQLite with triggers and on PostgreSQL with a
trigger function; the one update allowed is an erasure's redaction (``target`` and
``detail`` replaced, ``note`` set to ``'[erased]'``, nothing else changed).

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision: str | None = "0005"
branch_labels = None
depends_on = None

_CHANGED = ("NEW.id IS NOT OLD.id OR NEW.at IS NOT OLD.at OR NEW.actor IS NOT OLD.actor "
            "OR NEW.action IS NOT OLD.action OR NEW.note IS NOT '[erased]'")
_SQLITE = (
    "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log BEGIN "
    "SELECT RAISE(ABORT, 'audit_log is append-only'); END",
    f"CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log WHEN {_CHANGED} BEGIN "
    "SELECT RAISE(ABORT, 'audit_log is append-only'); END",
)
_PG = (
    "CREATE FUNCTION audit_log_append_only() RETURNS trigger AS $$ BEGIN "
    "IF TG_OP = 'DELETE' OR NEW.id IS DISTINCT FROM OLD.id OR NEW.at IS DISTINCT FROM OLD.at "
    "OR NEW.actor IS DISTINCT FROM OLD.actor OR NEW.action IS DISTINCT FROM OLD.action "
    "OR NEW.note IS DISTINCT FROM '[erased]' THEN "
    "RAISE EXCEPTION 'audit_log is append-only'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql",
    "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
    "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
)


def upgrade() -> None:
    op.create_table(
        "erasure_requests",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("salt", sa.String(32), nullable=False),
        sa.Column("subject_hash", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("steps", sa.JSON(), nullable=False),
        sa.Column("subject", sa.JSON(), nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
    )
    op.create_index("ix_erasure_requests_subject_hash", "erasure_requests", ["subject_hash"])
    dialect = op.get_bind().dialect.name
    for statement in _SQLITE if dialect == "sqlite" else _PG if dialect == "postgresql" else ():
        op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
    elif dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS audit_log_append_only()")
    op.drop_index("ix_erasure_requests_subject_hash", "erasure_requests")
    op.drop_table("erasure_requests")
