"""The audit log: who read or changed what, appended, never changed.

Entries are written by :func:`record` only; there is no update or delete function, and the
database refuses both (migration 0006: triggers on SQLite and PostgreSQL). The one change
allowed is :func:`redact`, used by an erasure: ``target`` and ``detail`` of entries naming
the erased customer are replaced and ``note`` says ``[erased]``; who acted, what and when stay.

What goes in: the actor (API key id and role, or ``cli``), the action (``GET
/api/v1/customers/{customer_id}``: the route's template, never the values in the path or
the query), the target (a table, a job kind, a command) and a detail without personal data.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update

from insightloop.storage.operational.engine import OpsStore
from insightloop.storage.operational.models import AuditEntry

ERASED = "[erased]"
MAX_LIST = 100_000


def record(store: OpsStore, actor: str, action: str, target: str = "",
           detail: dict[str, Any] | None = None, note: str | None = None) -> None:
    """Append one entry (its own transaction)."""
    with store.write() as conn:
        conn.execute(insert(AuditEntry).values(
            at=datetime.now(), actor=actor[:64], action=action[:64], target=target[:200],
            detail=detail, note=note))


def record_many(store: OpsStore, rows: list[dict[str, Any]]) -> None:
    """Append several entries in one transaction (``at``, ``actor``, ``action``, ``target``,
    ``detail`` each; the API's buffered request trail)."""
    if rows:
        with store.write() as conn:
            conn.execute(insert(AuditEntry), rows)


def entries(store: OpsStore, since: datetime | None = None, actor: str | None = None,
            limit: int = MAX_LIST) -> list[dict[str, Any]]:
    """Entries oldest first, from ``since`` on and by ``actor`` when given."""
    query = select(AuditEntry.id, AuditEntry.at, AuditEntry.actor, AuditEntry.action,
                   AuditEntry.target, AuditEntry.detail, AuditEntry.note)
    if since is not None:
        query = query.where(AuditEntry.at >= since)
    if actor is not None:
        query = query.where(AuditEntry.actor == actor)
    with store.read() as conn:
        rows = conn.execute(query.order_by(AuditEntry.id).limit(limit)).mappings().all()
    return [{**row, "at": row["at"].isoformat(timespec="seconds")} for row in rows]


def redact(store: OpsStore, ids: list[int]) -> int:
    """Replace the target and detail of entries ``ids`` (an erasure); returns how many."""
    if not ids:
        return 0
    with store.write() as conn:
        done = conn.execute(update(AuditEntry).where(AuditEntry.id.in_(ids)).values(
            target=ERASED, detail=None, note=ERASED)).rowcount
    return int(done or 0)
