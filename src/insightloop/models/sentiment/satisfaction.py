"""Satisfaction aggregates, trend forecast and drop alerts on scored reviews (pure pandas).

Input: one row per review with ``label`` (positive/negative/neutral), ``score``
in [-1, 1] and the grouping columns. Net sentiment = positive share − negative
share (in [-1, 1], like a net promoter score on reviews).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import stats


def summarize(frame: pd.DataFrame, by: str) -> pd.DataFrame:
    """Per value of ``by``: reviews, shares, net sentiment and mean score.

    >>> f = pd.DataFrame({"p": ["a", "a", "a", "b"],
    ...                   "label": ["positive", "negative", "positive", "neutral"],
    ...                   "score": [0.8, -0.6, 0.4, 0.0]})
    >>> out = summarize(f, "p")[["p", "reviews", "positive_share", "net_sentiment"]]
    >>> out.round(3).values.tolist()
    [['a', 3, 0.667, 0.333], ['b', 1, 0.0, 0.0]]
    """
    f = frame.assign(_pos=frame["label"].eq("positive").astype(float),
                     _neg=frame["label"].eq("negative").astype(float),
                     _neu=frame["label"].eq("neutral").astype(float))
    g = f.groupby(by, sort=True, dropna=True)
    out = pd.DataFrame({
        "reviews": g.size().astype("int64"),
        "positive_share": g["_pos"].mean(),
        "negative_share": g["_neg"].mean(),
        "neutral_share": g["_neu"].mean(),
        "mean_score": g["score"].mean(),
    })
    out["net_sentiment"] = out["positive_share"] - out["negative_share"]
    return out.reset_index()


def top_complaints(aspects: pd.DataFrame, by: str, top: int = 3) -> pd.DataFrame:
    """Most frequent negative aspects per group: columns by, aspect, count (ranked)."""
    neg = aspects.loc[aspects["sentiment"].eq("negative")]
    if neg.empty:
        return pd.DataFrame(columns=[by, "aspect", "count"])
    counts = neg.groupby([by, "aspect"]).size().rename("count").reset_index()
    counts = counts.sort_values([by, "count", "aspect"], ascending=[True, False, True])
    return counts.groupby(by, sort=False).head(top).reset_index(drop=True)


def monthly_trend(frame: pd.DataFrame, time_col: str = "review_time") -> pd.DataFrame:
    """Reviews and net sentiment per calendar month (months without reviews omitted)."""
    month = pd.to_datetime(frame[time_col]).dt.to_period("M").dt.to_timestamp()
    out = summarize(frame.assign(month=month), "month")
    return out.loc[:, ["month", "reviews", "net_sentiment", "mean_score"]]


def forecast_next(monthly: pd.DataFrame, window: int = 6) -> dict[str, Any]:
    """Next month's net sentiment: review-weighted linear trend over the last ``window`` months.

    Returns ``{"month", "net_sentiment", "slope_per_month", "basis_months"}``; with one
    month of history the forecast is that month's value (slope 0).

    >>> m = pd.DataFrame({"month": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-03-01"]),
    ...                   "reviews": [10, 10, 10], "net_sentiment": [0.5, 0.4, 0.3]})
    >>> r = forecast_next(m)
    >>> str(r["month"]), round(r["net_sentiment"], 3), round(r["slope_per_month"], 3)
    ('2024-04', 0.2, -0.1)
    """
    if monthly.empty:
        return {"month": None, "net_sentiment": None, "slope_per_month": None,
                "basis_months": 0}
    m = monthly.sort_values("month").tail(window)
    periods = pd.to_datetime(m["month"]).dt.to_period("M")
    t = np.array([(p - periods.iloc[0]).n for p in periods], dtype=float)
    y = m["net_sentiment"].to_numpy(dtype=float)
    w = m["reviews"].to_numpy(dtype=float)
    nxt = periods.iloc[-1] + 1
    if len(m) < 2:
        return {"month": str(nxt), "net_sentiment": float(y[-1]), "slope_per_month": 0.0,
                "basis_months": 1}
    slope, intercept = np.polyfit(t, y, 1, w=np.sqrt(w))
    pred = float(np.clip(intercept + slope * (t[-1] + 1), -1.0, 1.0))
    return {"month": str(nxt), "net_sentiment": pred, "slope_per_month": float(slope),
            "basis_months": len(m)}


def drop_alerts(frame: pd.DataFrame, by: str = "product_id", time_col: str = "review_time",
                recent_days: int = 90, alpha: float = 0.05, min_reviews: int = 5
                ) -> pd.DataFrame:
    """Groups whose negative share rose significantly in the last ``recent_days``.

    One-sided two-proportion z-test of the negative share, recent window (ending at
    the latest review overall) against everything before it; groups need
    ``min_reviews`` in each window. Columns: by, reviews_before, reviews_recent,
    negative_share_before, negative_share_recent, z, p_value (ascending).
    """
    cols = [by, "reviews_before", "reviews_recent", "negative_share_before",
            "negative_share_recent", "z", "p_value"]
    if frame.empty:
        return pd.DataFrame(columns=cols)
    t = pd.to_datetime(frame[time_col])
    cut = t.max() - pd.Timedelta(days=recent_days)
    f = pd.DataFrame({by: frame[by].to_numpy(), "recent": (t > cut).to_numpy(),
                      "neg": frame["label"].eq("negative").to_numpy(dtype=float)})
    g = f.groupby([by, "recent"])["neg"].agg(["size", "sum"]).unstack("recent", fill_value=0)
    if (False not in g["size"].columns) or (True not in g["size"].columns):
        return pd.DataFrame(columns=cols)
    n0, n1 = g["size"][False].astype(float), g["size"][True].astype(float)
    x0, x1 = g["sum"][False].astype(float), g["sum"][True].astype(float)
    keep = (n0 >= min_reviews) & (n1 >= min_reviews)
    n0, n1, x0, x1 = n0[keep], n1[keep], x0[keep], x1[keep]
    p0, p1 = x0 / n0, x1 / n1
    pooled = (x0 + x1) / (n0 + n1)
    se = np.sqrt(pooled * (1 - pooled) * (1 / n0 + 1 / n1))
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.where(se > 0, (p1 - p0) / se, 0.0)
    p_value = stats.norm.sf(z)
    out = pd.DataFrame({by: n0.index.to_numpy(), "reviews_before": n0.to_numpy(dtype=np.int64),
                        "reviews_recent": n1.to_numpy(dtype=np.int64),
                        "negative_share_before": p0.to_numpy(),
                        "negative_share_recent": p1.to_numpy(), "z": z, "p_value": p_value})
    out = out.loc[(out["p_value"] < alpha) & (out["z"] > 0)]
    return out.sort_values(["p_value", by]).reset_index(drop=True).loc[:, cols]
