"""The ingest shortcuts (issue 20) load exactly what the general path loads.

* ISO 8601 dates are verified by the typed build itself: no separate date-decision scan,
  while other dates are still decided from the data (or refused) as before;
* ``line_no`` numbered from file order: orders whose lines are split (interleaved, or ids
  written two ways) are numbered 1..n in file order;
* streaming a first load (``STREAM_ROWS``): the same rows, quarantine and accounting as
  the typed copy, on the packaged Online Retail sample (36,612 lines: 36,585 loaded, 27
  quarantined);
* the ingest path binds no DuckDB parameter, so paths with quotes are written verbatim;
* a CSV whose line count (taken with its SHA-256) is header + records skips the search for
  records spread over several lines; one that has such records is still numbered by
  physical line.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from ingest_helpers import SAMPLE

from insightloop.errors import InputFileError
from insightloop.storage import dates, ingest
from insightloop.storage.ingest import ingest_file
from insightloop.storage.warehouse import Warehouse

HEADER = "order_id,product_id,quantity,unit_price,order_time,customer_id\n"


def _rows(wh: Warehouse, sql: str) -> list[tuple[Any, ...]]:
    with wh.connect(read_only=True) as con:
        return con.execute(sql).fetchall()


def _no_decision(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    real = dates.decide_formats

    def counted(*args: Any, **kwargs: Any) -> dates.DateDecision:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(dates, "decide_formats", counted)
    return calls


def test_iso_dates_skip_the_decision_scan(tmp_path: Path, write: Callable[..., Path],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _no_decision(monkeypatch)
    path = write("iso.csv", HEADER + "A,P1,1,2.0,2024-01-02 10:00:00,c1\n"
                 "B,P2,2,1.5,2024-01-03T08:00:00+01:00,c2\n")
    res = ingest_file(Warehouse(tmp_path / "w.duckdb"), "orders", path)
    assert (res.rows_loaded, res.notes, calls) == (2, [], [])
    assert _rows(Warehouse(tmp_path / "w.duckdb"), "SELECT order_time::VARCHAR FROM orders "
                 "ORDER BY order_id") == [("2024-01-02 10:00:00",), ("2024-01-03 07:00:00",)]


def test_other_dates_are_still_decided_from_the_data(
        tmp_path: Path, write: Callable[..., Path], monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _no_decision(monkeypatch)
    path = write("dmy.csv", HEADER + "A,P1,1,2.0,25/01/2024 10:00,c1\n"
                 "B,P2,2,1.5,2024-02-03 08:00:00,c2\nC,P3,1,1.0,not a date,c3\n")
    res = ingest_file(Warehouse(tmp_path / "w.duckdb"), "orders", path)
    assert calls == [1] and (res.rows_loaded, res.rows_quarantined) == (2, 1)
    assert any("day-first" in n for n in res.notes)
    wh = Warehouse(tmp_path / "w.duckdb")
    assert _rows(wh, "SELECT order_id, order_time::VARCHAR FROM orders ORDER BY 1") == [
        ("A", "2024-01-25 10:00:00"), ("B", "2024-02-03 08:00:00")]
    (reason,) = _rows(wh, "SELECT reason FROM quarantine")[0]
    assert "not a date" in reason and "day-first" in reason  # the formats tried


def test_ambiguous_dates_are_still_refused(tmp_path: Path, write: Callable[..., Path]) -> None:
    path = write("amb.csv", HEADER + "A,P1,1,2.0,04/01/2024,c1\nB,P2,2,1.5,2024-01-02,c2\n")
    with pytest.raises(InputFileError, match="ambiguous"):
        ingest_file(Warehouse(tmp_path / "w.duckdb"), "orders", path)


@pytest.mark.parametrize("stream", [False, True])
def test_split_orders_are_numbered_in_file_order(
        tmp_path: Path, write: Callable[..., Path], monkeypatch: pytest.MonkeyPatch,
        stream: bool) -> None:
    if stream:
        monkeypatch.setattr(ingest, "STREAM_ROWS", 0)
    # 100 is split by 200, and written "100.0" once (the same order once normalised).
    path = write("split.csv", HEADER + "100,P1,1,1.0,2024-01-01,c\n200,P2,1,1.0,2024-01-01,c\n"
                 "100.0,P3,1,1.0,2024-01-01,c\n300,P4,1,1.0,2024-01-01,c\n"
                 "300,P5,1,1.0,2024-01-01,c\n")
    wh = Warehouse(tmp_path / "w.duckdb")
    assert ingest_file(wh, "orders", path).rows_loaded == 5
    assert _rows(wh, "SELECT order_id, line_no, product_id FROM orders ORDER BY 1, 2") == [
        ("100", 1, "P1"), ("100", 2, "P3"), ("200", 1, "P2"), ("300", 1, "P4"),
        ("300", 2, "P5")]
    again = ingest_file(wh, "orders", path)  # the same keys: every row a duplicate
    assert (again.rows_loaded, again.rows_duplicate) == (0, 5)


ORDER_COLS = ("order_id, line_no, customer_id, product_id, quantity, unit_price, "
              "order_time, channel, status, country, description, currency")


@pytest.fixture(scope="module")
def sample_loads(tmp_path_factory: pytest.TempPathFactory) -> dict[bool, Warehouse]:
    """The packaged Online Retail sample loaded with the typed copy and streamed."""
    out = {}
    for stream in (False, True):
        wh = Warehouse(tmp_path_factory.mktemp(f"stream{stream}") / "w.duckdb")
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(ingest, "STREAM_ROWS", 0 if stream else 10**12)
            res = ingest_file(wh, "orders", SAMPLE, preset="online-retail")
        assert (res.rows_in, res.rows_loaded, res.rows_quarantined, res.rows_duplicate) == (
            36612, 36585, 27, 0)
        out[stream] = wh
    return out


def test_streamed_load_equals_the_typed_copy(sample_loads: dict[bool, Warehouse]) -> None:
    orders = f"SELECT {ORDER_COLS} FROM orders ORDER BY order_id, line_no"
    quarantine = "SELECT line, column_name, reason, raw FROM quarantine ORDER BY line"
    assert _rows(sample_loads[True], orders) == _rows(sample_loads[False], orders)
    assert _rows(sample_loads[True], quarantine) == _rows(sample_loads[False], quarantine)
    assert len(_rows(sample_loads[True], quarantine)) == 27


def test_streamed_first_load_then_reload_is_idempotent(
        sample_loads: dict[bool, Warehouse], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ingest, "STREAM_ROWS", 0)  # not empty any more: the general path
    res = ingest_file(sample_loads[True], "orders", SAMPLE, preset="online-retail")
    assert (res.rows_loaded, res.rows_duplicate, res.rows_quarantined) == (0, 36585, 27)


def test_paths_with_quotes_are_logged_verbatim(tmp_path: Path) -> None:
    path = tmp_path / "it's \"q\".csv"
    path.write_text(HEADER + "A,P1,1,2.0,2024-01-02,c1\nB,P1,x,2.0,2024-01-02,c1\n",
                    encoding="utf-8")
    wh = Warehouse(tmp_path / "w.duckdb")
    assert ingest_file(wh, "orders", path).rows_quarantined == 1
    assert _rows(wh, "SELECT file FROM ingest_log") == [(str(path.resolve()),)]
    assert _rows(wh, "SELECT file, line FROM quarantine") == [(str(path), 3)]


def _searches(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The statements that look for records spread over several lines."""
    from insightloop.storage import readers_csv

    seen: list[str] = []
    real = readers_csv.execute_temp

    def logged(con: Any, sql: str, *args: Any) -> Any:
        if "contains(" in sql:
            seen.append(sql)
        return real(con, sql, *args)

    monkeypatch.setattr(readers_csv, "execute_temp", logged)
    return seen


@pytest.mark.parametrize("last_newline", [True, False])
def test_one_line_records_skip_the_search_for_multiline_ones(
        tmp_path: Path, write: Callable[..., Path], monkeypatch: pytest.MonkeyPatch,
        last_newline: bool) -> None:
    # the file's lines (counted with its SHA-256) = header + records: no record can span
    # two lines, so the search is skipped; the line numbers are the same as before
    seen = _searches(monkeypatch)
    body = HEADER + "A,P1,1,2.0,2024-01-02,c1\nB,P1,0,2.0,2024-01-02,c1\nC,P2,1,1,2024-01-02,c1"
    path = write("one.csv", body + ("\n" if last_newline else ""))
    wh = Warehouse(tmp_path / "w.duckdb")
    res = ingest_file(wh, "orders", path)
    assert (res.rows_in, res.rows_loaded, seen) == (3, 2, [])
    assert _rows(wh, "SELECT line FROM quarantine") == [(3,)]


@pytest.mark.parametrize("tail", ["", "\n\n"])
def test_multiline_records_are_still_found_and_numbered_by_physical_line(
        tmp_path: Path, write: Callable[..., Path], monkeypatch: pytest.MonkeyPatch,
        tail: str) -> None:
    seen = _searches(monkeypatch)
    path = write("ml.csv", HEADER                          # line 1
                 + 'A,"P\n1",1,2.0,2024-01-02,c1\n'        # lines 2-3
                 + "B,P1,0,2.0,2024-01-02,c1\n"            # line 4: zero quantity
                 + "C,P2,1,1,2024-01-02,c1\n" + tail)      # line 5 (blank lines after)
    wh = Warehouse(tmp_path / "w.duckdb")
    res = ingest_file(wh, "orders", path)
    assert (res.rows_in, res.rows_loaded, len(seen)) == (3, 2, 1)
    assert _rows(wh, "SELECT line FROM quarantine") == [(4,)]
    assert _rows(wh, "SELECT product_id FROM orders ORDER BY order_id") == [("P\n1",), ("P2",)]
