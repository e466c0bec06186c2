"""Property tests: hostile column names and values, at every reader and through ingest.

Names: quotes, backticks, semicolons, SQL comments, line breaks, tabs, NUL, right-to-left
and emoji text, 10 KB names, SQL keywords and our own internal column names. Values: the
same and more. Every reader (CSV, gzip CSV, JSON lines, JSON array, Parquet) must stage
exactly the rows and values written, under the cleaned names; ``ingest_file`` over a
warehouse holding good data must change nothing but the intended rows, keep the
accounting, create no table and raise nothing but :class:`InsightloopError`.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import shutil
import tempfile
from collections import Counter
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hostile_corpus import INJECTIONS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ingest_helpers import BASE_ORDERS, snapshot

from insightloop.errors import InsightloopError
from insightloop.storage.ingest import IngestResult, ingest_file
from insightloop.storage.names import clean_names
from insightloop.storage.readers import stage_file
from insightloop.storage.warehouse import Warehouse

FRAGMENTS = [*INJECTIONS, '"', "'", "`", ";", "--", "/*", "*/", "\n", "\r", "\r\n", "\t",
             "\x00", "\u202e\u05e9\u05dc\u05d5\u05dd", "\U0001f600", "select", "FROM", "table",
             "__line", "__reason", "rowid", "__raw_quantity", "?", "$1", "{}", "\\", "%s", " "]
HOSTILE = st.one_of(
    st.sampled_from(FRAGMENTS),
    st.lists(st.sampled_from(FRAGMENTS), min_size=1, max_size=4).map("".join),
    st.text(min_size=1, max_size=12),
    st.just("n" * 10_240),
)
NAMES = st.lists(HOSTILE, min_size=1, max_size=5)
# Values: printable on their own line (the readers' job is names and structure; NUL and
# lone CR in values are covered by the hostile corpus).
VALUES = st.one_of(st.sampled_from([f for f in FRAGMENTS if f not in ("\x00", "\r")]),
                   st.text(st.characters(blacklist_categories=["Cs"],
                                         blacklist_characters="\x00\r"), min_size=1,
                           max_size=20))
FORMATS = ["f.csv", "f.csv.gz", "f.jsonl", "f.json", "f.parquet"]
FAST = settings(max_examples=25, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])
INGESTS = settings(FAST, max_examples=10)  # each example copies and ingests a warehouse


def write_file(folder: Path, name: str, columns: list[str], rows: list[list[str]]) -> Path:
    """``rows`` under ``columns`` in the format the file name says."""
    path = folder / name
    if name.endswith(".parquet"):
        # Parquet keeps every name as given (pyarrow allows repeats); pass them by position.
        arrays = [pa.array([r[i] for r in rows], pa.string()) for i in range(len(columns))]
        pq.write_table(pa.Table.from_arrays(arrays, names=columns), path)
    elif name.endswith((".json", ".jsonl")):
        # JSON objects cannot repeat a key: keep the first of each name.
        seen: dict[str, int] = {}
        for i, c in enumerate(columns):
            seen.setdefault(c, i)
        records = [{c: r[i] for c, i in seen.items()} for r in rows]
        text = (json.dumps(records) if name.endswith(".json")
                else "".join(json.dumps(r) + "\n" for r in records))
        path.write_text(text, encoding="utf-8")
    else:
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n", quoting=csv.QUOTE_ALL)
        writer.writerows([columns, *rows])
        data = buf.getvalue().encode()
        path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    return path


@pytest.mark.parametrize("fmt", FORMATS)
@FAST
@given(names=NAMES, data=st.data())
def test_readers_stage_hostile_names_and_values_exactly(fmt: str, names: list[str],
                                                        data: st.DataObject) -> None:
    rows = data.draw(st.lists(st.lists(VALUES, min_size=len(names), max_size=len(names)),
                              min_size=1, max_size=4))
    with tempfile.TemporaryDirectory() as tmp:
        path = write_file(Path(tmp), fmt, names, rows)
        con = duckdb.connect()
        try:
            staged = stage_file(con, path)
        except InsightloopError as exc:
            assert "\n" not in str(exc) and str(path) in str(exc)
            return
        got = con.execute("SELECT * EXCLUDE (__line) FROM __stage ORDER BY __line").fetchall()
        assert (staged.rows_in, staged.rows_rejected) == (len(rows), 0)
        if fmt.startswith("f.json"):
            # Keys (first of each name) are staged in file order; values follow the keys.
            keys = list(dict.fromkeys(names))
            assert staged.columns == clean_names(path, keys)[0]
            want = [[row[names.index(k)] for k in keys] for row in rows]
        else:
            if fmt.startswith("f.csv"):
                assert staged.columns == clean_names(path, [n.strip() for n in names])[0]
            else:  # Parquet: DuckDB numbers repeated names first (x, x_1), then we clean
                assert len(staged.columns) == len(names)
            want = rows
        assert [list(r) for r in got] == want
        con.close()


@pytest.fixture(scope="module")
def good_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A warehouse holding good orders and customers (copied for every example)."""
    folder = tmp_path_factory.mktemp("good")
    wh = Warehouse(folder / "wh.duckdb")
    (folder / "o.csv").write_text(BASE_ORDERS, encoding="utf-8")
    (folder / "c.csv").write_text("customer_id,email\nc1,a@x\nc2,b@x\n", encoding="utf-8")
    ingest_file(wh, "customers", folder / "c.csv")
    ingest_file(wh, "orders", folder / "o.csv")
    return folder / "wh.duckdb"


@pytest.mark.parametrize("fmt", FORMATS)
@INGESTS
@given(extra=NAMES, data=st.data())
def test_ingest_of_hostile_files_changes_only_the_intended_rows(
        fmt: str, extra: list[str], data: st.DataObject, good_template: Path) -> None:
    base = ["order_id", "product_id", "quantity", "unit_price", "order_time", "customer_id",
            "description"]
    n = data.draw(st.integers(1, 4))
    products = data.draw(st.lists(VALUES, min_size=n, max_size=n))
    descriptions = data.draw(st.lists(VALUES, min_size=n, max_size=n))
    extras = data.draw(st.lists(st.lists(VALUES, min_size=len(extra), max_size=len(extra)),
                                min_size=n, max_size=n))
    rows = [[f"H{i}", products[i], "1", "2.5", "2011-01-02 10:00:00", "c1", descriptions[i],
             *extras[i]] for i in range(n)]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        wh_path = folder / "wh.duckdb"
        shutil.copy(good_template, wh_path)
        path = write_file(folder, fmt, base + extra, rows)
        before = snapshot(wh_path)
        try:
            res = ingest_file(Warehouse(wh_path), "orders", path)
        except InsightloopError as exc:
            assert "\n" not in str(exc)
            assert snapshot(wh_path) == before
            return
        after = snapshot(wh_path)
        _check(before, after, res)
        loaded = dict(Warehouse(wh_path).query(
            "SELECT order_id, description FROM orders WHERE order_id LIKE 'H%'").values.tolist())
        for i in range(n):
            if f"H{i}" in loaded:  # stored trimmed, as documented (DuckDB's trim)
                want = duckdb.execute("SELECT NULLIF(trim(?), '')", [descriptions[i]]).fetchone()
                assert want is not None and loaded[f"H{i}"] == want[0]


def _check(before: dict[str, Counter[str]], after: dict[str, Counter[str]],
           res: IngestResult) -> None:
    assert set(after) == set(before), "a table was created or dropped"
    assert res.rows_in == res.rows_loaded + res.rows_quarantined + res.rows_duplicate
    for name in set(before) - {"orders", "quarantine", "ingest_log"}:
        assert after[name] == before[name]
    old, new = before["orders"], after["orders"]
    assert not old - new
    assert (new - old).total() == res.rows_loaded
