"""The audit log is append-only on SQLite and on a real PostgreSQL: UPDATE and DELETE are
refused by the database, the erasure's redaction (target/detail replaced, note '[erased]')
is the one change let through; entries filter by time and actor; the erasure's ops step
runs on both (send ledger anonymised, consents deleted, audit entries redacted)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert, select, text

from insightloop.errors import WarehouseError
from insightloop.services.privacy import Subject
from insightloop.services.privacy.ops import compact, erase_ops, search_ops
from insightloop.storage.operational import audit
from insightloop.storage.operational.engine import OpsStore
from insightloop.storage.operational.models import ConsentRecord, SendLedger
from insightloop.storage.operational.schema import upgrade
from ops_helpers import ops_url_for


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[OpsStore]:
    ops = OpsStore(ops_url_for(request.param, tmp_path))
    upgrade(ops)
    yield ops
    ops.dispose()


def test_append_only_with_redaction_the_one_change(store: OpsStore) -> None:
    audit.record(store, "key:a/read", "GET /api/v1/customers/{customer_id}", "api",
                 {"status": 200})
    audit.record(store, "cli", "privacy.erase", "customer 17850")
    for sql in ("UPDATE audit_log SET actor = 'someone else'",
                "UPDATE audit_log SET target = 'x'",  # without the redaction note
                "DELETE FROM audit_log"):
        with pytest.raises(WarehouseError, match="append-only"), store.write() as conn:
            conn.execute(text(sql))
    rows = audit.entries(store)
    assert [r["actor"] for r in rows] == ["key:a/read", "cli"]
    assert audit.redact(store, [rows[1]["id"]]) == 1
    after = audit.entries(store)
    assert after[1]["target"] == "[erased]" and after[1]["note"] == "[erased]"
    assert after[1]["actor"] == "cli" and after[1]["at"] == rows[1]["at"]
    assert [r["actor"] for r in audit.entries(store, actor="cli")] == ["cli"]
    assert audit.entries(store, since=datetime.now() + timedelta(days=1)) == []


def test_erasure_of_the_operational_store(store: OpsStore) -> None:
    now = datetime.now()
    with store.write() as conn:
        for who in ("17850", "13047"):
            conn.execute(insert(SendLedger).values(
                idempotency_key=f"c1:s1:{who}", campaign_id="c1", step="s1", customer_id=who,
                channel="email", status="sent", created_at=now, detail={"to": f"{who}@x.org"}))
            conn.execute(insert(ConsentRecord).values(
                customer_id=who, channel="email", purpose="marketing", granted=True,
                source="form", recorded_at=now))
    audit.record(store, "key:a/admin", "note", "customer 17850 at jane@example.com")
    subject = Subject("17850", ("jane@example.com",), ("Jane Doe",))
    assert search_ops(store, subject)
    done = erase_ops(store, subject)
    assert done["anonymised"] == {"send_ledger": 1} and done["deleted"] == {"consents": 1}
    assert done["audit_redacted"] == 1
    compact(store)
    assert search_ops(store, subject) == []
    with store.read() as conn:
        ledger = conn.execute(select(SendLedger.customer_id).order_by(SendLedger.id)).all()
        consents = conn.execute(select(ConsentRecord.customer_id)).all()
    assert [r[0] for r in ledger] == ["[erased]", "13047"] and consents == [("13047",)]
