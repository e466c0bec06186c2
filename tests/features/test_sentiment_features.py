"""Review-sentiment aggregates (features/sentiment.py) on hand-computed known answers."""

from __future__ import annotations

from datetime import datetime

import duckdb
import pandas as pd
import pytest

from insightloop.features.sentiment import customer_sentiment_features, write_sentiment_profiles

REVIEWS = pd.DataFrame({
    "customer_id": ["a", "a", "a", "b", None],
    "product_id": ["p", "q", "p", "p", "r"],
    "review_time": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-03-01", "2024-01-15",
                                   "2024-01-20"]),
    "label": ["positive", "negative", "neutral", "negative", "positive"],
    "score": [0.9, -0.8, 0.1, -0.6, 0.7],
})


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    c = duckdb.connect()
    c.register("_r", REVIEWS)
    c.execute("CREATE TABLE review_sentiment AS SELECT * FROM _r")
    return c


def test_customer_features_use_only_reviews_before_as_of(con: duckdb.DuckDBPyConnection
                                                         ) -> None:
    got = customer_sentiment_features(con, datetime(2024, 3, 1)).set_index("customer_id")
    # a: the 2024-03-01 review is not strictly before as-of; b: one complaint; None dropped
    assert sorted(got.index) == ["a", "b"]
    assert got.loc["a", "sentiment_reviews"] == 2
    assert got.loc["a", "sentiment_avg"] == pytest.approx((0.9 - 0.8) / 2)
    assert got.loc["a", "sentiment_last"] == pytest.approx(-0.8)  # 2024-02-01
    assert got.loc["a", "complaint_count"] == 1
    assert (got.loc["b", "sentiment_reviews"], got.loc["b", "complaint_count"]) == (1, 1)
    assert customer_sentiment_features(con, datetime(2024, 1, 1)).empty


def test_profile_tables_per_customer_and_product(con: duckdb.DuckDBPyConnection) -> None:
    write_sentiment_profiles(con)
    cust = con.execute("SELECT * FROM customer_sentiment ORDER BY customer_id").df()
    assert cust["customer_id"].tolist() == ["a", "b"]
    assert cust["sentiment_reviews"].tolist() == [3, 1]
    assert cust["sentiment_last"].tolist() == pytest.approx([0.1, -0.6])
    prod = con.execute("SELECT * FROM product_sentiment ORDER BY product_id").df()
    assert prod["product_id"].tolist() == ["p", "q", "r"]  # r: its reviewer is unknown
    assert prod["reviews"].tolist() == [3, 1, 1]
    # p: positive, neutral, negative; q: negative; r: positive
    assert prod["net_sentiment"].tolist() == pytest.approx([0.0, -1.0, 1.0])
    assert prod["complaint_count"].tolist() == [1, 1, 0]
    assert prod["sentiment_avg"].tolist() == pytest.approx([(0.9 + 0.1 - 0.6) / 3, -0.8, 0.7])
