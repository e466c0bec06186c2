"""Bad input: clear errors or exact quarantine rows, and nothing loaded earlier is lost."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from ingest_helpers import ORDERS_HEADER, digest

from insightloop.errors import InputFileError, SchemaError
from insightloop.storage.ingest import IngestResult, ingest_file
from insightloop.storage.readers import MAX_FIELD_BYTES
from insightloop.storage.warehouse import Warehouse

BASE_KEYS = [("B1", 1), ("B1", 2), ("B2", 1)]


def _keys(wh: Warehouse) -> list[tuple[str, int]]:
    rows = wh.query("SELECT order_id, line_no FROM orders ORDER BY 1, 2").values.tolist()
    return [(str(o), int(n)) for o, n in rows]


def _quarantine(wh: Warehouse, res: IngestResult) -> list[list[object]]:
    return wh.query("SELECT line, column_name, reason FROM quarantine WHERE ingest_id = ? "
                    "ORDER BY line", [res.ingest_id]).values.tolist()


def _check_accounting(res: IngestResult) -> None:
    assert res.rows_in == res.rows_loaded + res.rows_quarantined + res.rows_duplicate


# -- errors that stop the ingest: the warehouse is untouched ---------------------------------
def test_wrong_delimiter_names_the_hint(base_wh: Warehouse, write: Callable[..., Path]) -> None:
    before = digest(base_wh)
    path = write("semi.csv", (ORDERS_HEADER + "A1,P1,2,3.5,2024-01-02,c1\n").replace(",", ";"))
    with pytest.raises(SchemaError) as err:
        ingest_file(base_wh, "orders", path, delimiter=",")
    msg = str(err.value)
    assert str(path) in msg and "line 1" in msg
    assert "single column" in msg and "--delimiter" in msg
    assert digest(base_wh) == before


def test_missing_required_columns(base_wh: Warehouse, write: Callable[..., Path]) -> None:
    before = digest(base_wh)
    path = write("few.csv", "order_id,quantity\nA1,2\n")
    with pytest.raises(SchemaError) as err:
        ingest_file(base_wh, "orders", path)
    msg = str(err.value)
    assert f"{path}, line 1: required orders column(s) ['product_id', 'unit_price', " \
           "'order_time'] not found" in msg
    assert "['order_id', 'quantity']" in msg and "--map" in msg
    assert digest(base_wh) == before


@pytest.mark.parametrize("content", [b"", b"   \n\n"])
def test_empty_file(base_wh: Warehouse, write: Callable[..., Path], content: bytes) -> None:
    before = digest(base_wh)
    path = write("empty.csv", content)
    with pytest.raises(InputFileError, match=str(path)):
        ingest_file(base_wh, "orders", path)
    assert digest(base_wh) == before


def test_missing_file_and_folder(base_wh: Warehouse, tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="does not exist"):
        ingest_file(base_wh, "orders", tmp_path / "nope.csv")
    with pytest.raises(InputFileError, match="is a folder"):
        ingest_file(base_wh, "orders", tmp_path)


def test_header_only_file_loads_zero_rows(base_wh: Warehouse, write: Callable[..., Path]) -> None:
    res = ingest_file(base_wh, "orders", write("h.csv", ORDERS_HEADER))
    assert (res.rows_in, res.rows_loaded, res.rows_quarantined, res.rows_duplicate) == (0, 0, 0, 0)
    assert _keys(base_wh) == BASE_KEYS
    assert base_wh.query("SELECT count(*) AS n FROM ingest_log")["n"].item() == 2


# -- bad records: quarantined with file, line, column and reason ------------------------------
def test_broken_quoting(base_wh: Warehouse, write: Callable[..., Path]) -> None:
    path = write("q.csv", ORDERS_HEADER
                 + "A1,P1,2,3.5,2024-01-02,c1\n"
                 + 'A2,"P2"oops,1,1.0,2024-01-02,c1\n'
                 + 'A3,P"3,1,1.0,2024-01-02,c1\n'       # a stray quote inside a value is data
                 + "A4,P4,1,1.0,2024-01-02,c1,extra\n"
                 + "A5,P5,1,1.0,2024-01-02,c1\n")
    res = ingest_file(base_wh, "orders", path)
    _check_accounting(res)
    assert (res.rows_in, res.rows_loaded, res.rows_quarantined) == (5, 3, 2)
    q = base_wh.query("SELECT file, line, column_name, reason, raw FROM quarantine "
                      "WHERE ingest_id = ? ORDER BY line", [res.ingest_id])
    assert set(q["file"]) == {str(path)}
    assert q["line"].tolist() == [3, 5]
    assert q["column_name"].tolist()[0] == "product_id"
    assert q["reason"].str.startswith("unparseable record: ").all()
    assert "unterminated quote" in q["reason"][0]
    assert "TOO MANY COLUMNS" in q["reason"][1]
    assert q["raw"].tolist() == ['A2,"P2"oops,1,1.0,2024-01-02,c1',
                                 "A4,P4,1,1.0,2024-01-02,c1,extra"]
    assert _keys(base_wh) == [("A1", 1), ("A3", 1), ("A5", 1), *BASE_KEYS]


def test_unterminated_quote_keeps_the_rest_verbatim(base_wh: Warehouse,
                                                    write: Callable[..., Path]) -> None:
    tail = 'A2,"P2,1,1.0,2024-01-02,c1\nA3,P3,1,1.0,2024-01-02,c1\n'
    res = ingest_file(base_wh, "orders", write("u.csv", ORDERS_HEADER
                                              + "A1,P1,2,3.5,2024-01-02,c1\n" + tail))
    _check_accounting(res)
    assert (res.rows_loaded, res.rows_quarantined) == (1, 1)
    raw = base_wh.query("SELECT line, raw FROM quarantine").values.tolist()
    assert raw == [[3, tail]]  # nothing lost: the swallowed line is kept in the raw record
    assert _keys(base_wh) == [("A1", 1), *BASE_KEYS]


def test_unparseable_dates(base_wh: Warehouse, write: Callable[..., Path]) -> None:
    # 22/01/2024 decides day-first (see test_date_formats.py for every case)
    res = ingest_file(base_wh, "orders", write("d.csv", ORDERS_HEADER
                                              + "A1,P1,2,3.5,not-a-date,c1\n"
                                              + "A2,P1,2,3.5,2024-13-45,c1\n"
                                              + "A3,P1,2,3.5,22/01/2024 10:00,c1\n"
                                              + "A4,P1,2,3.5,2024-01-02T10:00:00,c1\n"
                                              + "A5,P1,2,3.5,2999-01-01,c1\n"))
    _check_accounting(res)
    got = [[line, col, str(reason).split(" (formats tried: ")[0]]
           for line, col, reason in _quarantine(base_wh, res)]
    assert got == [
        [2, "order_time", "order_time: not a valid timestamp: 'not-a-date'"],
        [3, "order_time", "order_time: not a valid timestamp: '2024-13-45'"],
        [6, "order_time", "order_time: timestamp 2999-01-01 00:00:00 is in the future"],
    ]
    got_a3 = base_wh.query("SELECT order_time FROM orders WHERE order_id = 'A3'")["order_time"]
    assert str(got_a3.item()) == "2024-01-22 10:00:00"
    # an explicit format makes the day-first date valid
    res2 = ingest_file(base_wh, "orders", write("d2.csv", ORDERS_HEADER
                                                + "A3,P1,2,3.5,02/01/2024 10:00,c1\n"),
                       timestamp_formats=("%d/%m/%Y %H:%M",))
    assert res2.rows_loaded == 1
    got = base_wh.query("SELECT order_time FROM orders WHERE order_id = 'A3'")["order_time"]
    assert str(got.item()) == "2024-01-02 10:00:00"
    assert _keys(base_wh)[:3] == [("A3", 1), ("A4", 1), *BASE_KEYS][:3]


def test_negative_prices_and_quantities(base_wh: Warehouse, write: Callable[..., Path]) -> None:
    res = ingest_file(base_wh, "orders", write("n.csv", ORDERS_HEADER
                                              + "A1,P1,2,-3.5,2024-01-02,c1\n"
                                              + "A2,P1,-2,3.5,2024-01-02,c1\n"
                                              + "A3,P1,0,3.5,2024-01-02,c1\n"
                                              + "A4,P1,2.5,3.5,2024-01-02,c1\n"
                                              + "A5,P1,2,abc,2024-01-02,c1\n"
                                              + "A6,P1,2,3.5,2024-01-02,c1\n"))
    _check_accounting(res)
    assert (res.rows_loaded, res.rows_quarantined) == (2, 4)
    # quantity -2 loads as a return (status derived from the sign)
    assert base_wh.query("SELECT status FROM orders WHERE order_id = 'A2'")["status"].item() == \
        "returned"
    assert _quarantine(base_wh, res) == [
        [2, "unit_price", "unit_price: value -3.5 is below the minimum 0"],
        [4, "quantity", "quantity: zero is not allowed"],
        [5, "quantity", "quantity: not a valid int: '2.5'"],
        [6, "unit_price", "unit_price: not a valid float: 'abc'"],
    ]


def test_negative_quantity_on_completed_status(base_wh: Warehouse,
                                               write: Callable[..., Path]) -> None:
    res = ingest_file(base_wh, "orders", write("s.csv", ORDERS_HEADER.strip() + ",status\n"
                                              + "A1,P1,-2,3.5,2024-01-02,c1,completed\n"
                                              + "A2,P1,-2,3.5,2024-01-02,c1,cancelled\n"
                                              + "A3,P1,2,3.5,2024-01-02,c1,lost\n"))
    assert _quarantine(base_wh, res) == [
        [2, "quantity", "quantity: negative quantity -2 on a completed line (only "
                        "cancelled/returned lines may be negative)"],
        [4, "status", "status: value 'lost' is not one of completed, cancelled, returned, "
                      "pending"],
    ]


def test_duplicate_keys_in_one_file(tmp_path: Path, write: Callable[..., Path]) -> None:
    wh = Warehouse(tmp_path / "wh.duckdb")
    res = ingest_file(wh, "customers", write("c.csv", "customer_id,email,country\n"
                                             "c1,a@x,UK\n"
                                             "c2,b@x,FR\n"
                                             "c1,z@x,UK\n"
                                             "c2,b@x,FR\n"
                                             "c3.0,c@x,\n"))
    _check_accounting(res)
    assert (res.rows_in, res.rows_loaded, res.rows_quarantined, res.rows_duplicate) == (5, 3, 1, 1)
    assert _quarantine(wh, res) == [
        [4, None, "duplicate key (customer_id=c1) first seen on line 2 with different values"]]
    assert wh.query("SELECT customer_id, email FROM customers ORDER BY 1").values.tolist() == [
        ["c1", "a@x"], ["c2", "b@x"], ["c3", "c@x"]]
    # a later file with a changed value wins (newer export); identical rows are duplicates
    res2 = ingest_file(wh, "customers", write("c2.csv", "customer_id,email,country\n"
                                              "c1,new@x,UK\nc2,b@x,FR\n"))
    assert (res2.rows_loaded, res2.rows_updated, res2.rows_duplicate) == (1, 1, 1)
    assert wh.query("SELECT email FROM customers WHERE customer_id = 'c1'")["email"].item() == \
        "new@x"
    assert wh.query("SELECT count(*) AS n FROM customers")["n"].item() == 3


def test_foreign_keys_checked_against_non_empty_tables(tmp_path: Path,
                                                       write: Callable[..., Path]) -> None:
    wh = Warehouse(tmp_path / "wh.duckdb")
    orders = write("o.csv", ORDERS_HEADER + "A1,P1,1,1,2024-01-02,c1\n"
                                            "A2,P1,1,1,2024-01-02,c9\n"
                                            "A3,P1,1,1,2024-01-02,\n")
    ingest_file(wh, "customers", write("c.csv", "customer_id\nc1\nc2\n"))
    res = ingest_file(wh, "orders", orders)
    _check_accounting(res)
    assert (res.rows_loaded, res.rows_quarantined) == (2, 1)  # guest line (no customer) is fine
    assert _quarantine(wh, res) == [
        [3, "customer_id", "customer_id: unknown customer_id 'c9' (not in customers)"]]
    # products are empty: product_id is not checked until that table has rows
    ingest_file(wh, "products", write("p.csv", "product_id\nP2\n"))
    res2 = ingest_file(wh, "orders", orders)
    assert res2.rows_quarantined == 3 and res2.rows_duplicate == 0
    assert {r[2] for r in _quarantine(wh, res2)} >= {
        "product_id: unknown product_id 'P1' (not in products)"}
    assert _keys(wh) == [("A1", 1), ("A3", 1)]


def test_huge_field_quarantined_above_limit(base_wh: Warehouse,
                                            write: Callable[..., Path]) -> None:
    head = "order_id,product_id,quantity,unit_price,order_time,description\n"
    over = "x" * (MAX_FIELD_BYTES + 1024)
    under = "y" * (MAX_FIELD_BYTES - 1024 * 1024)
    res = ingest_file(base_wh, "orders", write("big.csv", head
                                              + "A1,P1,1,1,2024-01-02,small\n"
                                              + f"A2,P2,1,1,2024-01-02,{over}\n"
                                              + f"A3,P3,1,1,2024-01-02,{under}\n"
                                              + "A4,P4,1,1,2024-01-02,ok\n"))
    _check_accounting(res)
    assert (res.rows_in, res.rows_loaded, res.rows_quarantined) == (4, 3, 1)
    q = base_wh.query("SELECT line, reason, raw FROM quarantine").iloc[0]
    assert q["line"] == 3 and "LINE SIZE OVER MAXIMUM" in q["reason"]
    assert q["raw"] == f"A2,P2,1,1,2024-01-02,{over}"  # re-read whole: nothing lost
    got = base_wh.query("SELECT order_id, length(description) AS n FROM orders "
                        "WHERE order_id LIKE 'A%' ORDER BY 1").values.tolist()
    assert got == [["A1", 5], ["A3", len(under)], ["A4", 2]]
    assert _keys(base_wh)[-3:] == BASE_KEYS


@pytest.mark.parametrize("tail", ["A2,P2,1,1.0,2024-0", 'A2,"P2,1,1.0,2024-0'])
def test_truncated_last_line(base_wh: Warehouse, write: Callable[..., Path], tail: str) -> None:
    res = ingest_file(base_wh, "orders", write("t.csv", ORDERS_HEADER
                                              + "A1,P1,2,3.5,2024-01-02,c1\n" + tail))
    _check_accounting(res)
    assert (res.rows_in, res.rows_loaded, res.rows_quarantined) == (2, 1, 1)
    q = base_wh.query("SELECT line, reason, raw FROM quarantine").values.tolist()
    assert q[0][0] == 3 and q[0][1].startswith("unparseable record: ") and q[0][2] == tail
    assert _keys(base_wh) == [("A1", 1), *BASE_KEYS]


def test_bad_file_reingested_does_not_duplicate_quarantine(
        base_wh: Warehouse, write: Callable[..., Path]) -> None:
    path = write("n.csv", ORDERS_HEADER + "A1,P1,2,-3.5,2024-01-02,c1\n"
                                          'A2,"P2"x,1,1,2024-01-02,c1\n'
                                          "A3,P1,2,3.5,2024-01-02,c1\n")
    first = ingest_file(base_wh, "orders", path)
    again = ingest_file(base_wh, "orders", path)
    assert (again.rows_loaded, again.rows_duplicate, again.rows_quarantined) == (0, 1, 2)
    q = base_wh.query("SELECT ingest_id, line FROM quarantine ORDER BY line").values.tolist()
    assert q == [[again.ingest_id, 2], [again.ingest_id, 3]]
    assert first.ingest_id != again.ingest_id
    assert len(_keys(base_wh)) == 4
