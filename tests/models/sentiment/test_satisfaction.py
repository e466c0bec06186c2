"""Known-answer tests of the satisfaction aggregates, forecast and drop alerts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from insightloop.models.sentiment import satisfaction as sat


def test_summarize_and_complaints_known_answer() -> None:
    f = pd.DataFrame({"product_id": ["a"] * 4 + ["b"] * 2,
                      "label": ["positive", "negative", "negative", "neutral", "positive",
                                "positive"],
                      "score": [0.9, -0.8, -0.4, 0.1, 0.6, 0.2]})
    out = sat.summarize(f, "product_id").set_index("product_id")
    assert out.loc["a", "reviews"] == 4
    assert out.loc["a", "negative_share"] == pytest.approx(0.5)
    assert out.loc["a", "net_sentiment"] == pytest.approx(-0.25)
    assert out.loc["b", "net_sentiment"] == pytest.approx(1.0)
    assert out.loc["a", "mean_score"] == pytest.approx(-0.05)
    asp = pd.DataFrame({"product_id": ["a", "a", "a", "a", "b"],
                        "aspect": ["price", "quality", "price", "delivery", "price"],
                        "sentiment": ["negative", "negative", "negative", "positive",
                                      "positive"]})
    top = sat.top_complaints(asp, "product_id", top=2)
    assert top.values.tolist() == [["a", "price", 2], ["a", "quality", 1]]


def test_forecast_follows_linear_trend() -> None:
    months = pd.date_range("2024-01-01", periods=5, freq="MS")
    m = pd.DataFrame({"month": months, "reviews": [5, 8, 3, 9, 4],
                      "net_sentiment": 0.6 - 0.1 * np.arange(5)})
    f = sat.forecast_next(m)
    assert f["month"] == "2024-06"
    assert f["net_sentiment"] == pytest.approx(0.1)
    assert f["slope_per_month"] == pytest.approx(-0.1)
    assert sat.forecast_next(m.head(1))["net_sentiment"] == pytest.approx(0.6)


def test_drop_alert_two_proportion_z_test() -> None:
    t0 = pd.Timestamp("2024-01-01")
    rows = []
    # product "bad": 10% negative for 300 days, then 60% negative in the last 60 days
    for i in range(100):
        rows.append(("bad", t0 + pd.Timedelta(days=3 * i), "negative" if i % 10 == 0
                     else "positive"))
    for i in range(20):
        rows.append(("bad", t0 + pd.Timedelta(days=305 + 3 * i), "negative" if i % 5 < 3
                     else "positive"))
    # product "steady": same 20% negative share in both windows
    for i in range(100):
        rows.append(("steady", t0 + pd.Timedelta(days=3 * i), "negative" if i % 5 == 0
                     else "positive"))
    for i in range(20):
        rows.append(("steady", t0 + pd.Timedelta(days=305 + 3 * i), "negative" if i % 5 == 0
                     else "positive"))
    f = pd.DataFrame(rows, columns=["product_id", "review_time", "label"])
    alerts = sat.drop_alerts(f, recent_days=60)
    assert alerts["product_id"].tolist() == ["bad"]
    a = alerts.iloc[0]
    assert (a["reviews_before"], a["reviews_recent"]) == (100, 20)
    assert a["negative_share_before"] == pytest.approx(0.1)
    assert a["negative_share_recent"] == pytest.approx(0.6)
    p0, p1, pooled = 0.1, 0.6, 22 / 120
    z = (p1 - p0) / np.sqrt(pooled * (1 - pooled) * (1 / 100 + 1 / 20))
    assert a["z"] == pytest.approx(z)
