"""Uplift fit speed and peak memory: insightloop's learners against a reference, one run.

Each measurement runs in its own process (so its peak RSS is its own): a synthetic
randomised test of ``--rows`` customers x ``--features`` float features with a known
heterogeneous effect is generated (float32), the learner is fitted and every row is
scored. Reported per run: fit and predict seconds (wall), the fit's CPU seconds (user +
system, all threads: on a busy machine wall time overstates what a quiet one takes, CPU
time divided by the threads does not), peak RSS (``ru_maxrss``), and the
Qini AUC on 200,000 fresh rows (the two must rank equally well for the time ratio to mean
anything).

The reference is scikit-uplift 0.5.1's ``TwoModels`` (vanilla) with the same LightGBM
parameters through LightGBM's scikit-learn API on a pandas frame: the path a user of the
uplift libraries takes (causalml's learners need a 1.5 GB install and are not run here).
scikit-uplift is not a dependency of insightloop: install it anywhere
(``pip install --no-deps --target DIR scikit-uplift==0.5.1``) and pass ``--sklift DIR``;
without it only insightloop's learners run.

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/uplift_speed.py --rows 1000000 \\
        --sklift /tmp/sklift_pkg
    .venv/bin/python benchmarks/uplift_speed.py --rows 10000000 --learners two_model \\
        --rounds 30 --sklift /tmp/sklift_pkg   # peak memory at 10M rows
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from typing import Any

import numpy as np

PARAMS = {"n_estimators": 300, "learning_rate": 0.03, "num_leaves": 4,
          "min_child_samples": 1000}  # the learners' defaults at this size


def make_data(rows: int, features: int, seed: int) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((rows, features), dtype=np.float32)
    t = rng.integers(0, 2, rows, dtype=np.int8)
    tau = np.where(X[:, 0] > 0, 0.1, -0.02) + 0.05 * np.tanh(X[:, 1])
    p = np.clip(0.15 + 0.05 * X[:, 2] + t * tau, 0.01, 0.99)
    y = (rng.random(rows, dtype=np.float32) < p).astype(np.float32)
    return X, y, t


def _cpu_s() -> float:
    use = resource.getrusage(resource.RUSAGE_SELF)
    return use.ru_utime + use.ru_stime


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def child(kind: str, rows: int, features: int, threads: int, sklift: str | None) -> None:
    from insightloop.models.uplift.metrics import qini_auc_score

    X, y, t = make_data(rows, features, 0)
    Xv, yv, tv = make_data(200_000, features, 1)
    after_data = _peak_mb()
    start, cpu = time.perf_counter(), _cpu_s()
    if kind.startswith("sklift"):
        if sklift:
            sys.path.insert(0, sklift)
        import lightgbm as lgb
        import pandas as pd
        from sklift.models import TwoModels

        frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(features)])
        est: dict[str, Any] = {**PARAMS, "n_jobs": threads, "verbose": -1}
        model: Any = TwoModels(estimator_trmnt=lgb.LGBMClassifier(**est),
                               estimator_ctrl=lgb.LGBMClassifier(**est), method="vanilla")
        model.fit(frame, pd.Series(y), pd.Series(t))
        fit_s, fit_cpu = time.perf_counter() - start, _cpu_s() - cpu
        start = time.perf_counter()
        model.predict(frame)
        predict_s = time.perf_counter() - start
        score = model.predict(pd.DataFrame(Xv, columns=frame.columns))
    else:
        from insightloop.models.uplift.learners import make_learner

        params = {} if kind == "linear" else PARAMS   # no boosting rounds or leaves
        model = make_learner(kind, n_jobs=threads, **params).fit(X, y, t)
        fit_s, fit_cpu = time.perf_counter() - start, _cpu_s() - cpu
        start = time.perf_counter()
        model.predict(X)
        predict_s = time.perf_counter() - start
        score = model.predict(Xv)
    json.dump({"learner": kind, "rows": rows, "features": features, "threads": threads,
               "fit_s": round(fit_s, 2), "fit_cpu_s": round(fit_cpu, 2),
               "predict_s": round(predict_s, 2),
               "peak_rss_mb": round(_peak_mb(), 1), "rss_after_data_mb": round(after_data, 1),
               "qini_auc_fresh": round(qini_auc_score(yv, score, tv), 4)}, sys.stdout)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--features", type=int, default=12)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=PARAMS["n_estimators"],
                    help="boosting rounds (fewer for a memory-only run at 10M rows)")
    ap.add_argument("--learners", default="two_model,class_transformation,x,r,dr")
    ap.add_argument("--sklift", default=None, help="folder holding scikit-uplift (reference)")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    PARAMS["n_estimators"] = args.rounds
    if args.child:
        child(args.child, args.rows, args.features, args.threads, args.sklift)
        return
    kinds = args.learners.split(",") + (["sklift_two_models"] if args.sklift else [])
    results = []
    for kind in kinds:
        cmd = [sys.executable, __file__, "--child", kind, "--rows", str(args.rows),
               "--features", str(args.features), "--threads", str(args.threads),
               "--rounds", str(args.rounds)]
        if args.sklift:
            cmd += ["--sklift", args.sklift]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        results.append(json.loads(out))
        print(json.dumps(results[-1]), flush=True)
    ours = next((r for r in results if r["learner"] == "two_model"), None)
    ref = next((r for r in results if r["learner"] == "sklift_two_models"), None)
    if ours and ref:
        print(json.dumps({"two_model_vs_sklift_fit_ratio": round(ref["fit_s"] / ours["fit_s"], 2),
                          "fit_cpu_ratio": round(ref["fit_cpu_s"] / ours["fit_cpu_s"], 2),
                          "predict_ratio": round(ref["predict_s"] / ours["predict_s"], 2),
                          "peak_rss_ratio": round(ref["peak_rss_mb"] / ours["peak_rss_mb"], 2)}))


if __name__ == "__main__":
    main()
