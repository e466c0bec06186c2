"""Training and scoring speed of the tabular classifier per 100k rows; scoring throughput.

Standalone: ``.venv/bin/python benchmarks/classify_speed.py [--rows 100000]``. Uses a
synthetic table shaped like a customer profile (10 numeric columns with missing values,
3 categorical ones of which one has 2,000 levels, a known logistic truth), fits with the
default ``model="auto"`` (LightGBM grid + logistic grid by 3-fold inner CV, calibration,
refit) on one thread, then scores fresh rows with and without per-row reasons. Prints one
JSON object.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings

import numpy as np
import pandas as pd

from insightloop.models.classify.explain import top_reasons
from insightloop.models.classify.metrics import auc
from insightloop.models.classify.pipeline import TabularClassifier


def table(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    num = rng.normal(size=(n, 10))
    num[rng.random((n, 10)) < 0.05] = np.nan
    frame = pd.DataFrame(num, columns=[f"x{i}" for i in range(10)])
    frame["country"] = rng.choice([f"c{i}" for i in range(30)], n)
    frame["channel"] = rng.choice(["web", "app", "store"], n)
    frame["product"] = rng.choice([f"p{i}" for i in range(2000)], n)
    logit = (np.nan_to_num(num[:, 0]) * 1.2 - np.nan_to_num(num[:, 1]) * 0.8
             + np.nan_to_num(num[:, 2]) ** 2 * 0.3 + (frame["channel"] == "app") * 0.7 - 1.0)
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return frame, y


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    X, y = table(args.rows, 0)
    Xs, ys = table(args.rows, 1)
    t0 = time.perf_counter()
    clf = TabularClassifier().fit(X, y)
    fit_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    p = clf.predict_proba(Xs)[:, 1]
    score_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    top_reasons(clf, Xs, top=3, label="churn risk")
    reasons_s = time.perf_counter() - t0
    per_100k = 100_000 / args.rows
    print(json.dumps({
        "rows": args.rows,
        "model": clf.model_,
        "holdout_auc": round(auc(ys, p), 4),
        "train_seconds_per_100k_rows": round(fit_s * per_100k, 2),
        "score_seconds_per_100k_rows": round(score_s * per_100k, 3),
        "scoring_rows_per_second": round(args.rows / score_s),
        "reasons_seconds_per_100k_rows": round(reasons_s * per_100k, 2),
        "scoring_with_reasons_rows_per_second": round(args.rows / (score_s + reasons_s)),
    }))


if __name__ == "__main__":
    main()
