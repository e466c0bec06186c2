"""Ingest and profiles on a real Spark standalone cluster (2 workers) into a lake equal
the DuckDB warehouse's: the same orders, the same quarantine, the same profiles."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest

from contexts import ctx_of
from insightloop.errors import WarehouseError
from insightloop.services.ingest import ingest_result
from insightloop.services.profiles import build_profiles, get_profile
from insightloop.settings import Settings
from insightloop.storage.lake import Lake
from shared_data import SAMPLE

pytestmark = [pytest.mark.spark, pytest.mark.slow]

HEADER = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country"
PLANTED = [
    "536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,2010-12-01 08:26:00,2.55,17850.0,"
    "United Kingdom",                                      # the file's first line again
    "536365,71053,WHITE METAL LANTERN,7,2010-12-01 08:26:00,3.39,17850.0,United Kingdom",
    "999001,85123A,BAD QUANTITY,abc,2011-01-05 10:00:00,2.55,17850.0,United Kingdom",
    "999002,85123A,NO DATE,3,,2.55,17850.0,United Kingdom",
    "999003,85123A,FUTURE,3,2099-01-01 10:00:00,2.55,17850.0,United Kingdom",
    "999004,85123A,ZERO PRICE? NEGATIVE,2,2011-02-01 10:00:00,-5,17850.0,United Kingdom",
]


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    text = gzip.decompress(SAMPLE.read_bytes()).decode("utf-8")
    assert text.startswith(HEADER)
    path = tmp_path_factory.mktemp("planted") / "orders.csv"
    path.write_text(text.rstrip("\n") + "\n" + "\n".join(PLANTED) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def both(planted: Path, spark_session_cluster: Any,
         tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The planted file ingested (twice on Spark) and profiles built on both engines."""
    root = tmp_path_factory.mktemp("engines")
    duck = ctx_of(root / "wh.duckdb")
    master = spark_session_cluster.sparkContext.master
    spark = ctx_of(Settings.load(warehouse=root / "lake", env={}), engine="spark",
                   spark_master=master)
    kw: dict[str, Any] = {"preset": "online-retail", "max_quarantine_share": None}
    out = {"duck": duck, "spark": spark, "lake": Lake(root / "lake"),
           "duck_result": ingest_result(duck, "orders", planted, **kw),
           "spark_result": ingest_result(spark, "orders", planted, **kw)}
    out["rerun"] = ingest_result(spark, "orders", planted, **kw)
    out["duck_profiles"] = build_profiles(duck)
    out["spark_profiles"] = build_profiles(spark)
    return out


def _table(ctx: Any, sql: str) -> pd.DataFrame:
    with ctx.read() as con:
        return con.execute(sql).df()


def test_ingest_accounting_orders_and_quarantine_equal(both: dict[str, Any]) -> None:
    d, s = both["duck_result"], both["spark_result"]
    counts = ("rows_in", "rows_loaded", "rows_quarantined", "rows_duplicate")
    assert [getattr(s, c) for c in counts] == [getattr(d, c) for c in counts]
    assert d.rows_in == 36612 + len(PLANTED)
    assert d.rows_quarantined >= 4  # the sample's own bad lines and the planted ones
    assert s.rows_in == s.rows_loaded + s.rows_quarantined + s.rows_duplicate
    cols = "order_id, line_no, customer_id, product_id, quantity, unit_price, order_time, status"
    orders = f"SELECT {cols} FROM orders ORDER BY order_id, line_no"
    pd.testing.assert_frame_equal(_table(both["duck"], orders), _table(both["spark"], orders),
                                  check_dtype=False)
    quarantine = ("SELECT line, column_name, reason, raw FROM quarantine "
                  "ORDER BY line, column_name")
    dq, sq = _table(both["duck"], quarantine), _table(both["spark"], quarantine)
    assert len(dq) == d.rows_quarantined
    pd.testing.assert_frame_equal(dq, sq, check_dtype=False)


def test_rerun_loads_nothing_new(both: dict[str, Any]) -> None:
    first, again = both["spark_result"], both["rerun"]
    assert again.rows_loaded == 0
    assert again.rows_duplicate == again.rows_in - again.rows_quarantined
    log = _table(both["spark"], "SELECT rows_loaded, rows_duplicate FROM ingest_log "
                                "ORDER BY finished_at")
    assert log.values.tolist() == [[first.rows_loaded, first.rows_duplicate],
                                   [0, again.rows_duplicate]]
    n = _table(both["spark"], "SELECT count(*) AS n FROM quarantine")["n"].iloc[0]
    assert n == first.rows_quarantined  # replaced, not repeated


def test_profiles_equal_and_readable_from_the_lake(both: dict[str, Any]) -> None:
    d, s = both["duck_profiles"], both["spark_profiles"]
    assert s["customers"] == d["customers"] > 300 and s["as_of"] == d["as_of"]
    assert s["engine"] == "spark"
    query = "SELECT * FROM profiles ORDER BY customer_id"
    dp, sp = _table(both["duck"], query), _table(both["spark"], query)
    assert list(dp.columns) == list(sp.columns)
    for col in sp.columns:
        if pd.api.types.is_float_dtype(dp[col]):
            pd.testing.assert_series_equal(dp[col], sp[col].astype("float64"), rtol=1e-12,
                                           atol=1e-9)
        else:
            assert dp[col].astype(str).tolist() == sp[col].astype(str).tolist(), col
    one = str(sp["customer_id"].iloc[0])
    assert get_profile(both["spark"], one)["monetary"] == pytest.approx(sp["monetary"].iloc[0])


def test_duckdb_reads_the_layout_and_refuses_to_write_it(both: dict[str, Any]) -> None:
    lake = both["lake"]
    assert {"orders", "quarantine", "ingest_log", "profiles"} <= set(lake.tables())
    con = duckdb.connect()
    lake.attach_duckdb(con)
    (n,) = con.execute("SELECT count(*) FROM orders").fetchone() or (0,)
    assert n == both["spark_result"].rows_loaded
    with (pytest.raises(WarehouseError, match="written by the Spark stages"),
          both["spark"].warehouse.transaction()):
        pass
