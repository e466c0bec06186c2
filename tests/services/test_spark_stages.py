"""RFM/segments and CLV on a real Spark standalone cluster (master + two workers) over a lake
give DuckDB's results on the same data, without collecting customers to the driver.

The lake holds the DuckDB sample warehouse's ``orders`` and ``profiles`` (Parquet written by
DuckDB); the same services run once on each engine and the tables are compared.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pytest

from contexts import ctx_of
from insightloop.services.clv import build_clv
from insightloop.services.segments import SEGMENT_TABLE_COLUMNS, build_segments
from insightloop.storage.lake import Lake

pytestmark = [pytest.mark.spark, pytest.mark.slow]


@pytest.fixture(scope="module")
def both(sample_warehouse: Path, tmp_path_factory: pytest.TempPathFactory,
         spark_session_cluster: Any) -> Iterator[tuple[Path, Path]]:
    """(a DuckDB warehouse, a lake) holding the same orders and profiles."""
    folder = tmp_path_factory.mktemp("spark-stages")
    duck = folder / "warehouse.duckdb"
    duck.write_bytes(sample_warehouse.read_bytes())
    lake = Lake(folder / "lake")
    with duckdb.connect(str(duck), read_only=True) as con:
        for name in ("orders", "profiles"):
            lake.write_duckdb(con, f"SELECT * FROM {name}", name)
    yield duck, lake.root


def _lake_table(lake: Path, name: str) -> pd.DataFrame:
    with duckdb.connect() as con:
        Lake(lake).attach_duckdb(con)
        return con.execute(f"SELECT * FROM {name} ORDER BY ALL").df()


def _duck_table(path: Path, name: str) -> pd.DataFrame:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(f"SELECT * FROM {name} ORDER BY ALL").df()


def test_segments_on_spark_equal_duckdb(both: tuple[Path, Path]) -> None:
    duck, lake = both
    on_duck = build_segments(ctx_of(duck), k=4)
    on_spark = build_segments(ctx_of(lake, engine="spark"), k=4)
    assert on_spark["customers"] == on_duck["customers"] > 300
    assert on_spark["rfm_segments"] == on_duck["rfm_segments"]
    assert on_spark["value_tiers"] == on_duck["value_tiers"]
    assert on_spark["k"] == on_duck["k"] and on_spark["selection"] == on_duck["selection"]
    rfm_d, rfm_s = _duck_table(duck, "rfm"), _lake_table(lake, "rfm")
    assert list(rfm_s.columns) == list(rfm_d.columns)
    pd.testing.assert_frame_equal(rfm_s, rfm_d, check_dtype=False)
    pd.testing.assert_frame_equal(_lake_table(lake, "segment_members"),
                                  _duck_table(duck, "segment_members"), check_dtype=False)
    seg_s, seg_d = _lake_table(lake, "segments"), _duck_table(duck, "segments")
    assert list(seg_s.columns) == list(SEGMENT_TABLE_COLUMNS)
    pd.testing.assert_frame_equal(seg_s, seg_d, check_dtype=False)


def test_clv_on_spark_matches_duckdb(both: tuple[Path, Path]) -> None:
    duck, lake = both
    on_duck = build_clv(ctx_of(duck))
    on_spark = build_clv(ctx_of(lake, engine="spark"))
    assert on_spark["model"] == on_duck["model"]
    assert on_spark["customers"] == on_duck["customers"] > 300
    assert on_spark["repeat_buyers"] == on_duck["repeat_buyers"]
    for key in ("purchase_params", "spend_params"):
        for name, value in on_duck[key].items():  # type: ignore[attr-defined]
            assert on_spark[key][name] == pytest.approx(value, rel=1e-6), (key, name)  # type: ignore[literal-required]
    assert on_spark["total_clv"] == pytest.approx(on_duck["total_clv"], rel=1e-6)
    assert on_spark["median_clv"] == pytest.approx(on_duck["median_clv"], rel=1e-6)
    got = _lake_table(lake, "clv").drop(columns=["fitted_at"]).set_index("customer_id")
    want = _duck_table(duck, "clv").drop(columns=["fitted_at"]).set_index("customer_id")
    assert list(got.columns) == list(want.columns) and got.index.equals(want.index)
    assert (got["frequency"].to_numpy() == want["frequency"].to_numpy()).all()
    for col in ("recency", "T", "monetary_value", "p_alive", "expected_purchases_12m",
                "expected_avg_value", "clv"):
        np.testing.assert_allclose(got[col], want[col], rtol=1e-6, atol=1e-9, err_msg=col)


def test_clv_stage_collects_no_customers(both: tuple[Path, Path], spark_session_cluster: Any,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """With a sample of 60 customers, nothing the driver receives holds more than 60 ids:
    the histogram carries no ids, per-customer values stay on the cluster."""
    from insightloop.models.clv.selection import CANDIDATES, PRIOR_GRID
    from insightloop.services.spark import clv as spark_clv

    _, lake = both
    seen: list[pd.DataFrame] = []
    frame_type = type(spark_session_cluster.range(1))  # the classic DataFrame class
    real = frame_type.toPandas

    def spy(self: Any) -> pd.DataFrame:
        frame = real(self)
        seen.append(frame)
        return frame

    monkeypatch.setattr(frame_type, "toPandas", spy)
    built = spark_clv.build_clv(ctx_of(lake, engine="spark"), None, 12, 0.01,
                                families=tuple(CANDIDATES), priors=PRIOR_GRID,
                                sample_customers=60)
    assert built["customers"] > 300 and "sample of 60 customers" in built["selection"]
    assert seen and all(f["customer_id"].nunique() <= 60 for f in seen
                        if "customer_id" in f.columns)
    histogram = [f for f in seen if "count" in f.columns and "T" in f.columns]
    assert histogram and int(histogram[0]["count"].sum()) == built["customers"]
    assert len(_lake_table(lake, "clv")) == built["customers"]


@pytest.fixture(scope="module")
def churn_models(both: tuple[Path, Path]) -> Iterator[tuple[Any, Any]]:
    """A churn model trained on each engine, in one registry (logistic: fast, deterministic)."""
    from insightloop.services.training import train_task

    duck, lake = both
    on_duck = train_task(ctx_of(duck), "churn", [datetime(2011, 6, 1)], 90, name="churn_duck",
                         model="logistic")
    on_spark = train_task(ctx_of(lake, engine="spark", models_dir=duck.parent / "models"),
                          "churn", [datetime(2011, 6, 1)], 90, name="churn_spark",
                          model="logistic")
    yield on_duck, on_spark


def test_train_on_spark_fits_the_same_examples(churn_models: tuple[Any, Any]) -> None:
    on_duck, on_spark = churn_models
    assert on_spark["engine"] == "spark" and on_spark["rows"] == on_duck["rows"] > 200
    assert on_spark["sample"] == f"fitted on all {on_duck['rows']:,} examples"
    assert on_spark["positive_rate"] == pytest.approx(on_duck["positive_rate"], abs=1e-12)
    assert on_spark["features"] == on_duck["features"]
    assert on_spark["cv_auc"] == pytest.approx(on_duck["cv_auc"], abs=0.02)


def test_score_on_spark_equals_duckdb(both: tuple[Path, Path],
                                      churn_models: tuple[Any, Any]) -> None:
    from insightloop.services.scoring import score_warehouse

    duck, lake = both
    models = duck.parent / "models"
    on_duck = score_warehouse(ctx_of(duck), "churn_duck")
    on_spark = score_warehouse(ctx_of(lake, engine="spark", models_dir=models), "churn_duck")
    assert on_spark["customers"] == on_duck["customers"] > 300
    assert on_spark["positives"] == on_duck["positives"]
    assert on_spark["mean_score"] == pytest.approx(on_duck["mean_score"], rel=1e-9)
    assert on_spark["drift"] == on_duck["drift"]
    got = _lake_table(lake, "scores").set_index("customer_id")
    want = _duck_table(duck, "scores").set_index("customer_id").loc[got.index]
    np.testing.assert_allclose(got["score"], want["score"], rtol=1e-9)
    assert (got["decision"] == want["decision"]).all() and (got["reasons"] == want["reasons"]).all()
    assert len(_lake_table(lake, "drift")) == len(_duck_table(duck, "drift"))


def test_recommendations_on_spark_as_good_as_duckdb_sar(both: tuple[Path, Path],
                                                        spark_session_cluster: Any) -> None:
    """Same purchases, same stratified split: the cluster's item-item top-10 recalls at least
    90% of what the in-memory SAR recommender does; the lake table is a valid top-k."""
    from insightloop.features.interactions import interactions_from_frame
    from insightloop.models.recommend import make_recommender
    from insightloop.models.recommend.metrics import ranking_metrics
    from insightloop.models.recommend.split import split_interactions
    from insightloop.services.recommend import build_recommendations
    from insightloop.services.spark.recommend import item_similarity, purchases, top_k

    _, lake = both
    k = 10
    orders = Lake(lake).read_spark(spark_session_cluster, "orders")
    pairs = pd.DataFrame(purchases(orders).toPandas()).assign(weight=1.0)
    train, test = split_interactions(pairs.sort_values(["user", "item"]), "stratified", 0.25, 42)
    inter = interactions_from_frame(train, weight="weight")
    rel = inter.restrict(test)
    users = np.flatnonzero(np.diff(rel.matrix.indptr) > 0)
    sar = make_recommender("sar").fit(inter)
    idx_duck, _ = sar.recommend_idx(users, k, exclude_seen=True)
    duck_m = ranking_metrics(idx_duck, rel.matrix[users], k, inter.n_items)
    spark_train = spark_session_cluster.createDataFrame(train[["user", "item"]])
    recs = pd.DataFrame(top_k(spark_train, item_similarity(spark_train), k).toPandas())
    idx_spark = np.full((inter.n_users, k), -1, dtype=np.int64)
    idx_spark[pd.Index(inter.user_ids).get_indexer(recs["customer_id"]),
              recs["rank"].to_numpy() - 1] = pd.Index(inter.item_ids).get_indexer(
                  recs["product_id"])
    spark_m = ranking_metrics(idx_spark[users], rel.matrix[users], k, inter.n_items)
    print(f"recall@{k}: spark {spark_m[f'recall@{k}']:.4f} vs duckdb sar "
          f"{duck_m[f'recall@{k}']:.4f} on {len(users)} test users")
    assert spark_m[f"recall@{k}"] >= 0.9 * duck_m[f"recall@{k}"] > 0

    built = build_recommendations(ctx_of(lake, engine="spark"), n=k)
    table = _lake_table(lake, "recommendations")
    assert built["rows"] == len(table) > 0 and built["customers"] == table["customer_id"].nunique()
    ranks = table.groupby("customer_id")["rank"].agg(["min", "max", "size", "nunique"])
    assert (ranks["min"] == 1).all() and (ranks["max"] == ranks["size"]).all()
    assert (ranks["size"] == ranks["nunique"]).all() and (ranks["size"] <= k).all()
    bought = pairs.rename(columns={"user": "customer_id", "item": "product_id"})
    assert table.merge(bought, on=["customer_id", "product_id"]).empty
