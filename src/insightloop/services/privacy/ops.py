"""The operational store's side of an erasure: per-customer rows (consents, journey state,
outbox...) deleted, the send ledger anonymised (a send happened; to whom is gone), any other
row naming the customer deleted, audit entries naming them redacted (who did what and when
stays), then the file compacted (SQLite ``VACUUM`` and a truncated WAL; PostgreSQL ``VACUUM
FULL`` of the tables touched).

The tables are read from the models' metadata, so a table another capability adds with a
``customer_id`` column is covered without a change here.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import JSON, String, Table, Text, cast, delete, or_, select, update

from insightloop.services.privacy.subject import MASK, Subject, find_in
from insightloop.storage.operational import audit
from insightloop.storage.operational.engine import OpsStore
from insightloop.storage.operational.models import AuditEntry, Base

#: Tables kept with the customer replaced by the mask (counts survive).
ANONYMISE = ("send_ledger",)
_OWN = ("audit_log", "erasure_requests", "alembic_version")


def _text_columns(table: Table) -> list[Any]:
    return [c for c in table.columns if isinstance(c.type, String | Text | JSON)]


def _holding(store: OpsStore, table: Table, subject: Subject) -> list[tuple[Any, ...]]:
    """Primary keys of rows of ``table`` whose text holds the subject."""
    cols = _text_columns(table)
    if not cols:
        return []
    needles = [subject.customer_id, *subject.emails, *subject.names]
    texts = [cast(c, Text) if isinstance(c.type, JSON) else c for c in cols]
    cond = or_(*[t.ilike(f"%{n}%") for t in texts for n in needles])
    pk = list(table.primary_key.columns)
    found = subject.byte_needles()
    with store.read() as conn:
        rows = conn.execute(select(*pk, *texts).where(cond)).all()
    out = []
    for row in rows:
        blob = "\x1f".join(str(v) for v in row[len(pk):] if v is not None).encode("utf-8")
        if find_in(blob, found):
            out.append(tuple(row[:len(pk)]))
    return out


def erase_ops(store: OpsStore, subject: Subject) -> dict[str, Any]:
    """Delete, anonymise and redact (see the module); counts per table."""
    deleted: dict[str, int] = {}
    anonymised: dict[str, int] = {}
    for table in Base.metadata.sorted_tables:
        if table.name in _OWN or "customer_id" not in table.columns:
            continue
        col = table.columns["customer_id"]
        with store.write() as conn:
            if table.name in ANONYMISE:
                values: dict[str, Any] = {"customer_id": MASK}
                if "idempotency_key" in table.columns and "id" in table.columns:
                    values["idempotency_key"] = MASK + ":" + cast(table.columns["id"], String)
                if "detail" in table.columns:
                    values["detail"] = None
                n = conn.execute(update(table).where(col == subject.customer_id)
                                 .values(**values)).rowcount
                anonymised[table.name] = int(n or 0)
            else:
                n = conn.execute(delete(table).where(col == subject.customer_id)).rowcount
                deleted[table.name] = int(n or 0)
    for table in Base.metadata.sorted_tables:
        if table.name in _OWN:
            continue
        keys = _holding(store, table, subject)
        if keys:
            pk = list(table.primary_key.columns)
            with store.write() as conn:
                for key in keys:
                    conn.execute(delete(table).where(*[c == v for c, v in zip(pk, key,
                                                                               strict=True)]))
            deleted[table.name] = deleted.get(table.name, 0) + len(keys)
    entries = _holding(store, AuditEntry.__table__, subject)  # type: ignore[arg-type]
    redacted = audit.redact(store, [int(k[0]) for k in entries])
    return {"deleted": {k: v for k, v in deleted.items() if v},
            "anonymised": {k: v for k, v in anonymised.items() if v},
            "audit_redacted": redacted}


def search_ops(store: OpsStore, subject: Subject) -> list[dict[str, Any]]:
    """Tables of the store where the subject is still found (``{"table", "rows"}``)."""
    out = []
    for table in Base.metadata.sorted_tables:
        if table.name == "alembic_version":
            continue
        rows = _holding(store, table, subject)
        if rows:
            out.append({"table": f"ops.{table.name}", "rows": len(rows)})
    return out


def compact(store: OpsStore) -> None:
    """Rewrite the store's files so removed values are gone from them."""
    if store.dialect == "sqlite":
        raw = store.engine.raw_connection()
        try:
            cur = raw.cursor()
            cur.execute("VACUUM")
            cur.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            cur.close()
        finally:
            raw.close()
    elif store.dialect == "postgresql":
        with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for table in Base.metadata.sorted_tables:
                if re.fullmatch(r"[a-z_]+", table.name):
                    conn.exec_driver_sql(f"VACUUM FULL {table.name}")
