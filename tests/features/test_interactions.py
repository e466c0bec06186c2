"""Interactions: mixed-type ids, duplicates, time decay, and the warehouse query."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

from insightloop.errors import ModelFitError, SchemaError
from insightloop.features.interactions import interactions_from_frame, warehouse_interactions_sql


def test_mixed_type_ids_and_duplicates_are_one_pair() -> None:
    frame = pd.DataFrame({"u": [17850.0, 17850.0, 12, None],
                          "i": ["A", "A", 3, "B"], "w": [1.0, 2.0, 1.0, 1.0]})
    inter = interactions_from_frame(frame, "u", "i", "w")
    assert inter.user_ids.tolist() == ["12", "17850"]
    assert inter.item_ids.tolist() == ["3", "A"]
    assert inter.matrix.toarray().tolist() == [[1.0, 0.0], [0.0, 3.0]]
    mixed = pd.DataFrame({"u": pd.Series([1, "1", 1.0], dtype=object), "i": ["x", "x", "y"]})
    assert interactions_from_frame(mixed, "u", "i").user_ids.tolist() == ["1"]


def test_time_decay_halves_per_half_life() -> None:
    frame = pd.DataFrame({"u": ["a", "a"], "i": ["x", "y"],
                          "t": pd.to_datetime(["2024-01-31", "2024-01-01"])})
    inter = interactions_from_frame(frame, "u", "i", time="t", half_life_days=30)
    np.testing.assert_allclose(inter.matrix.toarray(), [[1.0, 0.5]], rtol=1e-6)


def test_errors_name_the_problem() -> None:
    with pytest.raises(SchemaError, match="'item'"):
        interactions_from_frame(pd.DataFrame({"user": [1]}))
    with pytest.raises(ModelFitError, match="no usable interactions"):
        interactions_from_frame(pd.DataFrame({"user": [None], "item": ["a"]}))


def test_warehouse_sql_weights_events_and_skips_cancellations() -> None:
    con = duckdb.connect()
    con.execute("CREATE TABLE orders AS SELECT * FROM (VALUES "
                "('c1', 'p1', 2, 'completed', TIMESTAMP '2024-01-02'),"
                "('c1', 'p2', 1, 'cancelled', TIMESTAMP '2024-01-02'),"
                "('c1', 'p3', -1, 'returned', TIMESTAMP '2024-01-02'),"
                "(NULL, 'p1', 1, 'completed', TIMESTAMP '2024-01-02')"
                ") t(customer_id, product_id, quantity, status, order_time)")
    con.execute("CREATE TABLE events AS SELECT * FROM (VALUES "
                "('c1', 'p1', 'view', TIMESTAMP '2024-01-01'),"
                "('c2', 'p2', 'cart', TIMESTAMP '2024-01-01'),"
                "('c2', 'p2', 'login', TIMESTAMP '2024-01-01')"
                ") t(customer_id, product_id, event_type, event_time)")
    sql, params = warehouse_interactions_sql({"orders", "events"}, {"view": 0.25})
    got = con.execute(sql, params).df()
    assert got[["customer_id", "product_id"]].values.tolist() == [["c1", "p1"], ["c2", "p2"]]
    assert got["weight"].tolist() == pytest.approx([1.25, 0.5])
    sql, params = warehouse_interactions_sql({"orders", "events"}, with_purchased=True)
    assert con.execute(sql, params).df()["purchased"].tolist() == [True, False]
