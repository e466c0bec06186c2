"""File formats, encodings and delimiters: every record staged with its physical line."""

from __future__ import annotations

import gzip
import tempfile
from collections.abc import Callable
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from ingest_helpers import ORDERS_HEADER

from insightloop.storage.ingest import IngestResult, ingest_file
from insightloop.storage.readers import detect_format, stage_file
from insightloop.storage.readers_csv import sniff_header
from insightloop.storage.warehouse import Warehouse

ROWS = ("A1,P1,2,3.5,2024-01-02 10:00:00,c1\n"
        "A1,P2,1,1.25,2024-01-02 10:00:00,17850.0\n"
        "A2,P1,-1,3.5,2024-01-03,c1\n")
EXPECTED = [["A1", 1, "c1", "P1", 2, 3.5, "completed"],
            ["A1", 2, "17850", "P2", 1, 1.25, "completed"],
            ["A2", 1, "c1", "P1", -1, 3.5, "returned"]]


def _loaded(wh: Warehouse) -> list[list[object]]:
    return wh.query("SELECT order_id, line_no, customer_id, product_id, quantity, unit_price, "
                    "status FROM orders ORDER BY order_id, line_no").values.tolist()


def _ingest(tmp_path: Path, path: Path, **kw: object) -> tuple[Warehouse, IngestResult]:
    wh = Warehouse(tmp_path / "wh.duckdb")
    return wh, ingest_file(wh, "orders", path, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(("name", "delim"), [("semi.csv", ";"), ("tab.tsv", "\t"),
                                             ("pipe.txt", "|"), ("comma.csv", ",")])
def test_delimiters_are_sniffed(tmp_path: Path, write: Callable[..., Path], name: str,
                                delim: str) -> None:
    path = write(name, (ORDERS_HEADER + ROWS).replace(",", delim))
    wh, res = _ingest(tmp_path, path)
    assert (res.delimiter, res.rows_loaded, res.rows_quarantined) == (delim, 3, 0)
    assert _loaded(wh) == EXPECTED


def test_sniffer_prefers_delimiter_outside_quotes(write: Callable[..., Path]) -> None:
    path = write("q.csv", '"a;b","c;d",e\n1,2,3\n')
    header = sniff_header(path)
    assert (header.delimiter, header.names, header.lines, header.notes) == (
        ",", ["a;b", "c;d", "e"], 1, [])
    dup = write("dup.csv", "id,id,,name\n")
    assert sniff_header(dup).names == ["id", "id_2", "column3", "name"]


def test_utf8_bom_is_stripped(tmp_path: Path, write: Callable[..., Path]) -> None:
    wh, res = _ingest(tmp_path, write("bom.csv", "\ufeff" + ORDERS_HEADER + ROWS))
    assert res.rows_loaded == 3 and res.encoding == "utf-8"
    assert _loaded(wh) == EXPECTED


def test_gzip_csv(tmp_path: Path, write: Callable[..., Path]) -> None:
    wh, res = _ingest(tmp_path, write("o.csv.gz", gzip.compress((ORDERS_HEADER + ROWS).encode())))
    assert (res.format, res.rows_loaded) == ("csv", 3)
    assert _loaded(wh) == EXPECTED


def test_gzip_cp1252_is_decoded(tmp_path: Path, write: Callable[..., Path]) -> None:
    body = ORDERS_HEADER.strip() + ",description\nA1,P1,2,3.5,2024-01-02,c1,Café €\n"
    wh, res = _ingest(tmp_path, write("w.csv.gz", gzip.compress(body.encode("cp1252"))))
    assert (res.rows_loaded, res.encoding) == (1, "mixed")
    assert wh.query("SELECT description FROM orders")["description"].item() == "Café €"


@pytest.mark.parametrize("codec", ["latin-1", "cp1252"])
def test_single_byte_encoded_file(tmp_path: Path, write: Callable[..., Path], codec: str) -> None:
    text = "Café crème brûlée" if codec == "latin-1" else "Café – “quoted” €"
    body = (ORDERS_HEADER.strip() + ",description\n"
            f"A1,P1,2,3.5,2024-01-02,c1,{text}\n"
            "A2,P1,1,1.0,2024-01-02,c1,plain\n")
    wh, res = _ingest(tmp_path, write("enc.csv", body.encode(codec)))
    assert res.rows_loaded == 2 and res.encoding == "mixed"
    assert res.notes == ["1 line(s) were not UTF-8 and were decoded as cp1252 (Windows-1252): "
                         "line 2"]
    got = wh.query("SELECT description FROM orders ORDER BY order_id")["description"].tolist()
    assert got == [text, "plain"]


def test_mixed_encoding_loses_nothing(tmp_path: Path, write: Callable[..., Path]) -> None:
    data = ((ORDERS_HEADER.strip() + ",description\n").encode()
            + "A1,P1,2,3.5,2024-01-02,c1,naïve – utf8 ✓\n".encode()
            + "A2,P2,2,3.5,2024-01-02,c1,café cp1252 €\n".encode("cp1252")
            + "A3,P3,2,3.5,2024-01-02,c1,日本語\n".encode())
    before = set(Path(tempfile.gettempdir()).glob("insightloop-*"))
    wh, res = _ingest(tmp_path, write("mixed.csv", data))
    assert (res.rows_in, res.rows_loaded, res.encoding) == (3, 3, "mixed")
    got = wh.query("SELECT description FROM orders ORDER BY order_id")["description"].tolist()
    assert got == ["naïve – utf8 ✓", "café cp1252 €", "日本語"]
    assert set(Path(tempfile.gettempdir()).glob("insightloop-*")) <= before  # temp copy removed


def test_utf16_with_bom(tmp_path: Path, write: Callable[..., Path]) -> None:
    wh, res = _ingest(tmp_path, write("u16.csv", (ORDERS_HEADER + ROWS).encode("utf-16")))
    assert (res.encoding, res.rows_loaded) == ("utf-16", 3)
    assert _loaded(wh) == EXPECTED


def test_parquet_line_is_row_number(tmp_path: Path) -> None:
    frame = pd.DataFrame({"order_id": ["A1", "A1", "A2"], "product_id": ["P1", "P2", "P1"],
                          "quantity": [2, 1, -1], "unit_price": [3.5, 1.25, -3.5],
                          "order_time": pd.to_datetime(["2024-01-02 10:00"] * 3),
                          "customer_id": ["c1", "17850.0", None]})
    path = tmp_path / "o.parquet"
    frame.to_parquet(path)
    wh, res = _ingest(tmp_path, path)
    assert (res.format, res.rows_in, res.rows_loaded, res.rows_quarantined) == (
        "parquet", 3, 2, 1)
    q = wh.query("SELECT line, column_name, reason FROM quarantine")
    assert q.values.tolist() == [[3, "unit_price", "unit_price: value -3.5 is below the minimum 0"]]
    assert wh.query("SELECT customer_id FROM orders ORDER BY line_no, order_id")[
        "customer_id"].tolist() == ["c1", "17850"]


def test_json_lines_with_malformed_line(tmp_path: Path, write: Callable[..., Path]) -> None:
    path = write("o.jsonl",
                 '{"order_id":"A1","product_id":"P1","quantity":2,"unit_price":3.5,'
                 '"order_time":"2024-01-02"}\n'
                 '{"order_id": "A2", broken\n'
                 "\n"
                 '["not", "an object"]\n'
                 '{"order_id":"A3","product_id":"P1","quantity":1,"unit_price":1,'
                 '"order_time":"2024-01-02","customer_id":"c9"}\n')
    wh, res = _ingest(tmp_path, path)
    assert (res.format, res.rows_in, res.rows_loaded, res.rows_quarantined) == ("jsonl", 4, 2, 2)
    q = wh.query("SELECT line, reason, raw FROM quarantine ORDER BY line").values.tolist()
    assert q == [[2, "unparseable record: malformed JSON: cannot parse",
                  '{"order_id": "A2", broken'],
                 [4, "unparseable record: malformed JSON: not an object (a JSON array)",
                  '["not", "an object"]']]
    assert wh.query("SELECT order_id FROM orders ORDER BY 1")["order_id"].tolist() == ["A1", "A3"]


def test_json_array(tmp_path: Path, write: Callable[..., Path]) -> None:
    path = write("o.json", '[{"order_id":"A1","product_id":"P1","quantity":2,"unit_price":3.5,'
                           '"order_time":"2024-01-02"},{"order_id":"A2","product_id":"P1",'
                           '"quantity":0,"unit_price":3.5,"order_time":"2024-01-02"}]')
    wh, res = _ingest(tmp_path, path)
    assert (res.rows_in, res.rows_loaded, res.rows_quarantined) == (2, 1, 1)
    assert wh.query("SELECT line, reason FROM quarantine").values.tolist() == [
        [2, "quantity: zero is not allowed"]]


def test_multiline_quoted_fields_keep_physical_line_numbers(
        tmp_path: Path, write: Callable[..., Path]) -> None:
    body = (ORDERS_HEADER                                  # line 1
            + 'A1,"P1\nsecond\nthird",2,3.5,2024-01-02,c1\n'   # lines 2-4
            + "A2,P2,2,-1,2024-01-02,c1\n"                 # line 5: bad price
            + 'A3,"P3"x,1,1,2024-01-02,c1\n'               # line 6: broken quoting
            + 'A4,"P\n4",1,1,2024-01-02,c1\n'              # lines 7-8
            + "A5,P5,1,1,2024-13-01,c1\n")                 # line 9: bad date
    wh, res = _ingest(tmp_path, write("ml.csv", body))
    assert (res.rows_in, res.rows_loaded, res.rows_quarantined) == (5, 2, 3)
    q = wh.query("SELECT line, column_name FROM quarantine ORDER BY line").values.tolist()
    assert q == [[5, "unit_price"], [6, "product_id"], [9, "order_time"]]
    assert wh.query("SELECT product_id FROM orders ORDER BY order_id")["product_id"].tolist() == [
        "P1\nsecond\nthird", "P\n4"]


def test_stage_file_counts_and_format_detection(write: Callable[..., Path]) -> None:
    assert [detect_format(Path(n)) for n in ("a.csv", "a.CSV.GZ", "a.parquet", "a.ndjson",
                                              "a.json", "a.txt")] == [
        "csv", "csv", "parquet", "jsonl", "jsonl", "csv"]
    path = write("s.csv", ORDERS_HEADER + ROWS + "A9,short\n")
    con = duckdb.connect()
    staged = stage_file(con, path)
    assert (staged.rows_staged, staged.rows_rejected, staged.rows_in) == (3, 1, 4)
    assert staged.columns == ORDERS_HEADER.strip().split(",")
    assert con.execute("SELECT list(__line ORDER BY __line) FROM __stage").fetchone() == (
        [2, 3, 4],)
    assert con.execute("SELECT line FROM __rejects").fetchall() == [(5,)]
