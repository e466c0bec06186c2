"""Tables whose key is derived from content (events, reviews, sends) ingest idempotently."""

from __future__ import annotations

from pathlib import Path

from insightloop.storage.ingest import ingest_file
from insightloop.storage.warehouse import Warehouse


def test_events_without_ids_get_content_keys(tmp_path: Path) -> None:
    wh = Warehouse(tmp_path / "w.duckdb")
    path = tmp_path / "events.jsonl"
    path.write_text(
        '{"customer_id": "c1", "event_type": "view", "event_time": "2024-01-01T10:00:00"}\n'
        '{"customer_id": "c1", "event_type": "cart", "event_time": "2024-01-01T10:05:00",'
        ' "product_id": "P1"}\n'
        '{"customer_id": "c1", "event_type": "view", "event_time": "2024-01-01T10:00:00"}\n'
    )
    first = ingest_file(wh, "events", path)
    # The third line repeats the first exactly: same derived key, counted as a duplicate.
    assert (first.rows_in, first.rows_loaded, first.rows_duplicate) == (3, 2, 1)
    ids = wh.query("SELECT event_id FROM events")["event_id"]
    assert ids.str.fullmatch(r"[0-9a-f]{32}").all() and ids.is_unique
    again = ingest_file(wh, "events", path)
    assert (again.rows_loaded, again.rows_duplicate) == (0, 3)
    assert len(wh.table("events")) == 2


def test_mixed_line_endings_load_with_line_numbers(tmp_path: Path) -> None:
    wh = Warehouse(tmp_path / "w.duckdb")
    path = tmp_path / "mixed.csv"
    # Two exports concatenated: the first with CRLF, the second with LF.
    path.write_bytes(b"customer_id,birth_year\r\nc1,1980\r\nc2,1975\r\n"
                     b"c3,not-a-year\nc4,1990\n")
    res = ingest_file(wh, "customers", path)
    assert (res.rows_in, res.rows_loaded, res.rows_quarantined) == (4, 3, 1)
    assert "mixed CRLF/LF" in " ".join(res.notes)
    q = wh.query("SELECT line, column_name FROM quarantine").values.tolist()
    assert q == [[4, "birth_year"]]


def test_line_numbers_within_orders_in_file_order(tmp_path: Path) -> None:
    wh = Warehouse(tmp_path / "w.duckdb")
    path = tmp_path / "orders.csv"
    head = "order_id,product_id,quantity,unit_price,order_time\n"
    body = ["A,P1,1,1,2024-01-01", "A,P2,1,1,2024-01-01", "B,P1,1,1,2024-01-02",
            "A,P3,1,1,2024-01-01",  # A interleaved with B: numbered by the window path
            "C,P1,1,1,2024-01-03", "C,P2,2,1,2024-01-03",  # contiguous: offset path
            "D,P1,x,1,2024-01-04", "D,P2,1,1,2024-01-04"]  # first line quarantined
    path.write_text(head + "\n".join(body) + "\n")
    res = ingest_file(wh, "orders", path)
    assert (res.rows_loaded, res.rows_quarantined) == (7, 1)
    got = wh.query("SELECT order_id, line_no, product_id FROM orders ORDER BY 1, 2")
    assert got.values.tolist() == [["A", 1, "P1"], ["A", 2, "P2"], ["A", 3, "P3"],
                                   ["B", 1, "P1"], ["C", 1, "P1"], ["C", 2, "P2"],
                                   ["D", 2, "P2"]]
    again = ingest_file(wh, "orders", path)
    assert (again.rows_loaded, again.rows_duplicate) == (0, 7)
