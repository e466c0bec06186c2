"""Erasure proven on the demo warehouse: every declared table with a customer column
(parametrised from the capability declarations, so a new capability's table is covered),
quarantine, free text of other rows, the operational store, model versions, files (bytes,
gzip-compressed too), the API's 404; other customers unchanged; a second erase verifies."""

from __future__ import annotations

import gzip
import re
import shutil
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest
from sqlalchemy import insert, select, text

from contexts import ctx_of
from insightloop.capabilities import personal_data_map
from insightloop.errors import WarehouseError
from insightloop.services.context import Context
from insightloop.services.privacy import erase_customer
from insightloop.storage.operational import audit, open_ops
from insightloop.storage.operational.models import AuditEntry, ConsentRecord, SendLedger

WHO = "17850"
EMAIL = "jane.doe@example.com"
NAME = "Jane Doe"
OTHER = "13767"  # has reviews in the bundled sample
#: Declared tables with a customer column (views excluded), read at collection time.
CUSTOMER_TABLES = sorted(n for n, d in personal_data_map().items()
                         if d["customer"] and not d["view"])


def _counts(con: duckdb.DuckDBPyConnection, table: str, col: str) -> tuple[int, int]:
    row = con.execute(f'SELECT count(*) FILTER (WHERE "{col}" = ?), '
                      f'count(*) FILTER (WHERE "{col}" IS DISTINCT FROM ?) FROM "{table}"',
                      [WHO, WHO]).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def _add_row(con: duckdb.DuckDBPyConnection, table: str, col: str) -> None:
    """One row of the customer in an existing table: a copy of a row there, else a row of
    placeholder values (0, a date, 'x') in its NOT NULL columns."""
    (rows,) = con.execute(f'SELECT count(*) FROM "{table}"').fetchone() or (0,)
    if rows:
        con.execute(f'INSERT INTO "{table}" SELECT * REPLACE (?::VARCHAR AS "{col}") '
                    f'FROM "{table}" LIMIT 1', [WHO])
        return
    cols = con.execute("SELECT column_name, data_type, is_nullable FROM "
                       "information_schema.columns WHERE table_name = ?", [table]).fetchall()
    values = ", ".join(
        "?" if name == col else f"CAST(NULL AS {kind})" if nullable == "YES" else
        f"coalesce(TRY_CAST('0' AS {kind}), TRY_CAST('2011-01-01' AS {kind}), "
        f"TRY_CAST('x' AS {kind}))" for name, kind, nullable in cols)
    con.execute(f'INSERT INTO "{table}" VALUES ({values})', [WHO])


def _seed(ctx: Context) -> dict[str, Any]:
    """Put the customer everywhere: a customers row, every declared table (tables the demo
    does not build are created with one row), quarantine, another customer's review text,
    the operational store, a report and a gzip export under the warehouse folder."""
    declared = personal_data_map()
    with ctx.warehouse.transaction() as con:
        con.execute("DELETE FROM customers WHERE customer_id IN (?, ?)", [WHO, OTHER])
        con.execute("INSERT INTO customers (customer_id, email, name) VALUES (?, ?, ?), "
                    "(?, 'other@example.org', 'Otto Other')", [WHO, EMAIL, NAME, OTHER])
        for table in CUSTOMER_TABLES:
            col = declared[table]["customer"]
            exists = con.execute("SELECT count(*) FROM information_schema.tables WHERE "
                                 "table_name = ?", [table]).fetchone()
            if not exists or not exists[0]:
                con.execute(f'CREATE TABLE "{table}" ("{col}" VARCHAR, note VARCHAR)')
                con.execute(f'INSERT INTO "{table}" VALUES (?, \'mine\'), (?, \'theirs\')',
                            [WHO, OTHER])
            elif _counts(con, table, col)[0] == 0:
                _add_row(con, table, col)
        con.execute("UPDATE reviews SET text = text || ' (write to jane.doe@example.com, "
                    "Jane Doe)' WHERE customer_id = ?", [OTHER])
        con.execute("INSERT INTO quarantine VALUES ('i1', 'orders', 'o.csv', NULL, 7, "
                    "'quantity', 'not a number', '536365,17850,abc', now())")
        before = {t: _counts(con, t, declared[t]["customer"]) for t in CUSTOMER_TABLES}
        revenue = con.execute("SELECT sum(quantity * unit_price) FROM orders").fetchone()
    store = open_ops(ctx.settings)
    now = datetime.now()
    with store.write() as conn:
        conn.execute(insert(SendLedger).values(
            idempotency_key=f"c1:s1:{WHO}", campaign_id="c1", step="s1", customer_id=WHO,
            channel="email", status="sent", created_at=now, detail={"to": EMAIL}))
        conn.execute(insert(SendLedger).values(
            idempotency_key=f"c1:s1:{OTHER}", campaign_id="c1", step="s1", customer_id=OTHER,
            channel="email", status="sent", created_at=now, detail=None))
        conn.execute(insert(ConsentRecord).values(customer_id=WHO, channel="email",
                                                  purpose="marketing", granted=True,
                                                  source="form", recorded_at=now))
    audit.record(store, "k1", "GET /api/v1/customers/{customer_id}", f"customer {WHO}")
    folder = ctx.settings.warehouse.parent
    (folder / "exports").mkdir(exist_ok=True)
    with gzip.open(folder / "exports" / "list.csv.gz", "wt") as fh:
        fh.write(f"customer_id,email\n{WHO},{EMAIL}\n{OTHER},other@example.org\n")
    (folder / "reports").mkdir(exist_ok=True)
    (folder / "reports" / "old.html").write_text(f"<td>{NAME}</td>", encoding="utf-8")
    return {"before": before, "revenue": revenue}


@pytest.fixture(scope="module")
def erased(demo_warehouse: Path, tmp_path_factory: pytest.TempPathFactory
           ) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("erase") / "wh"
    shutil.copytree(demo_warehouse.parent, folder)
    ctx = ctx_of(folder / demo_warehouse.name)
    seeded = _seed(ctx)
    result = erase_customer(ctx, f" {WHO}.0 ", actor="test")
    return {"ctx": ctx, "result": result, **seeded}


@pytest.mark.parametrize("table", CUSTOMER_TABLES)
def test_every_declared_table_loses_the_customer(erased: dict[str, Any], table: str) -> None:
    ctx, before = erased["ctx"], erased["before"][table]
    col = personal_data_map()[table]["customer"]
    with duckdb.connect(str(ctx.settings.warehouse), read_only=True) as con:
        mine, others = _counts(con, table, col)
    assert mine == 0
    assert before[0] > 0  # the customer was there
    anonymised = erased["result"]["warehouse"]["anonymised"].get(table, 0)
    assert others == before[1] + anonymised  # nobody else's row changed


def test_totals_survive_and_free_text_is_masked(erased: dict[str, Any]) -> None:
    ctx, result = erased["ctx"], erased["result"]
    with duckdb.connect(str(ctx.settings.warehouse), read_only=True) as con:
        revenue = con.execute("SELECT sum(quantity * unit_price) FROM orders").fetchone()
        texts = [r[0] for r in con.execute("SELECT text FROM reviews WHERE customer_id = ?",
                                           [OTHER]).fetchall()]
        quarantined = con.execute("SELECT count(*) FROM quarantine WHERE raw LIKE '%17850%'"
                                  ).fetchone()
        kept = con.execute("SELECT email FROM customers WHERE customer_id = ?", [OTHER]
                           ).fetchone()
    assert revenue is not None and revenue[0] == pytest.approx(erased["revenue"][0], rel=1e-12)
    assert result["warehouse"]["anonymised"]["orders"] > 0
    assert texts and all("(write to [erased], [erased])" in t for t in texts)
    assert quarantined == (0,)
    assert kept == ("other@example.org",)


def _whole_token(data: bytes) -> bool:
    low = data.lower()
    forms = [re.escape(f.lower().encode(enc)) for f in (EMAIL, NAME)
             for enc in ("utf-8", "utf-16-le", "utf-32-le")]
    return bool(re.search(rb"(?<![0-9A-Za-z])17850(?![0-9A-Za-z])", low)
                or WHO.encode("utf-32-le") in low or any(re.search(f, low) for f in forms))


def test_no_file_under_the_warehouse_folder_holds_the_customer(
        erased: dict[str, Any]) -> None:
    folder = erased["ctx"].settings.warehouse.parent
    files = [p for p in folder.rglob("*") if p.is_file()]
    assert any(p.name.endswith(".ops.sqlite") for p in files)
    assert (folder / "exports" / "list.csv.gz").exists() is False
    for path in files:
        data = path.read_bytes()
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        assert not _whole_token(data), path
    retired = {m["model"] for m in erased["result"]["models_retired"]}
    assert "recommender" in retired  # its user index held the customer
    assert not (folder / "models" / "recommender" / "v1").exists()


def test_operational_store_and_audit(erased: dict[str, Any]) -> None:
    ctx = erased["ctx"]
    store = open_ops(ctx.settings)
    with store.read() as conn:
        ledger = conn.execute(select(SendLedger.customer_id, SendLedger.detail)).all()
        consents = conn.execute(select(ConsentRecord.customer_id)).all()
    erased_rows = [row for row in ledger if row[0] == "[erased]"]
    assert erased_rows and all(detail is None for _, detail in erased_rows)
    assert not any(row[0] == WHO for row in ledger) and (WHO,) not in consents
    assert (OTHER, None) in ledger  # the other customers' sends are kept
    entries = audit.entries(store)
    assert [e["target"] for e in entries if e["actor"] == "k1"] == ["[erased]"]
    erasure = [e for e in entries if e["action"] == "privacy.erase"]
    assert erasure and erasure[-1]["actor"] == "test"
    assert WHO not in str(erasure) and EMAIL not in str(entries)


def test_verified_and_a_second_erase_only_verifies(erased: dict[str, Any]) -> None:
    ctx, first = erased["ctx"], erased["result"]
    assert first["verification"]["clean"] and first["verification"]["api_404"]
    assert first["verification"]["searched"] == ["customer_id", "email", "name"]
    again = erase_customer(ctx, WHO)
    assert again["already_erased"] and again["verification"]["clean"]
    assert again["request"] == first["request"]


def test_audit_log_refuses_update_and_delete(erased: dict[str, Any]) -> None:
    store = open_ops(erased["ctx"].settings)
    for sql in ("UPDATE audit_log SET actor = 'x'", "DELETE FROM audit_log"):
        with pytest.raises(WarehouseError, match="append-only"), store.write() as conn:
            conn.execute(text(sql))
    with store.read() as conn:
        assert conn.execute(select(AuditEntry.id)).first() is not None
