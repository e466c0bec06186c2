"""Uplift fit speed and peak memory: insightloop's learners against a reference, one run.

Each measurement runs in its own process (so its peak RSS is its own): a synthetic
randomised test of ``--rows`` customers x ``--features`` float features with a known
heterogeneous effect is generated (float32), the learner is fitted and every row is
scored. Reported per run: fit and predict seconds (wall), the fit's CPU seconds (user +
system, all threads: on a busy machine wall time overstates what a quiet one takes, CPU
time divided by the threads does not), peak RSS (``ru_maxrss``), and the
Qini AUC on 200,000 fresh rows (the two must rank equally well for the time ratio to mean
anything).

The references, with the same LightGBM parameters through LightGBM's scikit-learn API (the
path a user of the uplift libraries takes): scikit-uplift 0.5.1's ``TwoModels`` (vanilla)
on a pandas frame (``--sklift DIR``), and causalml 0.18's ``BaseTClassifier`` and
``BaseXClassifier`` (``--causalml DIR``; the constant propensity is given to the X-learner,
as insightloop's learners assume a randomised test). Neither is a dependency of
insightloop: install them anywhere (``pip install --no-deps --target DIR
scikit-uplift==0.5.1``; for causalml ``causalml`` and the modules it imports:
statsmodels, patsy, shap, slicer, numba, llvmlite, matplotlib, pillow, pyparsing, cycler,
kiwisolver, fonttools, xgboost, seaborn); without them only insightloop's learners run.

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/uplift_speed.py --rows 1000000 \\
        --sklift /tmp/sklift_pkg --causalml /tmp/causalml_pkg
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


def _causalml(kind: str, X: np.ndarray, y: np.ndarray, t: np.ndarray, Xv: np.ndarray,
              threads: int, folder: str | None) -> tuple[float, float, float, np.ndarray]:
    """causalml's T- or X-learner with the same LightGBM parameters (constant propensity
    given, as insightloop's learners assume a randomised test): fit s, CPU s, predict s,
    scores of ``Xv``."""
    if folder:
        sys.path.insert(0, folder)
    import lightgbm as lgb
    from causalml.inference.meta import BaseTClassifier, BaseXClassifier

    est: dict[str, Any] = {**PARAMS, "n_jobs": threads, "verbose": -1}
    start, cpu = time.perf_counter(), _cpu_s()
    e = float(t.mean())
    model: Any
    if kind == "causalml_t":
        model = BaseTClassifier(learner=lgb.LGBMClassifier(**est), control_name=0)
        model.fit(X, t, y)
    else:
        model = BaseXClassifier(outcome_learner=lgb.LGBMClassifier(**est),
                                effect_learner=lgb.LGBMRegressor(**est), control_name=0)
        model.fit(X, t, y, p=np.full(len(t), e))
    fit_s, fit_cpu = time.perf_counter() - start, _cpu_s() - cpu
    start = time.perf_counter()
    if kind == "causalml_t":
        model.predict(X)
        score = np.asarray(model.predict(Xv))[:, 0]
    else:
        model.predict(X, p=np.full(len(X), e))
        score = np.asarray(model.predict(Xv, p=np.full(len(Xv), e)))[:, 0]
    return fit_s, fit_cpu, time.perf_counter() - start, score


def child(kind: str, rows: int, features: int, threads: int, sklift: str | None,
          causalml: str | None = None) -> None:
    from insightloop.models.uplift.metrics import qini_auc_score

    X, y, t = make_data(rows, features, 0)
    Xv, yv, tv = make_data(200_000, features, 1)
    after_data = _peak_mb()
    import lightgbm  # noqa: F401  (imported before the clock starts, as the references do)
    start, cpu = time.perf_counter(), _cpu_s()
    if kind.startswith("causalml"):
        fit_s, fit_cpu, predict_s, score = _causalml(kind, X, y, t.astype(int), Xv, threads,
                                                     causalml)
    elif kind.startswith("sklift"):
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
    ap.add_argument("--causalml", default=None,
                    help="folder holding causalml and its imports (reference T- and X-learner)")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    PARAMS["n_estimators"] = args.rounds
    if args.child:
        child(args.child, args.rows, args.features, args.threads, args.sklift, args.causalml)
        return
    kinds = (args.learners.split(",") + (["sklift_two_models"] if args.sklift else [])
             + (["causalml_t", "causalml_x"] if args.causalml else []))
    results = []
    for kind in kinds:
        cmd = [sys.executable, __file__, "--child", kind, "--rows", str(args.rows),
               "--features", str(args.features), "--threads", str(args.threads),
               "--rounds", str(args.rounds)]
        if args.sklift:
            cmd += ["--sklift", args.sklift]
        if args.causalml:
            cmd += ["--causalml", args.causalml]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        results.append(json.loads(out))
        print(json.dumps(results[-1]), flush=True)
    by = {r["learner"]: r for r in results}
    for mine, theirs in (("two_model", "sklift_two_models"), ("two_model", "causalml_t"),
                         ("x", "causalml_x")):
        ours, ref = by.get(mine), by.get(theirs)
        if ours and ref:  # reference / ours: above 1, ours is faster or smaller
            print(json.dumps({"ours": mine, "reference": theirs,
                              "fit_ratio": round(ref["fit_s"] / ours["fit_s"], 2),
                              "fit_cpu_ratio": round(ref["fit_cpu_s"] / ours["fit_cpu_s"], 2),
                              "predict_ratio": round(ref["predict_s"] / ours["predict_s"], 2),
                              "peak_rss_ratio": round(ref["peak_rss_mb"] / ours["peak_rss_mb"],
                                                      2)}), flush=True)


if __name__ == "__main__":
    main()
