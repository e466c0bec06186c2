"""Benchmark: insightloop BetaGeoModel vs lifetimes.BetaGeoFitter, and a 1M-customer fit.

Run: ``python benchmarks/clv_fit.py [--master PATH]``. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

from insightloop.models.clv import BetaGeoModel, summary_from_transactions

MASTER = Path(__file__).resolve().parents[2] / "shared" / "data" / "cdnow" / "CDNOW_master.txt"


def _best_of(fn, repeats: int) -> tuple[float, object]:  # type: ignore[no-untyped-def]
    best, out = float("inf"), None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--master", type=Path, default=MASTER)
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()

    tx = pd.read_csv(args.master, sep=r"\s+", dtype={"date": str})
    tx["date"] = pd.to_datetime(tx["date"], format="%Y%m%d")
    s = summary_from_transactions(tx, "customer_id", "date", "dollar_value", "1997-09-30",
                                  time_unit_days=7)
    x, rec, T = s["frequency"].to_numpy(), s["recency"].to_numpy(), s["T"].to_numpy()

    from lifetimes import BetaGeoFitter
    from threadpoolctl import threadpool_limits

    t_lt_default, lt = _best_of(lambda: BetaGeoFitter().fit(x, rec, T), args.repeats)
    with threadpool_limits(1):  # same BLAS setting as insightloop's optimiser: fair to lifetimes
        t_lt_1thread, _ = _best_of(lambda: BetaGeoFitter().fit(x, rec, T), args.repeats)
    t_lt = min(t_lt_default, t_lt_1thread)
    t_ours, ours = _best_of(lambda: BetaGeoModel().fit(x, rec, T), args.repeats)
    ref = lt.params_[["r", "alpha", "a", "b"]].to_numpy()  # type: ignore[attr-defined]
    got = np.array(list(ours.params_.values()))  # type: ignore[attr-defined]
    max_rel = float(np.max(np.abs(got - ref) / np.abs(ref)))

    # 1M synthetic customers from the fitted process; ages and recencies on a daily grid
    rng = np.random.default_rng(2024)
    ages = rng.choice(T, size=args.n)
    t0 = time.perf_counter()
    sim = ours.sample(args.n, ages, seed=7)  # type: ignore[attr-defined]
    t_sample = time.perf_counter() - t0
    sim_rec = np.where(sim["frequency"] > 0,
                       np.clip(np.ceil(sim["recency"] * 7) / 7, 1 / 7, sim["T"]), 0.0)
    t0 = time.perf_counter()
    big = BetaGeoModel().fit(sim["frequency"], sim_rec, sim["T"])
    t_big = time.perf_counter() - t0
    n_patterns = int(np.unique(np.column_stack([sim["frequency"], sim_rec, sim["T"]]),
                               axis=0).shape[0])
    truth = np.array(list(ours.params_.values()))  # type: ignore[attr-defined]
    big_p = np.array(list(big.params_.values()))
    print(json.dumps({
        "customers": len(s),
        "lifetimes_fit_s": round(t_lt, 4),
        "lifetimes_fit_s_default_threads": round(t_lt_default, 4),
        "lifetimes_fit_s_1_blas_thread": round(t_lt_1thread, 4),
        "insightloop_fit_s": round(t_ours, 4),
        "speedup": round(t_lt / t_ours, 1),
        "params_insightloop": dict(zip(["r", "alpha", "a", "b"], got.round(6).tolist(),
                                       strict=True)),
        "params_lifetimes": dict(zip(["r", "alpha", "a", "b"], ref.round(6).tolist(),
                                     strict=True)),
        "max_rel_param_diff": max_rel,
        "synthetic_customers": args.n,
        "synthetic_patterns": n_patterns,
        "sample_s": round(t_sample, 3),
        "synthetic_fit_s": round(t_big, 3),
        "synthetic_params": dict(zip(["r", "alpha", "a", "b"], big_p.round(4).tolist(),
                                     strict=True)),
        "synthetic_max_rel_param_error": float(np.max(np.abs(big_p - truth) / truth)),
    }, indent=2))


if __name__ == "__main__":
    main()
