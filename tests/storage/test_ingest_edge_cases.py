"""One test per ingestion edge case of issue 11: each fixed or refused in one clear line."""

from __future__ import annotations

import codecs
import gzip
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pytest
from ingest_helpers import ORDERS_HEADER, digest

from contexts import ctx_of
from insightloop.errors import InputFileError
from insightloop.storage.ingest import IngestResult, ingest_file
from insightloop.storage.warehouse import Warehouse, atomic

ROW = "A{i},P1,2,3.5,2011-01-02 10:00:00,c1\n"


def _orders(n: int = 3) -> str:
    return ORDERS_HEADER + "".join(ROW.format(i=i) for i in range(1, n + 1))


def _accounted(res: IngestResult) -> None:
    assert res.rows_in == res.rows_loaded + res.rows_quarantined + res.rows_duplicate


def _reasons(wh: Warehouse, res: IngestResult) -> list[list[object]]:
    return wh.query("SELECT line, reason FROM quarantine WHERE ingest_id = ? ORDER BY line",
                    [res.ingest_id]).values.tolist()


def test_bytes_invalid_in_the_encoding_are_counted_with_lines(
        base_wh: Warehouse, write: Callable[..., Path]) -> None:
    # line 3: cp1252 text (valid), line 4: 0x81 and 0x8d, undefined in cp1252
    body = (ORDERS_HEADER.strip() + ",description\n").encode() \
        + b"A1,P1,2,3.5,2011-01-02,c1,plain\n" \
        + b"A2,P1,2,3.5,2011-01-02,c1,caf\xe9\n" \
        + b"A3,P1,2,3.5,2011-01-02,c1,x\x81y\x8dz\n"
    res = ingest_file(base_wh, "orders", write("bad.csv", body))
    _accounted(res)
    assert res.rows_loaded == 3 and res.encoding == "mixed"
    assert res.notes == [
        "2 line(s) were not UTF-8 and were decoded as cp1252 (Windows-1252): lines 3, 4",
        "2 byte(s) invalid in cp1252 were replaced by U+FFFD: line 4"]
    got = base_wh.query("SELECT description FROM orders WHERE order_id LIKE 'A%' "
                        "ORDER BY order_id")
    assert got["description"].tolist() == ["plain", "café", "x\ufffdy\ufffdz"]
    assert res.as_dict()["notes"] == res.notes


def test_utf16_invalid_units_are_counted(base_wh: Warehouse,
                                         write: Callable[..., Path]) -> None:
    text = _orders(2).encode("utf-16-le")
    broken = codecs.BOM_UTF16_LE + text[:-4] + b"\x00\xdc" + text[-4:]  # a lone surrogate
    res = ingest_file(base_wh, "orders", write("u16.csv", broken))
    _accounted(res)
    assert res.notes[0] == "decoded from UTF-16"
    assert res.notes[1].startswith("1 character(s) invalid in UTF-16 were replaced by U+FFFD: "
                                   "line 3")


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_without_bom_is_detected(base_wh: Warehouse, write: Callable[..., Path],
                                       codec: str) -> None:
    res = ingest_file(base_wh, "orders", write("nobom.csv", _orders(3).encode(codec)))
    assert (res.rows_loaded, res.encoding) == (3, codec)
    assert f"no byte-order mark: decoded as {codec.upper()}" in res.notes[1]
    got = base_wh.query("SELECT order_id, unit_price FROM orders WHERE order_id LIKE 'A%' "
                        "ORDER BY 1").values.tolist()
    assert got == [["A1", 3.5], ["A2", 3.5], ["A3", 3.5]]


@pytest.mark.parametrize(("name", "data", "fragment"), [
    ("book.csv", b"PK\x03\x04\x14\x00\x00\x00" + b"\x00" * 40, "looks like a zip archive "
     "(an Excel .xlsx workbook is one); open it in Excel and export the sheet as CSV"),
    ("doc.csv", b"%PDF-1.7\n" + b"x" * 100, "looks like a PDF document"),
    ("old.csv", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "Excel 97-2003 workbook"),
    ("noise.csv", bytes(range(256)) * 40, "looks like a binary file"),
])
def test_non_text_files_are_refused_by_magic(base_wh: Warehouse, write: Callable[..., Path],
                                             name: str, data: bytes, fragment: str) -> None:
    before = digest(base_wh)
    path = write(name, data)
    with pytest.raises(InputFileError) as err:
        ingest_file(base_wh, "orders", path)
    assert str(err.value).startswith(f"{path}: ") and fragment in str(err.value)
    assert "\n" not in str(err.value) and "SQL" not in str(err.value)
    assert digest(base_wh) == before


def test_truncated_gzip_names_the_file_and_loads_nothing(
        base_wh: Warehouse, write: Callable[..., Path]) -> None:
    before = digest(base_wh)
    data = gzip.compress(_orders(3000).encode())
    path = write("cut.csv.gz", data[: len(data) // 2])
    with pytest.raises(InputFileError) as err:
        ingest_file(base_wh, "orders", path)
    assert str(err.value).startswith(f"{path}: the gzip data is truncated or corrupt")
    assert digest(base_wh) == before


def test_offsets_are_converted_to_utc(base_wh: Warehouse, write: Callable[..., Path]) -> None:
    stamps = ["2011-01-01 10:00:00+05:00", "2011-01-01T10:00:00Z", "2011-01-01 10:00:00+0530",
              "2011-01-01 10:00:00-08", "2011-01-01 10:00:00.5 +01:00", "2011-01-01 10:00:00",
              "2011-01-01"]
    body = ORDERS_HEADER + "".join(f"T{i},P1,1,1,{s},c1\n" for i, s in enumerate(stamps))
    res = ingest_file(base_wh, "orders", write("tz.csv", body))
    assert res.rows_loaded == len(stamps)
    got = base_wh.query("SELECT CAST(order_time AS VARCHAR) AS t FROM orders "
                        "WHERE order_id LIKE 'T%' ORDER BY order_id")["t"].tolist()
    assert got == ["2011-01-01 05:00:00", "2011-01-01 10:00:00", "2011-01-01 04:30:00",
                   "2011-01-01 18:00:00", "2011-01-01 09:00:00.5", "2011-01-01 10:00:00",
                   "2011-01-01 00:00:00"]


def test_utc_conversion_does_not_depend_on_the_session_time_zone(
        tmp_path: Path, write: Callable[..., Path]) -> None:
    wh = Warehouse(":memory:")
    with wh.connect() as con:
        con.execute("SET TimeZone = 'America/New_York'")
    body = ORDERS_HEADER + "T1,P1,1,1,2011-01-01 10:00:00,c1\nT2,P1,1,1,2011-01-01 10:00Z,c1\n"
    ingest_file(wh, "orders", write("tz.csv", body))
    got = wh.query("SELECT CAST(order_time AS VARCHAR) AS t FROM orders ORDER BY 1")["t"]
    assert got.tolist() == ["2011-01-01 10:00:00", "2011-01-01 10:00:00"]


def test_huge_numbers_are_quarantined_and_profiles_still_build(tmp_path: Path) -> None:
    from insightloop.services.profiles import build_profiles
    from insightloop.settings import Settings

    path = tmp_path / "wh.duckdb"
    src = tmp_path / "o.csv"
    src.write_text(ORDERS_HEADER
                   + "A1,P1,2,3.5,2011-01-02,c1\n"
                   + "A2,P1,1,1e300,2011-01-02,c1\n"          # price over the bound
                   + "A3,P1,1e15,1,2011-01-02,c2\n"           # quantity over the bound
                   + "A4,P1,1000000,2000000,2011-01-02,c2\n"  # line amount 2e12
                   + "A5,P1,1,1,0001-01-01,c2\n"              # before 1900
                   + "A6,P1,3,2.5,2011-01-03,c2\n", encoding="utf-8")
    res = ingest_file(Warehouse(path), "orders", src)
    _accounted(res)
    assert (res.rows_loaded, res.rows_quarantined) == (2, 4)
    reasons = [str(r[1]) for r in _reasons(Warehouse(path), res)]
    assert reasons[0].startswith("unit_price: value 1e+300 is above the maximum 1e+12")
    assert reasons[1].startswith("quantity: value 1000000000000000 is above the maximum 1e+12")
    assert reasons[2] == ("unit_price: line amount quantity x unit_price = 2000000000000.0 is "
                          "above the maximum 1e+12")
    assert reasons[3] == "order_time: timestamp 0001-01-01 00:00:00 is before 1900-01-01"
    build_profiles(ctx_of(Settings.load(warehouse=path, env={})))
    revenue = Warehouse(path).query("SELECT customer_id, monetary FROM profiles ORDER BY 1")
    assert revenue.values.tolist() == [["c1", 7.0], ["c2", 7.5]]


def test_json_array_with_non_objects_loads_the_objects(
        base_wh: Warehouse, write: Callable[..., Path]) -> None:
    rec = {"order_id": "J1", "product_id": "P1", "quantity": 1, "unit_price": 2,
           "order_time": "2011-01-02"}
    items = [rec, 7, "text", [rec], None, {**rec, "order_id": "J2"}]
    res = ingest_file(base_wh, "orders", write("a.json", json.dumps(items)))
    _accounted(res)
    assert (res.rows_in, res.rows_loaded, res.rows_quarantined) == (6, 2, 4)
    assert _reasons(base_wh, res) == [
        [2, "unparseable record: malformed JSON: not an object (a JSON number)"],
        [3, "unparseable record: malformed JSON: not an object (a JSON string)"],
        [4, "unparseable record: malformed JSON: not an object (a JSON array)"],
        [5, "unparseable record: malformed JSON: not an object (a JSON null)"]]
    assert base_wh.query("SELECT order_id FROM orders WHERE order_id LIKE 'J%' ORDER BY 1"
                         )["order_id"].tolist() == ["J1", "J2"]


def test_quote_in_a_column_name_works_when_mapped(base_wh: Warehouse,
                                                  write: Callable[..., Path]) -> None:
    body = 'order_id,product_id,quantity,unit_price,order_time,"cust ""id"""\n' \
           "Q1,P1,1,1,2011-01-02,c7\n"
    res = ingest_file(base_wh, "orders", write("q.csv", body),
                      mapping={"customer_id": 'cust "id"'})
    assert res.rows_loaded == 1
    got = base_wh.query("SELECT customer_id FROM orders WHERE order_id = 'Q1'")
    assert got["customer_id"].item() == "c7"


def test_names_differing_in_case_are_renamed(tmp_path: Path, write: Callable[..., Path]) -> None:
    wh = Warehouse(tmp_path / "wh.duckdb")
    res = ingest_file(wh, "customers", write("c.csv", "customer_id,Email,email\nc1,A@x,b@x\n"),
                      mapping={"email": "email_2"})
    assert res.rows_loaded == 1
    assert res.notes == ["column names must be unique ignoring case and must not be __line or "
                         "rowid; renamed: 'email' -> 'email_2' (column 3)"]
    assert wh.query("SELECT email FROM customers")["email"].item() == "b@x"


@contextmanager
def _interrupt_after_commit(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """``atomic`` whose COMMIT completes and then sees Ctrl-C (the signal landing late)."""
    with atomic(con):
        yield con
    raise KeyboardInterrupt


@contextmanager
def _interrupt_before_commit(con: duckdb.DuckDBPyConnection
                             ) -> Iterator[duckdb.DuckDBPyConnection]:
    with atomic(con):
        yield con
        raise KeyboardInterrupt


def test_sigint_during_commit_reports_the_truth(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    import insightloop.storage.ingest as ingest_module
    from insightloop.cli.main import main

    src = tmp_path / "o.csv"
    src.write_text(_orders(3), encoding="utf-8")
    wh = tmp_path / "wh.duckdb"
    monkeypatch.setattr(ingest_module, "atomic", _interrupt_before_commit)
    code = main(["ingest", "orders", str(src), "-w", str(wh), "--json"])
    out, _ = capsys.readouterr()
    assert code == 130 and out == ""
    assert Warehouse(wh).query("SELECT count(*) AS n FROM orders")["n"].item() == 0

    monkeypatch.setattr(ingest_module, "atomic", _interrupt_after_commit)
    code = main(["ingest", "orders", str(src), "-w", str(wh), "--json"])
    out, _ = capsys.readouterr()
    assert code == 0
    got = json.loads(out)
    assert (got["rows_in"], got["rows_loaded"]) == (3, 3)
    assert "the commit completed" in got["notes"][0]
    assert Warehouse(wh).query("SELECT count(*) AS n FROM orders")["n"].item() == 3


def test_ids_are_normalised_like_the_api_does(base_wh: Warehouse,
                                              write: Callable[..., Path]) -> None:
    from insightloop.storage.ids import normalize_id

    ids = ["17850.0", "17850.000", "17850.5", ".0", "A.0B", "0.0", "12.0.0"]
    body = ORDERS_HEADER + "".join(f"N{i},P1,1,1,2011-01-02,{c}\n" for i, c in enumerate(ids))
    res = ingest_file(base_wh, "orders", write("ids.csv", body))
    assert res.rows_loaded == len(ids)
    got = base_wh.query("SELECT customer_id FROM orders WHERE order_id LIKE 'N%' "
                        "ORDER BY order_id")["customer_id"].tolist()
    assert got == ["17850", "17850", "17850.5", ".0", "A.0B", "0", "12.0"]
    assert got == [normalize_id(c) for c in ids]
