"""Satisfaction from scored reviews: per product/category/customer/month, one product, trend."""

from __future__ import annotations

from typing import cast

import pandas as pd

from insightloop.errors import NotFoundError, SchemaError, WarehouseError
from insightloop.models.sentiment import satisfaction as sat
from insightloop.services.context import Context
from insightloop.services.records import records
from insightloop.services.results import (
    Forecast,
    ProductInsights,
    SatisfactionRow,
    SentimentTrend,
)
from insightloop.storage.warehouse import has_table


def _scored(ctx: Context) -> tuple[pd.DataFrame, pd.DataFrame]:
    with ctx.read() as con:
        if not has_table(con, "review_sentiment"):
            raise WarehouseError("no review sentiment yet; run `insightloop sentiment score`")
        has_cat = has_table(con, "products")
        cat = ("LEFT JOIN (SELECT product_id, any_value(category) AS category FROM products "
               "GROUP BY product_id) p USING (product_id)") if has_cat else ""
        catcol = ", coalesce(p.category, '(none)') AS category" if has_cat else \
            ", '(none)' AS category"
        frame = con.execute(f"SELECT s.*{catcol} FROM review_sentiment s {cat}").df()
        aspects = con.execute(f"SELECT a.*{catcol} FROM review_aspects a {cat}").df()
    return frame, aspects


BY = {"product": "product_id", "category": "category", "customer": "customer_id",
      "month": "month"}


def satisfaction(ctx: Context, by: str = "product", top: int = 3) -> list[SatisfactionRow]:
    """Per product, category, customer or month: volume, shares, net sentiment, complaints.

    Rows are sorted by net sentiment, worst first (months: chronological).
    """
    if by not in BY:
        raise SchemaError(f"by must be one of {sorted(BY)}, got {by!r}")
    frame, aspects = _scored(ctx)
    col = BY[by]
    month = pd.to_datetime(frame["review_time"]).dt.to_period("M").astype(str)
    frame = frame.assign(month=month)
    aspects = aspects.assign(month=pd.to_datetime(aspects["review_time"]).dt.to_period("M")
                             .astype(str))
    out = sat.summarize(frame, col)
    complaints = sat.top_complaints(aspects, col, top=top)
    grouped = {k: [{"aspect": str(a), "count": int(c)} for a, c in zip(g["aspect"], g["count"],
                                                                        strict=True)]
               for k, g in complaints.groupby(col, sort=False)}
    out["top_complaints"] = out[col].map(lambda k: grouped.get(k, []))
    if by == "month":
        out = out.sort_values(col)
    else:
        out = out.sort_values(["net_sentiment", "reviews", col], ascending=[True, False, True])
    return cast("list[SatisfactionRow]", records(out.rename(columns={col: by})))


def product_insights(ctx: Context, product_id: str, top: int = 5) -> ProductInsights:
    """One product: shares, net sentiment, top complaint aspects, monthly trend and forecast."""
    frame, aspects = _scored(ctx)
    mine = frame.loc[frame["product_id"].astype(str) == str(product_id)]
    if mine.empty:
        raise NotFoundError(f"product {product_id!r} has no scored reviews")
    summary = sat.summarize(mine.assign(_k=0), "_k").iloc[0]
    mine_asp = aspects.loc[aspects["product_id"].astype(str) == str(product_id)]
    complaints = sat.top_complaints(mine_asp.assign(_k=0), "_k", top=top)
    monthly = sat.monthly_trend(mine)
    alerts = sat.drop_alerts(frame)
    alert = alerts.loc[alerts["product_id"].astype(str) == str(product_id)]
    return {
        "product_id": str(product_id), "reviews": int(summary["reviews"]),
        "positive_share": float(summary["positive_share"]),
        "negative_share": float(summary["negative_share"]),
        "net_sentiment": float(summary["net_sentiment"]),
        "top_complaints": [{"aspect": str(a), "count": int(c)}
                           for a, c in zip(complaints["aspect"], complaints["count"],
                                           strict=True)],
        "monthly": [{"month": pd.Timestamp(m).strftime("%Y-%m"), "reviews": int(r),
                     "net_sentiment": float(v)}
                    for m, r, v in zip(monthly["month"], monthly["reviews"],
                                       monthly["net_sentiment"], strict=True)],
        "forecast": cast(Forecast, sat.forecast_next(monthly)),
        "alert": records(alert)[0] if not alert.empty else None,
    }


def sentiment_trend(ctx: Context, recent_days: int = 90, alpha: float = 0.05
                    ) -> SentimentTrend:
    """Monthly net sentiment overall, next month's forecast, and product drop alerts."""
    frame, _ = _scored(ctx)
    monthly = sat.monthly_trend(frame)
    alerts = sat.drop_alerts(frame, recent_days=recent_days, alpha=alpha)
    return {"monthly": records(monthly.assign(month=monthly["month"].dt.strftime("%Y-%m"))),
            "forecast": cast(Forecast, sat.forecast_next(monthly)), "alerts": records(alerts),
            "test": f"one-sided two-proportion z-test of the negative share, last {recent_days} "
                    f"days vs before, alpha {alpha}"}
