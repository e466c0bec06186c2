"""Spark on the standalone cluster writes lake tables that DuckDB reads unchanged."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest

from insightloop.storage.lake import Lake

pytestmark = pytest.mark.spark


def test_spark_writes_duckdb_reads(spark_session_cluster: Any, tmp_path: Path) -> None:
    spark = spark_session_cluster
    assert spark.sparkContext.master.startswith("spark://127.0.0.1:")
    lake = Lake(tmp_path / "lake")
    rows = [(i, f"c{i % 3}", datetime(2011, 1, 1 + i, 23, 30), i * 1.25, 2010 + i % 2)
            for i in range(8)]
    df = spark.createDataFrame(rows, "id long, cust string, ts timestamp, amount double, "
                                     "year int").repartition(3)
    lake.write_spark(df, "facts", partition_by=["year"])
    lake.write_spark(df.limit(0), "nothing")
    assert lake.tables() == ["facts", "nothing"] and lake.partitioned("facts")
    con = duckdb.connect()
    lake.attach_duckdb(con)
    got = con.execute("SELECT id, cust, ts, amount, year FROM facts ORDER BY id").fetchall()
    assert got == rows  # naive wall-clock timestamps survive (TIMESTAMP_NTZ), partitions too
    assert con.execute("SELECT count(*) FROM nothing").fetchone() == (0,)
    back = lake.read_spark(spark, "facts")
    assert back.count() == 8 and back.agg({"amount": "sum"}).first()[0] == 35.0
    # replace: the old folder is swapped out, staging left empty
    lake.write_spark(df.where("id < 2"), "facts")
    assert lake.read_spark(spark, "facts").count() == 2 and not lake.partitioned("facts")
    assert list((tmp_path / "lake" / "_staging").iterdir()) == []
