"""Review topics: cluster review embeddings, name clusters by keywords, write the topic tables."""

from __future__ import annotations

from typing import cast

import numpy as np
import pandas as pd

from insightloop.errors import WarehouseError
from insightloop.models.sentiment.encoder import PretrainedEncoder
from insightloop.models.sentiment.text import clean_texts
from insightloop.models.sentiment.topics import cluster_topics
from insightloop.services.context import Context
from insightloop.services.records import records
from insightloop.services.results import Topic, TopicsFound
from insightloop.services.sentiment.model import BATCH, ProgressFn
from insightloop.storage.warehouse import has_table, write_frame


def discover_topics(ctx: Context, k: int | None = None, max_reviews: int = 20000,
                    seed: int = 0, on_progress: ProgressFn | None = None) -> TopicsFound:
    """Cluster review embeddings into topics named by keywords; writes the topic tables.

    At most ``max_reviews`` reviews (the most recent) are clustered.
    """
    wh = ctx.warehouse
    with ctx.read() as con:
        if not has_table(con, "reviews"):
            raise WarehouseError("no reviews table; ingest reviews first")
        sent = "LEFT JOIN review_sentiment s USING (review_id)" if has_table(
            con, "review_sentiment") else ""
        label = "s.label" if sent else "NULL"
        reviews = con.execute(
            f"SELECT r.review_id, r.text, {label} AS label FROM reviews r {sent} "
            "WHERE r.text IS NOT NULL AND length(trim(r.text)) > 0 "
            "ORDER BY r.review_time DESC, r.review_id LIMIT ?", [int(max_reviews)]).df()
    if len(reviews) < 2:
        raise WarehouseError("topic discovery needs at least two reviews with text")
    clean, _ = clean_texts(reviews["text"])
    encoder = PretrainedEncoder("sentence")
    chunks = []
    n = len(clean)
    for start in range(0, n, BATCH):
        chunks.append(encoder.encode(clean.iloc[start:start + BATCH].tolist()))
        if on_progress:
            on_progress(min(start + BATCH, n), n)
    labels, table = cluster_topics(np.vstack(chunks), clean.tolist(), k=k, seed=seed)
    names = table.set_index("topic_id")["name"]
    members = pd.DataFrame({"review_id": reviews["review_id"].to_numpy(), "topic_id": labels,
                            "topic_name": names.reindex(labels).to_numpy()})
    lab = reviews["label"]
    net = (lab.eq("positive").astype(float) - lab.eq("negative").astype(float))
    table["net_sentiment"] = (net.groupby(labels).mean().reindex(table["topic_id"]).to_numpy()
                              if lab.notna().any() else np.nan)
    with wh.transaction() as con:
        write_frame(con, "review_topics", members)
        write_frame(con, "review_topic_summary", table)
    return {"reviews": n, "topics": _topics(table)}


def list_topics(ctx: Context) -> list[Topic]:
    """Topics last discovered (largest first)."""
    with ctx.read() as con:
        if not has_table(con, "review_topic_summary"):
            raise WarehouseError("no topics yet; run `insightloop topics`")
        frame = con.execute("SELECT * FROM review_topic_summary ORDER BY size DESC, topic_id").df()
    return _topics(frame)


def _topics(frame: pd.DataFrame) -> list[Topic]:
    return cast("list[Topic]", records(frame))
