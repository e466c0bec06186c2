"""Benchmark: ranking quality of every recommender with one harness (stratified protocol).

Run: ``python benchmarks/recommend_quality.py [--data-dir ../shared/data] [--skip-auto]
[--ms-recommenders-src DIR]``.
Prints one JSON object: per dataset, per model, the harness output of
``insightloop evaluate recommend`` (precision/recall/nDCG/MAP@10, coverage, fit seconds).

Datasets (all interactions are implicit positives, binary relevance, k = 10, seed 42,
75/25 per-user random split — the Microsoft Recommenders protocol):

* MovieLens latest-small (610 users, 9,724 movies, 100,836 ratings) — *not* MovieLens-100K,
  the anchor's data set (943 users, 1,682 movies), which is not available offline here;
* Online Retail purchases (customers x stock codes; quantity > 0, no cancellations).

Calibration: ``sar_ms_defaults`` is our ``sar`` with Microsoft's benchmark setting (jaccard,
affinity = rating x 2^(-age / 30 days) summed per pair). Microsoft measures age from the last
training time in float64; ML-latest-small spans 22 years, so in our float32 matrix that
underflows to 0. Ages are therefore measured from each user's latest rating (a per-user
constant factor: the same ranking) and floored at 1e-30. ``--ms-recommenders-src DIR`` (an
unpacked ``recommenders`` wheel, e.g. ``pip download --no-deps recommenders``; not a
dependency) also runs ``SARSingleNode`` itself on the same split and scores its lists with our
metrics.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np
import pandas as pd

from insightloop.services.recommend import evaluate_frame

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
MODELS = ("popularity", "itemknn", "sar", "rp3beta", "ease", "als", "bpr")
HALF_LIFE_S = 30 * 86_400.0


def movielens(data: Path) -> pd.DataFrame:
    return pd.read_csv(data / "movielens_latest_small" / "ratings.csv")


def online_retail(data: Path) -> pd.DataFrame:
    raw = pd.read_csv(data / "online_retail" / "online_retail.csv",
                      dtype={"InvoiceNo": str, "StockCode": str}, encoding="latin-1")
    keep = (raw["Quantity"] > 0) & raw["CustomerID"].notna() & \
        ~raw["InvoiceNo"].str.upper().str.startswith("C")
    return raw.loc[keep, ["CustomerID", "StockCode", "InvoiceDate"]]


def sar_affinity(ratings: pd.DataFrame) -> pd.Series:
    """Microsoft SAR's affinity per rating, ages from the user's latest rating (see above)."""
    t = ratings["timestamp"].astype("float64")
    age = ratings.groupby("userId")["timestamp"].transform("max").astype("float64") - t
    return ratings["rating"] * np.maximum(np.power(0.5, age / HALF_LIFE_S), 1e-30)


def ms_sar_reference(ratings: pd.DataFrame, src: Path) -> dict[str, Any]:
    """Microsoft Recommenders' own ``SARSingleNode`` (benchmark defaults) on our split."""
    import sys

    sys.path.insert(0, str(src))
    np.NaN = np.nan  # type: ignore[attr-defined]  # recommenders 1.2.1 predates numpy 2
    from recommenders.models.sar.sar_singlenode import SARSingleNode  # type: ignore

    from insightloop.features.interactions import interactions_from_frame
    from insightloop.models.recommend.metrics import ranking_metrics
    from insightloop.models.recommend.split import split_interactions
    from insightloop.services.recommend import long_frame

    train, test = split_interactions(long_frame(ratings, "userId", "movieId"), "stratified",
                                     0.25, 42)
    extra = ratings.assign(user=ratings["userId"].astype(str), item=ratings["movieId"].astype(str))
    extra = extra[["user", "item", "rating", "timestamp"]]
    tr, te = train.merge(extra, on=["user", "item"]), test.merge(extra, on=["user", "item"])
    start = time.perf_counter()
    model = SARSingleNode(col_user="user", col_item="item", col_rating="rating",
                          col_timestamp="timestamp", similarity_type="jaccard",
                          time_decay_coefficient=30, time_now=None, timedecay_formula=True)
    model.fit(tr)
    top = model.recommend_k_items(te, top_k=10, remove_seen=True)
    seconds = time.perf_counter() - start
    inter = interactions_from_frame(train, weight="weight")
    rel = inter.restrict(test)
    users = np.flatnonzero(np.diff(rel.matrix.indptr) > 0)
    top = top.sort_values(["user", "prediction"], ascending=[True, False])
    idx = np.full((inter.n_users, 10), -1, dtype=np.int64)
    idx[top["user"].map(inter.user_index()).to_numpy(),
        top.groupby("user").cumcount().to_numpy()] = top["item"].map(inter.item_index())
    return {"model": "recommenders.SARSingleNode", "users": len(users),
            **ranking_metrics(idx[users], rel.matrix[users], 10, inter.n_items),
            "fit_seconds": round(seconds, 3)}


def _with_text(data: Path, cache: Path) -> dict[str, Any]:
    """Content and hybrid (EASE + USE product text) on Online Retail, same split."""
    from insightloop.services.recommend import embed_texts

    raw = pd.read_csv(data / "online_retail" / "online_retail.csv",
                      dtype={"InvoiceNo": str, "StockCode": str}, encoding="latin-1")
    desc = raw.dropna(subset=["Description"]).groupby("StockCode")["Description"].agg(
        lambda s: s.value_counts().index[0]).str.strip()
    vectors = pd.DataFrame(embed_texts(desc.tolist(), "use", cache), index=desc.index)
    frame = online_retail(data)
    rows = {}
    for label, model, params in (
            ("content", "content", {}),
            ("ease_l2_100", "ease", {"l2": 100.0}),
            ("hybrid_0.05", "hybrid", {"base": "ease", "base_params": {"l2": 100.0},
                                       "content_weight": 0.05}),
            ("hybrid_0.2", "hybrid", {"base": "ease", "base_params": {"l2": 100.0},
                                      "content_weight": 0.2}),
            ("auto_with_text", "auto", None)):
        rows[label] = evaluate_frame(frame, "CustomerID", "StockCode", model=model,
                                     params=params, item_vectors=vectors)
        print("online_retail_text", json.dumps(rows[label]), flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", type=Path, default=DATA)
    ap.add_argument("--skip-auto", action="store_true")
    ap.add_argument("--content-cache", type=Path, default=None,
                    help="Also evaluate content/hybrid models on Online Retail with USE product "
                         "embeddings cached in this folder (embedding ~4,000 texts takes minutes)")
    ap.add_argument("--ms-recommenders-src", type=Path, default=None,
                    help="Folder with an unpacked `recommenders` wheel: also run Microsoft's "
                         "SARSingleNode on the MovieLens split (reference only)")
    args = ap.parse_args()
    sets = {
        "movielens_latest_small": (movielens(args.data_dir), "userId", "movieId"),
        "online_retail": (online_retail(args.data_dir), "CustomerID", "StockCode"),
    }
    out: dict[str, Any] = {}
    for name, (frame, user, item) in sets.items():
        rows = {}
        for model in (*MODELS, *(() if args.skip_auto else ("auto",))):
            rows[model] = evaluate_frame(frame, user, item, split="stratified",
                                         test_ratio=0.25, seed=42, k=10, model=model)
            print(name, json.dumps(rows[model]), flush=True)
        out[name] = rows
    ml = movielens(args.data_dir).assign(affinity=sar_affinity)
    out["movielens_sar_calibration"] = {"sar_ms_defaults": evaluate_frame(
        ml, "userId", "movieId", weight="affinity", model="sar")}
    if args.ms_recommenders_src is not None:
        out["movielens_sar_calibration"]["microsoft_sar"] = ms_sar_reference(
            movielens(args.data_dir), args.ms_recommenders_src)
    print("sar_calibration", json.dumps(out["movielens_sar_calibration"]), flush=True)
    if args.content_cache is not None:
        out["online_retail_text"] = _with_text(args.data_dir, args.content_cache)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
