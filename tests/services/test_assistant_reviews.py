"""Review summaries on known reviews: claims counted per language with their review ids,
complaints ranked by volume with the trend of the last window against the one before."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from contexts import ctx_of
from insightloop.errors import ConfigError, NotFoundError
from insightloop.services.assistant import summarize_reviews
from insightloop.storage.warehouse import Warehouse


@pytest.fixture
def reviews_wh(tmp_path: Path) -> Path:
    path = tmp_path / "wh.duckdb"
    wh = Warehouse(path)
    day = pd.Timestamp("2024-06-30")
    # product P: five English reviews and two Chinese; Q: one English review
    reviews = pd.DataFrame({
        "review_id": ["r1", "r2", "r3", "r4", "r5", "z1", "z2", "q1"],
        "customer_id": ["c1"] * 8,
        "product_id": ["P"] * 7 + ["Q"],
        "review_time": [day - pd.Timedelta(days=d) for d in (1, 10, 100, 120, 200, 5, 6, 1)],
        "rating": [1.0] * 8, "text": ["..."] * 8,
        "language": ["en"] * 5 + ["zh", "zh", "en"]})
    aspects = pd.DataFrame(
        [("r1", "delivery", "negative"), ("r2", "delivery", "negative"),
         ("r3", "delivery", "negative"), ("r3", "price", "positive"),
         ("r4", "quality", "negative"), ("r5", "quality", "negative"),
         ("r5", "price", "neutral"), ("z1", "price", "positive"), ("z2", "price", "positive"),
         ("q1", "delivery", "negative")], columns=["review_id", "aspect", "sentiment"])
    aspects = aspects.merge(reviews[["review_id", "customer_id", "product_id", "review_time"]])
    aspects["probability"] = 0.9
    wh.write_frame("reviews", reviews)
    wh.write_frame("review_aspects", aspects)
    return path


def test_claims_and_complaints_with_evidence(reviews_wh: Path) -> None:
    out = summarize_reviews(ctx_of(reviews_wh), product="P", window=90)
    en, zh = out["languages"]
    assert (en["language"], en["reviews"], zh["language"], zh["reviews"]) == ("en", 5, "zh", 2)
    assert [(c["aspect"], c["sentiment"], c["reviews"], c["review_ids"]) for c in en["claims"]] \
        == [("delivery", "negative", 3, ["r1", "r2", "r3"]),
            ("quality", "negative", 2, ["r4", "r5"]), ("price", "positive", 1, ["r3"])]
    assert en["claims"][0]["text"] == "3 of 5 reviews complain about the delivery"
    # delivery: r1, r2 in the last 90 days, r3 in the 90 before; quality: r4 before, r5 older
    assert [(c["aspect"], c["recent"], c["before"], c["trend"]) for c in en["complaints"]] == [
        ("delivery", 2, 1, "rising"), ("quality", 0, 1, "falling")]
    assert zh["claims"] == [{"aspect": "price", "sentiment": "positive", "reviews": 2,
                             "text": "2条评论中有2条称赞价格", "review_ids": ["z1", "z2"]}]
    assert zh["complaints"] == []


def test_bad_requests(reviews_wh: Path) -> None:
    ctx = ctx_of(reviews_wh)
    with pytest.raises(NotFoundError, match="no reviews of product 'X'"):
        summarize_reviews(ctx, product="X")
    with pytest.raises(ConfigError, match="one product"):
        summarize_reviews(ctx)
    with pytest.raises(NotFoundError, match="no reviews of category 'toys'"):
        summarize_reviews(ctx, category="toys")
