"""Hostile values and names at the feature SQL builders: known answers, nothing else runs.

``warehouse_interactions_sql`` binds event kinds, weights and the half-life as parameters;
``features.quality`` quotes every name and binds the fence multiplier. Each property
checks the answer against numpy/pandas and the database fingerprint afterwards.
"""

from __future__ import annotations

import math

import duckdb
import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from insightloop.errors import InsightloopError, SchemaError
from insightloop.features.interactions import warehouse_interactions_sql
from insightloop.features.quality import outlier_stats, table_quality
from insightloop.storage.schema import TABLES
from insightloop.storage.warehouse import Warehouse
from sql_safety_helpers import fingerprint_con, hostile_text

PROPERTY = settings(max_examples=15, deadline=None, derandomize=True, database=None)
DAY = pd.Timestamp("2024-01-10")


def _events(con: duckdb.DuckDBPyConnection, rows: list[tuple[str, str, str, int]]) -> None:
    frame = pd.DataFrame(rows, columns=["customer_id", "product_id", "event_type", "age"])
    frame["event_time"] = DAY - pd.to_timedelta(frame.pop("age"), unit="D")
    con.register("frame", frame)
    con.execute("CREATE OR REPLACE TABLE events AS SELECT * FROM frame")
    con.unregister("frame")


kinds = st.lists(hostile_text(3).filter(lambda s: s != "other"), min_size=1, max_size=3,
                 unique=True)


@PROPERTY
@given(kinds=kinds, ids=st.lists(hostile_text(3), min_size=2, max_size=2, unique=True),
       weights=st.lists(st.floats(0.01, 100), min_size=3, max_size=3))
def test_event_kinds_and_ids_are_values(kinds: list[str], ids: list[str], weights: list[float]
                                        ) -> None:
    con = duckdb.connect()
    rows = [(ids[0], ids[1], k, 0) for k in kinds] + [(ids[1], ids[0], "other", 0)]
    _events(con, rows)
    before = fingerprint_con(con)
    wts = dict(zip(kinds, weights, strict=False))
    sql, params = warehouse_interactions_sql({"events"}, wts)
    got = con.execute(sql, params).df()
    assert got[["customer_id", "product_id"]].values.tolist() == [[ids[0], ids[1]]]
    assert got["weight"].iloc[0] == pytest.approx(sum(wts.values()))
    assert fingerprint_con(con) == before


@PROPERTY
@given(half_life=st.floats(0.001, 1e6), ages=st.lists(st.integers(0, 400), min_size=1,
                                                      max_size=5))
def test_half_life_is_bound_and_exact(half_life: float, ages: list[int]) -> None:
    con = duckdb.connect()
    _events(con, [("c'1", "p\"1", "view", a) for a in ages] + [("c2", "p2", "view", 0)])
    sql, params = warehouse_interactions_sql({"events"}, {"view": 1.0}, half_life)
    got = con.execute(sql, params).df().set_index("customer_id")["weight"]
    expected = sum(0.5 ** (a / half_life) for a in ages)
    assert got["c'1"] == pytest.approx(expected, rel=1e-9, abs=1e-300)


@pytest.mark.parametrize("half_life", [0.0, -1.0, math.inf, math.nan])
def test_half_life_must_be_a_positive_number(half_life: float) -> None:
    with pytest.raises(SchemaError, match="half_life_days must be a number > 0"):
        warehouse_interactions_sql({"events"}, None, half_life)


@pytest.fixture(scope="module")
def quality_db() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    Warehouse.ensure_schema(con)
    rng = np.random.default_rng(3)
    qty = [*rng.integers(1, 20, 300).tolist(), 5000, -3]
    names = [f"p'{i}\"; DROP TABLE orders; --" for i in range(len(qty))]
    frame = pd.DataFrame({"order_id": [f"o{i}" for i in range(len(qty))],
                          "line_no": 1, "customer_id": "c'1", "product_id": names,
                          "quantity": qty, "unit_price": 2.0,
                          "order_time": pd.Timestamp("2024-01-01")})
    con.register("frame", frame)
    con.execute("INSERT INTO orders BY NAME SELECT * FROM frame")
    con.unregister("frame")
    return con


@PROPERTY
@given(k=st.floats(0.0, 50.0))
def test_outlier_fences_match_numpy(quality_db: duckdb.DuckDBPyConnection, k: float) -> None:
    before = fingerprint_con(quality_db)
    stats = outlier_stats(quality_db, "quantity", k)
    x = quality_db.execute("SELECT quantity FROM orders WHERE quantity > 0").df()["quantity"]
    q1, q3 = np.quantile(x, [0.25, 0.75])
    lo, hi = q1 - k * (q3 - q1), q3 + k * (q3 - q1)
    assert (stats.low, stats.high) == (int((x < lo).sum()), int((x > hi).sum()))
    assert table_quality(quality_db, TABLES["orders"]).rows == 302
    assert fingerprint_con(quality_db) == before


@PROPERTY
@given(column=hostile_text())
def test_hostile_column_name_is_a_missing_column(quality_db: duckdb.DuckDBPyConnection,
                                                  column: str) -> None:
    assume(column.casefold() not in {c.casefold() for c in TABLES["orders"].names})
    before = fingerprint_con(quality_db)
    with pytest.raises((duckdb.BinderException, InsightloopError)):
        outlier_stats(quality_db, column)
    assert fingerprint_con(quality_db) == before
