"""Sentiment use cases on a warehouse: scoring, tables, profiles, satisfaction, topics, files."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from contexts import ctx_of
from insightloop.errors import InputFileError, NotFoundError, SchemaError, WarehouseError
from insightloop.services import sentiment as svc
from insightloop.settings import Settings


@pytest.fixture(scope="module")
def scored(sample_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The sample warehouse with the bundled demo reviews ingested and scored."""
    path = tmp_path_factory.mktemp("sent") / "w.duckdb"
    shutil.copy(sample_warehouse, path)
    settings = Settings.load(warehouse=path, env={})
    svc.ingest_demo_reviews(ctx_of(settings))
    seen: list[tuple[int, int]] = []
    svc.score_reviews(ctx_of(settings), on_progress=lambda d, t: seen.append((d, t)),
                      batch_size=200)
    assert seen[-1] == (528, 528) and len(seen) == 3
    return settings


def test_demo_reviews_link_real_orders_deterministically(scored: Settings) -> None:
    a, b = svc.demo_reviews(ctx_of(scored)), svc.demo_reviews(ctx_of(scored))
    pd.testing.assert_frame_equal(a, b)
    with duckdb.connect(str(scored.warehouse), read_only=True) as con:
        n, bought = con.execute("""SELECT count(*), count(*) FILTER (WHERE EXISTS (
            SELECT 1 FROM orders o WHERE o.customer_id = r.customer_id
            AND o.product_id = r.product_id AND o.order_time < r.review_time)) FROM reviews r"""
                                ).fetchone()
    assert n == 528 and bought == 528


def test_score_reviews_tables_and_accuracy(scored: Settings) -> None:
    with duckdb.connect(str(scored.warehouse), read_only=True) as con:
        s = con.execute("SELECT s.*, r.rating FROM review_sentiment s "
                        "JOIN reviews r USING (review_id)").df()
        asp = con.execute("SELECT * FROM review_aspects").df()
        cs = con.execute("SELECT * FROM customer_sentiment").df()
        c360 = con.execute("SELECT customer_id, sentiment_avg, sentiment_last, complaint_count "
                           "FROM customer_360 WHERE sentiment_reviews > 0").df()
    assert len(s) == 528 and s["review_id"].is_unique
    # ratings of the bundled texts are their true polarity (5 / 1 stars); never trained on
    acc = ((s["probability"] >= 0.5) == (s["rating"] == 5)).mean()
    assert acc > 0.85
    assert set(s["language"]) <= {"zh", "en", "mixed"}
    assert set(asp["aspect"]) >= {"quality", "price", "delivery"}
    assert set(asp["review_id"]) <= set(s["review_id"])
    # customer features: known answer from the review rows
    one = cs.iloc[0]
    mine = s.loc[s["customer_id"] == one["customer_id"]].sort_values("review_time")
    assert one["sentiment_avg"] == pytest.approx(mine["score"].mean())
    assert one["sentiment_last"] == pytest.approx(mine["score"].iloc[-1])
    assert one["complaint_count"] == (mine["label"] == "negative").sum()
    assert len(c360) == len(cs)


def test_satisfaction_and_product_insights(scored: Settings) -> None:
    rows = svc.satisfaction(ctx_of(scored), "product")
    assert rows[0]["net_sentiment"] == min(r["net_sentiment"] for r in rows)
    assert sum(r["reviews"] for r in rows) == 528
    months = svc.satisfaction(ctx_of(scored), "month")
    assert [m["month"] for m in months] == sorted(m["month"] for m in months)
    assert svc.satisfaction(ctx_of(scored), "customer")
    assert svc.satisfaction(ctx_of(scored), "category")
    worst = rows[0]["product"]
    info = svc.product_insights(ctx_of(scored), worst)
    assert info["reviews"] == rows[0]["reviews"]
    assert info["net_sentiment"] == pytest.approx(info["positive_share"] - info["negative_share"])
    assert sum(m["reviews"] for m in info["monthly"]) == info["reviews"]
    assert info["forecast"]["basis_months"] >= 1
    with pytest.raises(NotFoundError):
        svc.product_insights(ctx_of(scored), "no-such-product")
    with pytest.raises(SchemaError):
        svc.satisfaction(ctx_of(scored), "planet")
    trend = svc.sentiment_trend(ctx_of(scored))
    assert trend["monthly"] and "alerts" in trend


def test_topics(scored: Settings) -> None:
    out = svc.discover_topics(ctx_of(scored), k=6)
    topics = svc.list_topics(ctx_of(scored))
    assert len(topics) == 6 and sum(t["size"] for t in topics) == out["reviews"] == 528
    assert all(t["name"] and t["keywords"] for t in topics)
    with duckdb.connect(str(scored.warehouse), read_only=True) as con:
        assert con.execute("SELECT count(DISTINCT review_id) FROM review_topics").fetchone() == (
            528,)


def test_missing_tables_raise_with_the_command(tmp_path: Path) -> None:
    settings = Settings.load(warehouse=tmp_path / "empty.duckdb", env={})
    with pytest.raises(WarehouseError, match="ingest reviews"):
        svc.score_reviews(ctx_of(settings))
    with pytest.raises(WarehouseError, match="sentiment score"):
        svc.satisfaction(ctx_of(settings), "product")


def test_read_labelled_files(tmp_path: Path) -> None:
    good = tmp_path / "good.csv"
    good.write_bytes("\ufefftext,label\n很好,1\nbad,negative\n\"<b>ok</b>\",positive\n"
                     .encode())
    texts, y = svc.read_labelled(good, "text", "label")
    assert texts == ["很好", "bad", "<b>ok</b>"] and y.tolist() == [1, 0, 1]
    broken = tmp_path / "broken.csv"
    broken.write_bytes(b"text,label\ngood,1\nbad \xff\xfe,0\n")
    with pytest.raises(InputFileError, match=r"broken.csv: line 3: invalid UTF-8"):
        svc.read_labelled(broken, "text", "label")
    odd = tmp_path / "odd.csv"
    odd.write_text("text,label\ngood,1\nmeh,maybe\n")
    with pytest.raises(InputFileError, match=r"row 3, column 'label'"):
        svc.read_labelled(odd, "text", "label")
    with pytest.raises(InputFileError, match="no column 'review'"):
        svc.read_labelled(good, "review", "label")
