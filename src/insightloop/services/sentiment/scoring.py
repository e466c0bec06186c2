"""``insightloop sentiment score``: score every warehouse review and write the sentiment tables."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from insightloop.errors import WarehouseError
from insightloop.features.sentiment import write_sentiment_profiles
from insightloop.services.context import Context
from insightloop.services.profiles import refresh_customer_360
from insightloop.services.results import ReviewsScored
from insightloop.services.sentiment.model import BATCH, ProgressFn, load_sentiment_model
from insightloop.storage.warehouse import has_table, write_frame


def score_reviews(ctx: Context, on_progress: ProgressFn | None = None,
                  batch_size: int = BATCH, model: str = "default") -> ReviewsScored:
    """Score every review in the warehouse and write the sentiment tables (one transaction)."""
    wh = ctx.warehouse
    with wh.connect(read_only=wh.exists) as con:
        if not has_table(con, "reviews"):
            raise WarehouseError("no reviews table; ingest reviews first "
                                 "(`insightloop ingest reviews FILE`)")
        reviews = con.execute(
            "SELECT review_id, customer_id, product_id, review_time, rating, text "
            "FROM reviews ORDER BY review_time, review_id").df()
    if reviews.empty:
        raise WarehouseError("table `reviews` is empty; ingest reviews first "
                             "(`insightloop ingest reviews FILE`)")
    scorer = load_sentiment_model(ctx, model)
    started = time.perf_counter()
    frames, aspects = [], []
    n = len(reviews)
    for start in range(0, n, batch_size):
        part = reviews["text"].iloc[start:start + batch_size].tolist()
        frame, asp = scorer.score_frame(part)
        frames.append(frame)
        asp["doc"] = asp["doc"].astype(np.int64) + start
        aspects.append(asp)
        if on_progress:
            on_progress(min(start + batch_size, n), n)
    scored = pd.concat(frames, ignore_index=True)
    keys = reviews.loc[:, ["review_id", "customer_id", "product_id", "review_time"]]
    table = pd.concat([keys.reset_index(drop=True), scored], axis=1)
    table["model"] = scorer.name
    asp_all = pd.concat(aspects, ignore_index=True)
    asp_table = pd.concat([keys.iloc[asp_all["doc"].to_numpy()].reset_index(drop=True),
                           asp_all.loc[:, ["aspect", "sentiment", "probability"]]
                           .reset_index(drop=True)], axis=1)
    asp_table["probability"] = asp_table["probability"].astype("float64")
    elapsed = time.perf_counter() - started
    with wh.transaction() as con:
        write_frame(con, "review_sentiment", table)
        write_frame(con, "review_aspects", asp_table)
        write_sentiment_profiles(con)
        refresh_customer_360(con)
    counts = table["label"].value_counts()
    return {"reviews": n, "model": scorer.name,
            "positive": int(counts.get("positive", 0)),
            "negative": int(counts.get("negative", 0)),
            "neutral": int(counts.get("neutral", 0)),
            "truncated": int(table["truncated"].sum()),
            "aspect_mentions": len(asp_table),
            "reviews_per_second": n / elapsed if elapsed > 0 else None,
            "languages": {str(k): int(v) for k, v in table["language"].value_counts().items()}}
