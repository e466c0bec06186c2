"""The lake layout: tables as Parquet folders that Spark writes and DuckDB reads."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from insightloop.errors import NotFoundError, WarehouseError
from insightloop.storage.lake import Lake, is_lake


def test_is_lake_tells_folders_from_duckdb_files(tmp_path: Path) -> None:
    (tmp_path / "wh.duckdb").write_bytes(b"x")
    assert is_lake(tmp_path)
    assert is_lake(tmp_path / "new-lake")
    assert is_lake(str(tmp_path / "lake.d") + "/")
    assert not is_lake(tmp_path / "wh.duckdb")
    assert not is_lake(tmp_path / "other.duckdb")
    assert not is_lake(":memory:")
    (tmp_path / "folder.duckdb").mkdir()
    assert not is_lake(tmp_path / "folder.duckdb")  # a mistaken folder, refused on open


def test_duckdb_writes_and_reads_the_layout(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    con = duckdb.connect()
    assert lake.tables() == []
    lake.write_duckdb(con, "SELECT range AS id, range % 3 AS grp FROM range(10)", "plain")
    lake.write_duckdb(con, "SELECT range AS id, (range % 2)::INT AS part FROM range(7)",
                      "parts", partition_by=["part"])
    (tmp_path / "lake" / "_staging").mkdir(exist_ok=True)
    (tmp_path / "lake" / "empty").mkdir()
    assert lake.tables() == ["parts", "plain"]
    assert lake.partitioned("parts") and not lake.partitioned("plain")
    lake.attach_duckdb(con)
    assert con.execute("SELECT sum(id), count(*) FROM plain").fetchone() == (45, 10)
    assert con.execute("SELECT part, count(*) FROM parts GROUP BY 1 ORDER BY 1").fetchall() \
        == [(0, 4), (1, 3)]
    # replacing swaps folders: no staging leftovers, the new rows only
    lake.write_duckdb(con, "SELECT 1 AS id", "plain")
    lake.attach_duckdb(con)
    assert con.execute("SELECT count(*) FROM plain").fetchone() == (1,)
    assert list((tmp_path / "lake" / "_staging").iterdir()) == []


def test_a_failed_write_keeps_the_old_table(tmp_path: Path) -> None:
    lake = Lake(tmp_path)
    con = duckdb.connect()
    lake.write_duckdb(con, "SELECT 42 AS answer", "t")
    with pytest.raises(duckdb.Error):
        lake.write_duckdb(con, "SELECT no_such_column FROM range(3)", "t")
    lake.attach_duckdb(con)
    assert con.execute("SELECT * FROM t").fetchall() == [(42,)]
    assert list((tmp_path / "_staging").iterdir()) == []


def test_missing_table_and_bad_names_say_what_to_do(tmp_path: Path) -> None:
    lake = Lake(tmp_path)
    with pytest.raises(NotFoundError, match="run `insightloop ingest`"):
        lake.require("orders")
    with pytest.raises(WarehouseError, match="not a valid lake table name"):
        lake.table_dir("../escape")
    with pytest.raises(WarehouseError):
        lake.table_dir("_staging")


def test_a_lake_warehouse_reads_through_duckdb_views(tmp_path: Path) -> None:
    from insightloop.storage.warehouse import Warehouse

    root = tmp_path / "lake"
    wh = Warehouse(root)
    assert wh.lake is not None and not wh.exists
    with pytest.raises(WarehouseError, match="has no tables yet"), wh.connect(read_only=True):
        pass
    Lake(root).write_duckdb(duckdb.connect(), "SELECT 'o1' AS order_id, 1::BIGINT AS line_no, "
                            "'c1' AS customer_id, 2.5 AS unit_price", "orders")
    assert wh.exists and wh.has_table("orders") and not wh.has_table("profiles")
    with wh.connect(read_only=True) as con:
        assert con.execute("SELECT customer_id, unit_price FROM orders").fetchall() \
            == [("c1", 2.5)]
        # the canonical tables the lake lacks are there, empty, as on a new DuckDB file
        assert con.execute("SELECT count(*) FROM quarantine").fetchone() == (0,)
    assert wh.table("orders")["order_id"].tolist() == ["o1"]
    Lake(root).write_duckdb(duckdb.connect(), "SELECT 'c1' AS customer_id, 3 AS frequency, "
                            "9.5 AS monetary", "profiles")
    with wh.connect(read_only=True) as con:  # the customer_360 view over the lake's tables
        assert con.execute("SELECT customer_id, monetary FROM customer_360").fetchall() \
            == [("c1", 9.5)]
    with pytest.raises(WarehouseError, match="written by the Spark stages"), wh.transaction():
        pass
