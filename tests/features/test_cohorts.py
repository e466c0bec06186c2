"""Cohort grid on a tiny hand-made orders table (known answer)."""

from __future__ import annotations

from datetime import date, datetime

import ibis
import pandas as pd
import pytest

from insightloop.features.cohorts import COHORT_COLUMNS, cohort_expr


@pytest.fixture()
def orders() -> ibis.Table:
    frame = pd.DataFrame({
        "customer_id": ["a", "a", "b", "b", "c", None, "d"],
        "order_id": ["1", "2", "3", "4", "5", "6", "C7"],
        "quantity": [1, 2, 1, -1, 3, 1, -2],
        "unit_price": [10.0, 5.0, 20.0, 20.0, 1.0, 1.0, 4.0],
        "order_time": pd.to_datetime(["2020-01-05T00:00", "2020-03-01T10:00", "2020-01-20",
                                      "2020-02-03", "2020-02-10", "2020-01-01",
                                      "2020-01-07"], format="ISO8601"),
        "status": ["completed", "completed", "completed", "returned", "completed",
                   "completed", "cancelled"],
    })
    return ibis.duckdb.connect().create_table("orders", frame)


def test_cohort_grid_known_answer(orders: ibis.Table) -> None:
    out = cohort_expr(orders).to_pandas()
    assert tuple(out.columns) == COHORT_COLUMNS
    expected = pd.DataFrame({
        "cohort_month": [date(2020, 1, 1)] * 3 + [date(2020, 2, 1)] * 2,
        "period": [0, 1, 2, 0, 1],
        "customers": [2, 2, 2, 1, 1],
        "active": [2, 0, 1, 1, 0],
        "retention": [1.0, 0.0, 0.5, 1.0, 0.0],
        "revenue": [30.0, -20.0, 10.0, 3.0, 0.0],
        "cumulative_revenue_per_customer": [15.0, 5.0, 10.0, 3.0, 3.0],
    })
    out["cohort_month"] = pd.to_datetime(out["cohort_month"]).dt.date
    pd.testing.assert_frame_equal(out, expected, check_dtype=False)


def test_cohort_grid_point_in_time(orders: ibis.Table) -> None:
    out = cohort_expr(orders, as_of=datetime(2020, 2, 5)).to_pandas()
    # c's first purchase (Feb 10) and a's March order are after the cut-off.
    assert out["period"].tolist() == [0, 1]
    assert out["customers"].tolist() == [2, 2]
    assert out["revenue"].tolist() == [30.0, -20.0]


def test_gap_months_are_filled() -> None:
    con = ibis.duckdb.connect()
    frame = pd.DataFrame({"customer_id": ["x", "x"], "order_id": ["1", "2"],
                          "quantity": [1, 1], "unit_price": [2.0, 3.0],
                          "order_time": pd.to_datetime(["2021-11-30", "2022-02-01"]),
                          "status": pd.Series([None, None], dtype="string")})
    out = cohort_expr(con.create_table("o", frame)).to_pandas()
    assert out["period"].tolist() == [0, 1, 2, 3]
    assert out["active"].tolist() == [1, 0, 0, 1]
    assert out["cumulative_revenue_per_customer"].tolist() == [2.0, 2.0, 2.0, 5.0]
