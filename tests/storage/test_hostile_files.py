"""Hostile files ingested over a good warehouse: no SQL runs, nothing loaded changes.

Every file of :mod:`hostile_corpus` is ingested into a private copy of the sample
warehouse (the bundled Online Retail sample, ingested and profiled). Either the ingest
stops with one clear line naming the file, and the warehouse is exactly as before; or
it loads, the accounting holds, no table is created, no table other than the target,
``quarantine`` and ``ingest_log`` changes, and every row the target held is still there.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from hostile_corpus import INJECTION, Case, cases, orders
from ingest_helpers import snapshot

from insightloop.errors import InsightloopError
from insightloop.storage.ingest import IngestResult, ingest_file
from insightloop.storage.warehouse import Warehouse

CASES = cases()


@pytest.fixture
def good_wh(sample_warehouse: Path, tmp_path: Path) -> Path:
    path = tmp_path / "wh.duckdb"
    shutil.copy(sample_warehouse, path)
    return path


def test_corpus_has_more_than_45_kinds() -> None:
    assert len({c.name for c in CASES}) == len(CASES) > 45


def _ingest_case(case: Case, wh: Path, folder: Path
                 ) -> tuple[Path, IngestResult | InsightloopError]:
    path = folder / case.filename
    path.write_bytes(case.data)
    try:
        return path, ingest_file(Warehouse(wh), case.table, path, **case.options)  # type: ignore[arg-type]
    except InsightloopError as exc:
        return path, exc


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_file(case: Case, good_wh: Path, tmp_path: Path) -> None:
    before = snapshot(good_wh)
    path, outcome = _ingest_case(case, good_wh, tmp_path)
    after = snapshot(good_wh)
    assert set(after) == set(before), "a table was created or dropped"
    if case.expect != "load":
        assert isinstance(outcome, InsightloopError), f"expected an error, got {outcome}"
        message = str(outcome)
        assert "\n" not in message and "\r" not in message
        assert str(path) in message and case.expect in message
        assert after == before
        return
    assert isinstance(outcome, IngestResult), f"expected a load, got: {outcome}"
    res = outcome
    assert res.rows_in == res.rows_loaded + res.rows_quarantined + res.rows_duplicate
    assert res.rows_updated == 0
    for name in set(before) - {case.table, "quarantine", "ingest_log"}:
        assert after[name] == before[name], f"table {name} changed"
    assert not before[case.table] - after[case.table], f"rows of {case.table} changed"
    assert (after[case.table] - before[case.table]).total() == res.rows_loaded
    assert (after["ingest_log"] - before["ingest_log"]).total() == 1
    assert (after["quarantine"] - before["quarantine"]).total() == res.rows_quarantined


def _rows(wh: Path, sql: str) -> list[tuple[object, ...]]:
    return [tuple(r) for r in Warehouse(wh).query(sql).values.tolist()]


def test_injection_header_loads_as_a_plain_column(good_wh: Path, tmp_path: Path) -> None:
    """The issue's file: the column is data, the orders stay, no table appears."""
    orders_before = _rows(good_wh, "SELECT count(*) FROM orders")
    case = next(c for c in CASES if c.name == "injection_header_customers")
    _, res = _ingest_case(case, good_wh, tmp_path)
    assert isinstance(res, IngestResult) and res.rows_loaded == 2
    assert _rows(good_wh, "SELECT count(*) FROM orders") == orders_before
    assert _rows(good_wh, "SELECT customer_id, email FROM customers ORDER BY 1") == [
        ("c1", "a@x"), ("c2", "b@x")]


def test_mapped_injection_column_carries_the_values(good_wh: Path, tmp_path: Path) -> None:
    case = next(c for c in CASES if c.name == "injection_mapped_column")
    _, res = _ingest_case(case, good_wh, tmp_path)
    assert isinstance(res, IngestResult) and res.rows_loaded == 1
    assert _rows(good_wh, "SELECT customer_id FROM orders WHERE order_id = 'H1'") == [("c1",)]


def test_case_duplicate_names_are_renamed_and_noted(good_wh: Path, tmp_path: Path) -> None:
    case = next(c for c in CASES if c.name == "case_duplicate_names")
    _, res = _ingest_case(case, good_wh, tmp_path)
    assert isinstance(res, IngestResult)
    assert any("'email' -> 'email_2'" in n and "'EMAIL' -> 'EMAIL_3'" in n for n in res.notes)


def test_cli_refusal_is_one_line_without_traceback(good_wh: Path, tmp_path: Path) -> None:
    bad = tmp_path / "book.csv"
    bad.write_bytes(next(c for c in CASES if c.name == "xlsx_renamed").data)
    proc = subprocess.run(
        [sys.executable, "-m", "insightloop.cli.main", "ingest", "orders", str(bad),
         "-w", str(good_wh), "--json"],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert proc.returncode == 2 and proc.stdout == ""  # bad input: exit 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert "InputFileError" in lines[0] and str(bad) in lines[0]
    assert "zip archive" in lines[0]


def test_cli_injection_header_is_data(good_wh: Path, tmp_path: Path) -> None:
    src = tmp_path / "o.csv"
    src.write_text(orders({INJECTION: "v"}), encoding="utf-8")
    before = snapshot(good_wh)
    proc = subprocess.run(
        [sys.executable, "-m", "insightloop.cli.main", "ingest", "orders", str(src),
         "-w", str(good_wh), "--json"],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    after = snapshot(good_wh)
    assert set(after) == set(before)
    assert not before["orders"] - after["orders"]
    assert (after["orders"] - before["orders"]).total() == 2
    assert Counter(after["profiles"]) == Counter(before["profiles"])
