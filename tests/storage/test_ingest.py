"""Ingestion of the full UCI Online Retail file, idempotency, transactions and mapping."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest
from ingest_helpers import BASE_ORDERS, ONLINE_RETAIL, SAMPLE, digest, needs_online_retail

from insightloop.errors import ConfigError, SchemaError
from insightloop.storage import ingest as ingest_mod
from insightloop.storage.ingest import IngestResult, ingest_file
from insightloop.storage.mapping import load_mapping_file
from insightloop.storage.warehouse import Warehouse


# -- the full Online Retail file ---------------------------------------------------------
def _expected_from_raw_csv(path: Path) -> tuple[set[int], Decimal, int, set[str]]:
    """Apply the documented rules to the raw CSV with the csv module, independently.

    Returns the physical lines that must be quarantined, the exact net revenue
    of the loaded lines, the number of cancellation lines loaded, and the
    customer ids (``17850.0`` written as ``17850``).
    """
    bad: set[int] = set()
    revenue = Decimal(0)
    cancelled = 0
    customers: set[str] = set()
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        idx = {name: i for i, name in enumerate(header)}
        start = reader.line_num + 1
        for rec in reader:
            qty = int(rec[idx["Quantity"]])
            price = Decimal(rec[idx["UnitPrice"]])
            is_cancel = rec[idx["InvoiceNo"]].upper().startswith("C")
            if (qty < 0 and not is_cancel) or price < 0 or qty == 0:
                bad.add(start)
            else:
                revenue += qty * price
                cancelled += is_cancel
                cid = rec[idx["CustomerID"]].strip()
                if cid:
                    customers.add(cid.removesuffix(".0"))
            start = reader.line_num + 1
    return bad, revenue, cancelled, customers


@pytest.fixture(scope="module")
def retail(tmp_path_factory: pytest.TempPathFactory
           ) -> tuple[Warehouse, IngestResult, IngestResult, dict[str, tuple[int, str]]]:
    """Full file ingested once, digested, then re-ingested (module-scoped: ~20 s)."""
    if not ONLINE_RETAIL.exists():
        pytest.skip(f"UCI Online Retail not available at {ONLINE_RETAIL}")
    wh = Warehouse(tmp_path_factory.mktemp("retail") / "wh.duckdb")
    first = ingest_file(wh, "orders", ONLINE_RETAIL, preset="online-retail")
    before = digest(wh)
    again = ingest_file(wh, "orders", ONLINE_RETAIL, preset="online-retail")
    return wh, first, again, before


@pytest.fixture(scope="module")
def expected() -> tuple[set[int], Decimal, int, set[str]]:
    if not ONLINE_RETAIL.exists():
        pytest.skip(f"UCI Online Retail not available at {ONLINE_RETAIL}")
    return _expected_from_raw_csv(ONLINE_RETAIL)


@needs_online_retail
def test_full_file_accounting(retail: tuple, expected: tuple) -> None:
    wh, first, _again, _ = retail
    bad = expected[0]
    assert first.rows_in == 541_909
    assert first.rows_quarantined == len(bad) == 1_338
    assert first.rows_duplicate == 0
    assert first.rows_loaded == 541_909 - 1_338
    n = wh.query("SELECT count(*) AS n FROM orders")["n"].item()
    assert n == first.rows_loaded


@needs_online_retail
def test_full_file_customers_cancellations_revenue(retail: tuple, expected: tuple) -> None:
    wh, _, _, _ = retail
    _, revenue, cancelled, customers = expected
    got = wh.query(
        "SELECT count(DISTINCT customer_id) AS customers, "
        "count(*) FILTER (WHERE status = 'cancelled') AS cancelled, "
        "count(*) FILTER (WHERE customer_id LIKE '%.%') AS dotted, "
        "sum(quantity * unit_price) AS net, "
        "CAST(sum(quantity * CAST(unit_price AS DECIMAL(18, 5))) AS VARCHAR) AS net_exact "
        "FROM orders"
    ).iloc[0]
    assert got["customers"] == len(customers) == 4_372
    assert got["dotted"] == 0
    assert wh.query("SELECT count(*) AS n FROM orders WHERE customer_id = '17850'")["n"].item()
    assert got["cancelled"] == cancelled == 9_288
    assert Decimal(got["net_exact"]) == revenue == Decimal("9769872.054")
    assert got["net"] == pytest.approx(float(revenue), abs=1e-4)


@needs_online_retail
def test_full_file_quarantine_holds_exactly_the_rule_breakers(retail: tuple,
                                                              expected: tuple) -> None:
    wh, _, again, _ = retail
    bad = expected[0]
    q = wh.query("SELECT * FROM quarantine")
    assert set(q["line"]) == bad and len(q) == len(bad)
    # the re-ingest replaced the first run's quarantine rows instead of repeating them
    assert set(q["ingest_id"]) == {again.ingest_id}
    assert set(q["file"]) == {str(ONLINE_RETAIL)}
    assert set(q["column_name"]) == {"quantity", "unit_price"}
    # the two "Adjust bad debt" lines (negative price) at physical lines 299985-6
    neg_price = q[q["column_name"] == "unit_price"]
    assert sorted(neg_price["line"]) == [299_985, 299_986]
    assert neg_price["raw"].str.contains('"InvoiceNo":"A563186"').any()
    assert q["reason"].str.contains("negative quantity").sum() == 1_336
    assert not q["raw"].str.contains("__line").any()
    with ONLINE_RETAIL.open(encoding="utf-8") as fh:
        lines = fh.read().splitlines()
    # the stored line number points at the very record in the file
    for line, raw in q[["line", "raw"]].head(20).itertuples(index=False):
        invoice = raw.split('"InvoiceNo":"')[1].split('"')[0]
        assert lines[line - 1].startswith(invoice + ",")


@needs_online_retail
def test_full_file_reingest_is_idempotent(retail: tuple) -> None:
    wh, first, again, before = retail
    assert again.rows_loaded == 0
    assert again.rows_duplicate == first.rows_loaded
    assert again.rows_quarantined == first.rows_quarantined
    after = digest(wh)
    assert after["orders"] == before["orders"]
    assert after["quarantine"][0] == before["quarantine"][0] == 1_338
    assert after["ingest_log"][0] == 2


# -- transactions ------------------------------------------------------------------------
@pytest.mark.parametrize("exc", [RuntimeError("disk on fire"), KeyboardInterrupt()])
def test_failure_late_in_ingest_changes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                exc: BaseException) -> None:
    wh = Warehouse(tmp_path / "wh.duckdb")
    ingest_file(wh, "orders", SAMPLE, preset="online-retail")
    before = digest(wh)
    real_write = ingest_mod._write
    calls: list[int] = []

    def write_then_fail(*args: object, **kwargs: object) -> None:
        real_write(*args, **kwargs)  # type: ignore[arg-type]
        calls.append(1)
        raise exc

    monkeypatch.setattr(ingest_mod, "_write", write_then_fail)
    changed = tmp_path / "changed.csv"
    changed.write_text(BASE_ORDERS, encoding="utf-8")
    with pytest.raises(type(exc)):
        ingest_file(wh, "orders", changed)
    with pytest.raises(type(exc)):
        ingest_file(wh, "orders", SAMPLE, preset="online-retail")
    assert calls == [1, 1]
    assert digest(wh) == before


_KILL_CHILD = """
import sys, time
from pathlib import Path
from insightloop.storage import ingest as m
from insightloop.storage.warehouse import Warehouse
real = m._write
def slow_write(*a, **k):
    real(*a, **k)
    Path(sys.argv[2]).write_text("written")
    time.sleep(600)
m._write = slow_write
m.ingest_file(Warehouse(sys.argv[1]), "orders", Path(sys.argv[3]), preset="online-retail")
"""


@needs_online_retail
def test_sigkill_mid_ingest_leaves_earlier_content(tmp_path: Path) -> None:
    wh = Warehouse(tmp_path / "wh.duckdb")
    ingest_file(wh, "orders", SAMPLE, preset="online-retail")
    before = digest(wh)
    marker = tmp_path / "marker"
    proc = subprocess.Popen([sys.executable, "-c", _KILL_CHILD, str(wh.path), str(marker),
                             str(ONLINE_RETAIL)])
    try:
        deadline = time.monotonic() + 300
        while not marker.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert marker.exists(), "child never reached the write step"
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert digest(wh) == before
    res = ingest_file(wh, "orders", SAMPLE, preset="online-retail")  # still usable
    assert res.rows_loaded == 0


# -- mapping -----------------------------------------------------------------------------
SOURCE = ("Invoice,SKU,Qty,Price,When,Who\n"
          "X1,P1,2,3.5,2024-01-02 10:00:00,c1\n"
          "X1,P2,1,1.25,2024-01-02 10:00:00,\n")
MAPPING = {"order_id": "Invoice", "product_id": "SKU", "quantity": "Qty",
           "unit_price": "Price", "order_time": "When", "customer_id": "Who"}


@pytest.mark.parametrize("wrapped", [True, False])
def test_yaml_mapping_file(tmp_path: Path, write: Callable[..., Path], wrapped: bool) -> None:
    body = "\n".join(f"  {k}: {v}" if wrapped else f"{k}: {v}" for k, v in MAPPING.items())
    yml = write("map.yaml", ("columns:\n" if wrapped else "") + body + "\n")
    assert load_mapping_file(yml) == MAPPING
    wh = Warehouse(tmp_path / "wh.duckdb")
    res = ingest_file(wh, "orders", write("src.csv", SOURCE), mapping=load_mapping_file(yml))
    assert (res.rows_loaded, res.rows_quarantined) == (2, 0)
    rows = wh.query("SELECT order_id, line_no, customer_id, quantity FROM orders ORDER BY 2")
    assert rows.values.tolist() == [["X1", 1, "c1", 2], ["X1", 2, None, 1]]


def test_bad_yaml_mapping_file(write: Callable[..., Path]) -> None:
    with pytest.raises(ConfigError, match="must map canonical names"):
        load_mapping_file(write("bad.yaml", "- just\n- a list\n"))
    with pytest.raises(ConfigError, match="cannot read mapping file"):
        load_mapping_file(write("broken.yaml", "columns: {order_id: [\n"))


def test_same_name_matching_is_case_and_punctuation_insensitive(
        tmp_path: Path, write: Callable[..., Path]) -> None:
    src = write("src.csv", "Order ID,PRODUCT_ID,Quantity,Unit-Price,order_time\n"
                           "X1,P1,2,3.5,2024-01-02\n")
    wh = Warehouse(tmp_path / "wh.duckdb")
    assert ingest_file(wh, "orders", src).rows_loaded == 1
    assert wh.query("SELECT unit_price FROM orders")["unit_price"].item() == 3.5


def test_explicit_map_overrides_same_name(tmp_path: Path, write: Callable[..., Path]) -> None:
    src = write("src.csv", "order_id,product_id,quantity,unit_price,order_time,net_price\n"
                           "X1,P1,2,3.5,2024-01-02,3.0\n")
    wh = Warehouse(tmp_path / "wh.duckdb")
    ingest_file(wh, "orders", src, mapping={"unit_price": "net_price"})
    assert wh.query("SELECT unit_price FROM orders")["unit_price"].item() == 3.0


def test_unknown_canonical_name_and_absent_source(tmp_path: Path,
                                                  write: Callable[..., Path]) -> None:
    wh = Warehouse(tmp_path / "wh.duckdb")
    src = write("src.csv", SOURCE)
    with pytest.raises(SchemaError, match=r"unknown orders column\(s\) \['invoice_no'\]"):
        ingest_file(wh, "orders", src, mapping={**MAPPING, "invoice_no": "Invoice"})
    with pytest.raises(SchemaError, match=r"'Nope' \(for order_id\)"):
        ingest_file(wh, "orders", src, mapping={**MAPPING, "order_id": "Nope"})
    with pytest.raises(ConfigError, match="is for table 'orders'"):
        ingest_file(wh, "customers", src, preset="online-retail")
    with pytest.raises(ConfigError, match="unknown preset"):
        ingest_file(wh, "orders", src, preset="shopify")
    with pytest.raises(SchemaError, match="unknown table 'order'"):
        ingest_file(wh, "order", src)
