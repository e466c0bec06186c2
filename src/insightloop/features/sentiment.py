"""Review-sentiment aggregates per customer and per product, in SQL over ``review_sentiment``.

Shared by the sentiment service (tables ``customer_sentiment`` and ``product_sentiment``,
rewritten after every scoring run) and the profiles service (point-in-time predictive
features), which is why they live below both.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

_PROFILE_SQL = """
SELECT {key}, count(*) AS {count_col}, avg(score) AS sentiment_avg,
       arg_max(score, review_time) AS sentiment_last,
       count(*) FILTER (WHERE label = 'negative') AS complaint_count{extra}
FROM review_sentiment WHERE {key} IS NOT NULL GROUP BY {key}
"""


def write_sentiment_profiles(con: Any) -> None:
    """(Re)create tables ``customer_sentiment`` and ``product_sentiment`` from
    ``review_sentiment`` (run inside the caller's transaction)."""
    con.execute("CREATE OR REPLACE TABLE customer_sentiment AS " + _PROFILE_SQL.format(
        key="customer_id", count_col="sentiment_reviews", extra=""))
    con.execute("CREATE OR REPLACE TABLE product_sentiment AS " + _PROFILE_SQL.format(
        key="product_id", count_col="reviews",
        extra=", avg(CASE label WHEN 'positive' THEN 1.0 WHEN 'negative' THEN -1.0 "
              "ELSE 0.0 END) AS net_sentiment"))


def customer_sentiment_features(con: Any, as_of: Any) -> pd.DataFrame:
    """Point-in-time review sentiment per customer from reviews strictly before ``as_of``.

    Columns customer_id, sentiment_reviews, sentiment_avg, sentiment_last,
    complaint_count; used as predictive-model features by ``compute_profiles``
    (customers without reviews get NaN / 0 after the join).
    """
    sql = _PROFILE_SQL.format(key="customer_id", count_col="sentiment_reviews", extra="")
    sql = sql.replace("WHERE customer_id IS NOT NULL",
                      "WHERE customer_id IS NOT NULL AND review_time < ?")
    return con.execute(sql, [as_of]).df()
