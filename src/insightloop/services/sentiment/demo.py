"""The demo's reviews: bundled real texts linked to demo customers and products."""

from __future__ import annotations

import importlib.resources
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from insightloop.errors import WarehouseError
from insightloop.services.context import Context
from insightloop.services.ingest import ingest
from insightloop.services.results import IngestSummary
from insightloop.services.sentiment.scoring import score_reviews
from insightloop.services.sentiment.topics import discover_topics

REVIEWS_SAMPLE = "reviews_sample.csv.gz"


def demo_reviews(ctx: Context) -> pd.DataFrame:
    """The bundled real review texts linked to demo customers and products (synthetic link).

    Texts are real (Blitzer multi-domain en, online_shopping_10_cats zh; test-split
    rows only, see data/ATTRIBUTION.md); who wrote them about what is NOT: review
    ``i`` is attached, deterministically, to the ``i``-th of a fixed, evenly spaced
    selection of order lines (customer, product), dated 3-16 days after that order.
    Reviews are concentrated on the 40 most ordered products so products have
    several reviews each.
    """
    sample = pd.read_csv(Path(str(importlib.resources.files("insightloop.data")
                                  / REVIEWS_SAMPLE)), dtype={"text": str})
    with ctx.read() as con:
        lines = con.execute("""
            WITH top AS (SELECT product_id FROM orders WHERE customer_id IS NOT NULL
                         GROUP BY product_id ORDER BY count(*) DESC, product_id LIMIT 40)
            SELECT o.customer_id, o.product_id, min(o.order_time) AS order_time
            FROM orders o JOIN top USING (product_id)
            WHERE o.customer_id IS NOT NULL AND o.quantity > 0
            GROUP BY o.customer_id, o.product_id
            ORDER BY order_time, customer_id, product_id""").df()
    if lines.empty:
        raise WarehouseError("demo reviews need orders with customers; ingest orders first")
    pick = np.linspace(0, len(lines) - 1, num=len(sample)).round().astype(np.int64)
    chosen = lines.iloc[pick].reset_index(drop=True)
    offset = pd.to_timedelta(3 + np.arange(len(sample)) % 14, unit="D")
    return pd.DataFrame({
        "review_id": [f"demo-r{i:04d}" for i in range(len(sample))],
        "customer_id": chosen["customer_id"].astype(str),
        "product_id": chosen["product_id"].astype(str),
        "review_time": pd.to_datetime(chosen["order_time"]) + offset,
        "rating": np.where(sample["label"].to_numpy() == 1, 5.0, 1.0),
        "text": sample["text"], "language": sample["language"],
    })


def ingest_demo_reviews(ctx: Context) -> IngestSummary:
    """Ingest :func:`demo_reviews` as table ``reviews`` (through the normal ingest path)."""
    frame = demo_reviews(ctx)
    with tempfile.TemporaryDirectory(prefix="insightloop-demo-") as folder:
        path = Path(folder) / "demo_reviews.csv"
        frame.to_csv(path, index=False)
        return ingest(ctx, "reviews", path)


def demo_stage(ctx: Context) -> dict[str, Any]:
    """The voice capability's demo stage (``insightloop.capabilities.voice``): the bundled
    reviews ingested and scored, and 8 topics found among them (their count reported)."""
    ingested = ingest_demo_reviews(ctx)
    scored = score_reviews(ctx)
    topics = discover_topics(ctx, k=8)
    return {"ingest": ingested, "scored": scored, "topics": len(topics["topics"])}
