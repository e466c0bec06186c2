"""Benchmark: fit and top-10-for-all-users time against `implicit` ALS, and serving latency.

Run: ``python benchmarks/recommend_speed.py [--data-dir ../shared/data] [--calls 2000]``.
Prints one JSON object. In one run, on the same interaction matrix (all users x items,
binary), it times:

* `implicit` ALS (64 factors, 15 iterations): ``fit`` and ``recommend(all users, N=10,
  filter_already_liked_items=True)`` — the reference a user would pick (top-10: best of 3);
* insightloop ALS (the same implicit fit, ranked by the shared top-k), EASE and RP3beta:
  fit and top-10 for all users, with ratios to the reference;
* single-customer serving latency (``RecommendationServer.recommend``, with reasons) of a
  known customer and of a cold-start customer: p50 and p99 over ``--calls`` calls.

Threads: BLAS and implicit use every core unless OPENBLAS_NUM_THREADS is set.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from insightloop.features.interactions import Interactions, interactions_from_frame
from insightloop.models.recommend import make_recommender
from insightloop.models.recommend.neighbours import ItemKNN
from insightloop.services.recommend import RecommendationServer

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def _timed(fn: Any, repeats: int = 1) -> tuple[float, Any]:
    """Best wall time of ``repeats`` calls and the last result."""
    best, out = float("inf"), None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def _datasets(data: Path) -> dict[str, tuple[pd.DataFrame, pd.DataFrame]]:
    ml = pd.read_csv(data / "movielens_latest_small" / "ratings.csv")
    movies = pd.read_csv(data / "movielens_latest_small" / "movies.csv")
    raw = pd.read_csv(data / "online_retail" / "online_retail.csv",
                      dtype={"InvoiceNo": str, "StockCode": str}, encoding="latin-1")
    keep = (raw["Quantity"] > 0) & raw["CustomerID"].notna() & \
        ~raw["InvoiceNo"].str.upper().str.startswith("C")
    retail = raw.loc[keep]
    return {
        "movielens_latest_small": (
            pd.DataFrame({"user": ml["userId"], "item": ml["movieId"]}),
            pd.DataFrame({"product_id": movies["movieId"].astype(str),
                          "description": movies["title"], "category": None,
                          "in_stock": None})),
        "online_retail": (
            pd.DataFrame({"user": retail["CustomerID"], "item": retail["StockCode"]}),
            retail.groupby("StockCode")["Description"].first().rename("description")
            .rename_axis("product_id").reset_index().assign(category=None, in_stock=None)),
    }


def _reference(inter: Interactions) -> dict[str, float]:
    from implicit.cpu.als import AlternatingLeastSquares
    from threadpoolctl import threadpool_limits

    x = inter.binary()
    with threadpool_limits(1, "blas"):
        model = AlternatingLeastSquares(factors=64, iterations=15, regularization=0.05,
                                        alpha=2.0, random_state=0)
        fit, _ = _timed(lambda: model.fit(x, show_progress=False))
        users = np.arange(inter.n_users)
        rec, _ = _timed(lambda: model.recommend(users, x, N=10,
                                                filter_already_liked_items=True), 3)
    return {"fit_seconds": fit, "top10_all_users_seconds": rec}


def _latency(server: RecommendationServer, ids: list[str], calls: int) -> dict[str, float]:
    times = np.empty(calls)
    for j in range(calls):
        t0 = time.perf_counter()
        server.recommend(ids[j % len(ids)], 10)
        times[j] = time.perf_counter() - t0
    return {"p50_ms": float(np.percentile(times, 50) * 1e3),
            "p99_ms": float(np.percentile(times, 99) * 1e3)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", type=Path, default=DATA)
    ap.add_argument("--calls", type=int, default=2000)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    out: dict[str, Any] = {}
    for name, (frame, catalogue) in _datasets(args.data_dir).items():
        inter = interactions_from_frame(frame)
        ref = _reference(inter)
        res: dict[str, Any] = {"users": inter.n_users, "items": inter.n_items,
                               "interactions": inter.nnz, "implicit_als": ref}
        users = np.arange(inter.n_users)
        for model, params in (("als", {"factors": 64, "iterations": 15}), ("ease", {}),
                              ("rp3beta", {})):
            rec = make_recommender(model, **params)
            fit, _ = _timed(lambda rec=rec, inter=inter: rec.fit(inter))
            top, _ = _timed(lambda rec=rec, users=users: rec.recommend_idx(users, 10), 3)
            res[model] = {"fit_seconds": fit, "top10_all_users_seconds": top,
                          "fit_ratio_vs_implicit_als": fit / ref["fit_seconds"],
                          "top10_ratio_vs_implicit_als": top / ref["top10_all_users_seconds"]}
            if model == "ease":
                knn = ItemKNN(neighbours=100).fit(inter)
                server = RecommendationServer(rec, knn, None, catalogue, np.array([], int),
                                              model)
                known = [str(u) for u in rng.choice(inter.user_ids, 200)]
                res["serving_ease_known_customer"] = _latency(server, known, args.calls)
                res["serving_cold_start"] = _latency(server, ["nobody"], args.calls)
        out[name] = res
        print(name, json.dumps(res), flush=True)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
