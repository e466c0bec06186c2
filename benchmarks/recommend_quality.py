"""Benchmark: ranking quality of every recommender with one harness (stratified protocol).

Run: ``python benchmarks/recommend_quality.py [--data-dir ../shared/data] [--skip-auto]``.
Prints one JSON object: per dataset, per model, the harness output of
``insightloop evaluate recommend`` (precision/recall/nDCG/MAP@10, coverage, fit seconds).

Datasets (all interactions are implicit positives, binary relevance, k = 10, seed 42,
75/25 per-user random split — the Microsoft Recommenders protocol):

* MovieLens latest-small (610 users, 9,724 movies, 100,836 ratings) — *not* MovieLens-100K,
  the anchor's data set (943 users, 1,682 movies), which is not available offline here;
* Online Retail purchases (customers x stock codes; quantity > 0, no cancellations).
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import pandas as pd

from insightloop.services.recommend import evaluate_frame

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
MODELS = ("popularity", "itemknn", "rp3beta", "ease", "als", "bpr")


def movielens(data: Path) -> pd.DataFrame:
    return pd.read_csv(data / "movielens_latest_small" / "ratings.csv")


def online_retail(data: Path) -> pd.DataFrame:
    raw = pd.read_csv(data / "online_retail" / "online_retail.csv",
                      dtype={"InvoiceNo": str, "StockCode": str}, encoding="latin-1")
    keep = (raw["Quantity"] > 0) & raw["CustomerID"].notna() & \
        ~raw["InvoiceNo"].str.upper().str.startswith("C")
    return raw.loc[keep, ["CustomerID", "StockCode", "InvoiceDate"]]


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
    if args.content_cache is not None:
        out["online_retail_text"] = _with_text(args.data_dir, args.content_cache)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
