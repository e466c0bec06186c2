"""A corpus of malformed and crafted input files, generated in code (no fixtures on disk).

Each :class:`Case` is a file name, its bytes, the table it is ingested into, options,
and what must happen: ``"load"`` (accounting holds) or an error message fragment.
"""

from __future__ import annotations

import codecs
import gzip
import io
import json
import random
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pyarrow as pa
import pyarrow.parquet as pq

# The header from the issue: run as SQL it deletes every order and creates a table.
INJECTION = ('customer_id", chr(10)) LIMIT 1); CREATE TABLE pwned AS SELECT 42 AS x; '
             'DELETE FROM orders; SELECT count(*) FROM (SELECT 1 FROM __raw WHERE '
             'contains("customer_id')
INJECTIONS = [
    INJECTION,
    "x'); DROP TABLE orders; --",
    'a"; DELETE FROM orders; --',
    "`x`; DELETE FROM orders",
    "/* c */ x -- c",
    "q\"'`;--/*",
]
ORDER_COLS = ["order_id", "product_id", "quantity", "unit_price", "order_time", "customer_id"]
GOOD_ROW = ["H1", "P1", "2", "3.5", "2011-01-02 10:00:00", "c1"]


@dataclass
class Case:
    """One hostile file and the outcome required of it."""

    name: str
    data: bytes
    table: str = "orders"
    filename: str = "f.csv"
    expect: str = "load"  # "load" or a fragment of the one-line error message
    options: dict[str, object] = field(default_factory=dict)


def csv_text(header: list[str], rows: list[list[str]], delim: str = ",") -> str:
    """RFC 4180 text: fields with the delimiter, quotes or line breaks are quoted."""
    def cell(v: str) -> str:
        return ('"' + v.replace('"', '""') + '"'
                if any(ch in v for ch in (delim, '"', "\n", "\r")) else v)
    return "".join(delim.join(cell(v) for v in r) + "\n" for r in [header, *rows])


def orders(extra: dict[str, str] | None = None, rows: int = 2) -> str:
    """A good orders file with extra columns (name → value on every row)."""
    extra = extra or {}
    body = [[f"H{i}", "P1", "2", "3.5", "2011-01-02 10:00:00", "c1", *extra.values()]
            for i in range(1, rows + 1)]
    return csv_text([*ORDER_COLS, *extra], body)


def orders_values(column: str, values: list[str]) -> str:
    """An orders file whose ``column`` takes each of ``values`` (one row each)."""
    idx = ORDER_COLS.index(column)
    rows = []
    for i, v in enumerate(values, start=1):
        row = [f"H{i}", "P1", "2", "3.5", "2011-01-02 10:00:00", "c1"]
        row[idx] = v
        rows.append(row)
    return csv_text(ORDER_COLS, rows)


def jsonl(records: list[object]) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in records).encode()


def order_record(i: int, **extra: object) -> dict[str, object]:
    return {"order_id": f"H{i}", "product_id": "P1", "quantity": 2, "unit_price": 3.5,
            "order_time": "2011-01-02 10:00:00", "customer_id": "c1", **extra}


def parquet(table: pa.Table) -> bytes:
    buf = io.BytesIO()
    pq.write_table(table, buf)
    return buf.getvalue()


def order_table(**extra: pa.Array) -> pa.Table:
    cols: dict[str, pa.Array] = {
        "order_id": pa.array(["H1", "H2"]), "product_id": pa.array(["P1", "P2"]),
        "quantity": pa.array([1, 2]), "unit_price": pa.array([1.5, 2.5]),
        "order_time": pa.array([datetime(2011, 1, 2, 10), datetime(2011, 1, 3, 11)]),
    }
    cols.update(extra)
    return pa.table(cols)


def xlsx() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", "<workbook/>")
        z.writestr("xl/worksheets/sheet1.xml", "<worksheet/>")
    return buf.getvalue()


def plain_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("orders.csv", orders())
    return buf.getvalue()


def garbage(n: int = 20_000) -> bytes:
    return random.Random(7).randbytes(n)


def _half(data: bytes) -> bytes:
    return data[: len(data) // 2]


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def cases() -> list[Case]:
    """The corpus (more than 45 kinds)."""
    inj_header = ["customer_id", "email", "name", "country", "city", INJECTION]
    future = (datetime.now(UTC) + timedelta(days=400)).strftime("%Y-%m-%d %H:%M:%S")
    good = orders()
    out = [
        # -- SQL in names, every format --------------------------------------------------
        Case("injection_header_customers", csv_text(inj_header, [
            ["c1", "a@x", "A", "UK", "L", "v"], ["c2", "b@x", "B", "FR", "P", "w"]]).encode(),
            table="customers"),
        *[Case(f"injection_header_orders_{i}", orders({name: "v"}).encode())
          for i, name in enumerate(INJECTIONS)],
        Case("injection_mapped_column", csv_text(
            [*ORDER_COLS[:5], INJECTION], [GOOD_ROW]).encode(),
            options={"mapping": {"customer_id": INJECTION}}),
        Case("injection_jsonl_key", jsonl([order_record(1, **{INJECTION: 1}),
                                           order_record(2, **{INJECTIONS[1]: "x"})]),
             filename="f.jsonl"),
        Case("injection_json_array_key", json.dumps(
            [order_record(1, **{INJECTION: 1}), order_record(2)]).encode(),
            filename="f.json"),
        Case("injection_parquet_columns", parquet(order_table(**{
            INJECTION: pa.array([1, 2]), INJECTIONS[2]: pa.array(["a", "b"])})),
            filename="f.parquet"),
        Case("injection_gzip_csv", gzip.compress(orders({INJECTION: "v"}).encode()),
             filename="f.csv.gz"),
        Case("injection_gzip_jsonl", gzip.compress(jsonl([order_record(1, **{INJECTION: 1})])),
             filename="f.jsonl.gz"),
        Case("injection_in_values", orders_values("product_id", [
            "x'); DELETE FROM orders; --", 'y"; DROP TABLE orders; --']).encode()),
        # -- odd names -------------------------------------------------------------------
        Case("quotes_in_names", orders({'a"b': "1", "'s'": "2", '""': "3"}).encode()),
        Case("newline_cr_tab_in_names", orders({"a\nb": "1", "c\rd": "2", "e\tf": "3"}).encode()),
        Case("nul_in_name", orders({"a\x00b": "1"}).encode()),
        Case("rtl_and_emoji_names", orders({"\u05e9\u05dc\u05d5\u05dd \u202e": "1",
                                            "\U0001f600": "2"}).encode()),
        Case("ten_kb_name", orders({"n" * 10_240: "1"}).encode()),
        Case("keyword_names", orders({"select": "1", "from": "2", "table": "3",
                                      "order": "4", "group": "5"}).encode()),
        Case("internal_names", orders({"__line": "1", "__reason": "2", "rowid": "3",
                                       "__raw_quantity": "4", "__err_quantity": "5"}).encode()),
        Case("case_duplicate_names", orders({"Email": "1", "email": "2", "EMAIL": "3"}).encode()),
        Case("duplicate_headers", csv_text([*ORDER_COLS, "order_id", "x", "x"],
                                           [[*GOOD_ROW, "o", "1", "2"]]).encode()),
        Case("blank_header_names", orders({"": "1", " ": "2"}).encode()),
        # -- empty and odd files --------------------------------------------------------
        Case("empty", b"", expect="file is empty"),
        Case("header_only", csv_text(ORDER_COLS, []).encode()),
        Case("whitespace_only", b"  \n\n \t\n", expect="no header line"),
        Case("only_delimiters", b",,,,,\n,,,,,\n,,,,,\n", expect="required orders column"),
        Case("bom_utf8", b"\xef\xbb\xbf" + good.encode()),
        Case("bom_utf16_le", codecs.BOM_UTF16_LE + good.encode("utf-16-le")),
        Case("bom_utf16_be", codecs.BOM_UTF16_BE + good.encode("utf-16-be")),
        Case("utf16_le_no_bom", good.encode("utf-16-le")),
        Case("utf32_bom", good.encode("utf-32")),
        Case("nul_bytes_in_values", good.replace("P1", "P\x001").encode()),
        Case("invalid_utf8_bytes", good.encode() + b"H9,P\x81\xe9,1,1,2011-01-02,c1\n"),
        Case("binary_garbage", garbage(), expect="binary file"),
        Case("zip_renamed", plain_zip(), expect="zip archive"),
        Case("xlsx_renamed", xlsx(), expect="export the sheet as CSV"),
        Case("xls_renamed", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + garbage(2000),
             expect="Excel 97-2003"),
        Case("pdf_renamed", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n",
             expect="PDF document"),
        Case("parquet_renamed_csv", parquet(order_table()), expect="rename it to end in .parquet"),
        Case("truncated_gzip", _half(gzip.compress(orders(rows=2000).encode())),
             filename="f.csv.gz", expect="truncated or corrupt"),
        Case("gzip_of_garbage", gzip.compress(garbage()), filename="f.csv.gz",
             expect="binary file"),
        Case("not_gzip_named_gz", good.encode(), filename="f.csv.gz", expect="not gzip data"),
        # -- records --------------------------------------------------------------------
        Case("huge_single_field", orders({"description": "z" * 2_000_000}).encode()),
        Case("wide_header_100k_columns", (",".join(f"c{i}" for i in range(100_000))
                                          + "\n").encode(), expect="100,000 columns"),
        Case("ragged_rows", (good + "H7,P1\nH8,P1,1,1,2011-01-02,c1,x,y,z\n").encode()),
        Case("unterminated_quote", (good + 'H7,"P1,1,1,2011-01-02,c1\nH8,P1\n').encode()),
        Case("mixed_line_endings", good.replace("\n", "\r\n", 2).encode()),
        Case("numbers_odd", orders_values("unit_price", [
            "1e300", "-0", "NaN", "inf", "-inf", "1_000", "1,5", "0x10", "1e12", "1e13"]).encode()),
        Case("quantities_odd", orders_values("quantity", [
            "1e300", "-0", "1e15", "-1e15", "9223372036854775808", "2.5", "1_000"]).encode()),
        Case("dates_many_formats", orders_values("order_time", [
            "2011-01-02", "2011-01-02T10:00:00Z", "2011-01-02 10:00:00+05:00",
            "2011-01-02 10:00:00+0530", "01/02/2011 10:00", "20110102", "Jan 2 2011",
            "2011-02-30", "0001-01-01", "  2011-01-02  "]).encode()),
        Case("future_dates", orders_values("order_time", [future, "2999-01-01"]).encode()),
        Case("float_ids", orders_values("customer_id", ["17850.0", "17850.00", "1.5e4",
                                                        " 12 "]).encode()),
        # -- JSON -----------------------------------------------------------------------
        Case("json_nested_values", jsonl([order_record(1, description={"a": [1, {"b": 2}]}),
                                          order_record(2, description=[1, 2])]),
             filename="f.jsonl"),
        Case("json_array_of_scalars", b"[1, 2, \"x\", null, true]", filename="f.json",
             expect="required orders column"),
        Case("json_array_mixed", json.dumps([order_record(1), 2, "x", [1],
                                             order_record(2)]).encode(), filename="f.json"),
        Case("json_deeply_nested", ('{"order_id": "H1", "x": ' + nested(5000) + "}\n").encode(),
             filename="f.jsonl", expect="required orders column"),
        Case("json_duplicate_keys", b'{"order_id": "H1", "order_id": "H2"}\n'
             + jsonl([order_record(3)]), filename="f.jsonl"),
        Case("json_case_duplicate_keys", jsonl([order_record(1, Email="a", email="b")]),
             filename="f.jsonl"),
        Case("json_truncated_array", json.dumps([order_record(1)])[:-5].encode(),
             filename="f.json", expect="not a valid JSON array"),
        Case("json_nul_escape", jsonl([order_record(1, description="a\x00b")]),
             filename="f.jsonl"),
        Case("json_empty_array", b"[]", filename="f.json", expect="required orders column"),
        Case("json_pretty_object", json.dumps(order_record(1), indent=2).encode(),
             filename="f.jsonl", expect="required orders column"),
        # -- Parquet --------------------------------------------------------------------
        Case("parquet_odd_types", parquet(order_table(
            nested=pa.array([{"a": 1, "b": [1, 2]}, {"a": None, "b": []}]),
            tags=pa.array([["x", "y"], None]),
            amount=pa.array([Decimal("1.10"), Decimal("-2.25")], pa.decimal128(10, 2)),
            at=pa.array([datetime(2011, 1, 2, 10, tzinfo=UTC), None],
                        pa.timestamp("us", tz="Asia/Kolkata")),
        )), filename="f.parquet"),
        Case("parquet_colliding_names", parquet(pa.table({
            **order_table().to_pydict(), "file_row_number": [7, 8], "__line": [1, 2],
            "Email": ["a", "b"]}).append_column("email", pa.array(["c", "d"]))),
            filename="f.parquet"),
        Case("parquet_truncated", parquet(order_table())[:300], filename="f.parquet",
             expect="not a readable Parquet file"),
        Case("parquet_tz_order_time", parquet(order_table(order_time=pa.array(
            [datetime(2011, 1, 2, 10, tzinfo=UTC)] * 2, pa.timestamp("s", tz="UTC")))),
            filename="f.parquet"),
    ]
    return out
