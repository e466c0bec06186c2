"""Hillstrom uplift (Womens E-Mail vs No E-Mail, target visit): choose on the training half,
score once on the test half, against the scikit-uplift anchor on the same split.

The protocol is the anchor's (ANCHORS.md: scikit-uplift's notebook, class transformation
+ XGBoost(max_depth=2), uplift@30% ``overall`` = 0.066): the Womens and No E-Mail rows in
file order, ``train_test_split(test_size=0.5, random_state=42)``, features recency,
history_segment, history, mens, womens, zip_code, newbie, channel.

1. ``--part cv`` (training half only): each candidate in a 5-fold cross-validation repeated
   ``--repeats`` times (stratified by arm x outcome), mean uplift@30% and Qini AUC over the
   folds with their standard errors. This is where learners and settings are chosen.
2. ``--part test``: every final candidate is scored once on the test half, with 95%
   percentile-bootstrap intervals (``--draws``) and the paired bootstrap of its difference
   from the anchor (the real one with ``--sklift``, else the reimplementation; the same
   resampled customers for both):
   * ``insightloop evaluate uplift`` as a user runs it (``--model auto``: chosen by a
     3-fold cross-validation of the training half), through the CLI;
   * ``x``: the X-learner, the previous default (auto's earlier choice);
   * ``anchor (LightGBM)``: the anchor's method reimplemented, class transformation with
     XGBoost's defaults at depth 2 (100 rounds, learning rate 0.3, 4 leaves, L2 1) on LightGBM;
   * ``anchor (scikit-uplift + XGBoost)``: with ``--sklift DIR`` holding scikit-uplift
     0.5.1, xgboost and category_encoders (``pip install --no-deps --target DIR
     scikit-uplift==0.5.1 xgboost-cpu category_encoders``; none is an insightloop
     dependency), the notebook itself: CatBoostEncoder on the categorical columns,
     ``ClassTransformation(XGBClassifier(max_depth=2, random_state=42))``.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/uplift_hillstrom.py --part cv
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/uplift_hillstrom.py --part test \\
        --sklift /tmp/sklift_pkg
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from sklearn.model_selection import StratifiedKFold, train_test_split

from insightloop.models.uplift.intervals import bootstrap_qini_auc, bootstrap_uplift_at_k
from insightloop.models.uplift.learners import make_learner
from insightloop.models.uplift.metrics import qini_auc_score, uplift_at_k
from insightloop.services.uplift.data import encode_features, read_uplift_file

DATA = Path(__file__).resolve().parents[1].parent / "shared/data/hillstrom/hillstrom.csv"
TREATED, CONTROL = "Womens E-Mail", "No E-Mail"
#: the anchor's method on LightGBM: XGBoost's defaults (100 rounds, eta 0.3, lambda 1,
#: min_child_weight 1) at max_depth 2 (4 leaves)
ANCHOR = {"n_estimators": 100, "learning_rate": 0.3, "num_leaves": 4,
          "min_child_samples": 5, "reg_lambda": 1.0}
CANDIDATES = {"linear": ("linear", {}), "x": ("x", {}), "two_model": ("two_model", {}),
              "dr": ("dr", {}), "r": ("r", {}),
              "class_transformation": ("class_transformation", {}),
              "anchor (LightGBM)": ("class_transformation", ANCHOR)}
Scorer = Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray], np.ndarray]


def load(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                             tuple[np.ndarray, np.ndarray], list[int]]:
    """Encoded features (the encoder fitted on the training half, as ``evaluate uplift``
    does), visit, treated flag, and the train/test row numbers."""
    data = read_uplift_file(path, "segment", [TREATED], CONTROL, "visit",
                            drop=["conversion", "spend"], drop_other=True)
    train, test = train_test_split(np.arange(len(data.y)), test_size=0.5, random_state=42)
    (X_train, X_test), _, cats, _ = encode_features(data.features.iloc[train],
                                                    data.features.iloc[test])
    X = np.empty((len(data.y), X_train.shape[1]), dtype=np.float32)
    X[train], X[test] = X_train, X_test
    return X, data.y, data.arm == TREATED, (train, test), cats


def scorer(name: str, cats: list[int], seed: int) -> Scorer:
    learner, params = CANDIDATES[name]

    def fit_predict(Xa: np.ndarray, ya: np.ndarray, ta: np.ndarray, Xb: np.ndarray
                    ) -> np.ndarray:
        model = make_learner(learner, control=0, categorical=tuple(cats), random_state=seed,
                             n_jobs=1, **params)
        return np.asarray(model.fit(Xa, ya, ta.astype(int)).predict(Xb))
    return fit_predict


def part_cv(X: np.ndarray, y: np.ndarray, t: np.ndarray, train: np.ndarray, cats: list[int],
            repeats: int, names: list[str]) -> None:
    Xt, yt, tt = X[train], y[train], t[train]
    print(f"training half: {len(train):,} rows; 5-fold CV x {repeats}")
    for name in names:
        start, u30, qini = time.perf_counter(), [], []
        for r in range(repeats):
            folds = StratifiedKFold(5, shuffle=True, random_state=r)
            for a, b in folds.split(Xt, 2 * tt + yt):
                u = scorer(name, cats, r)(Xt[a], yt[a], tt[a], Xt[b])
                u30.append(uplift_at_k(yt[b], u, tt[b], 0.3))
                qini.append(qini_auc_score(yt[b], u, tt[b]))
        a30, aq = np.array(u30), np.array(qini)
        print(json.dumps({"candidate": name, "cv_uplift@30": round(a30.mean(), 4),
                          "se": round(a30.std(ddof=1) / np.sqrt(a30.size), 4),
                          "cv_qini_auc": round(aq.mean(), 4),
                          "qini_se": round(aq.std(ddof=1) / np.sqrt(aq.size), 4),
                          "seconds": round(time.perf_counter() - start, 1)}), flush=True)


def sklift_scores(sklift: str, path: Path, train: np.ndarray, test: np.ndarray) -> np.ndarray:
    """The anchor's notebook, run for real (scikit-uplift, XGBoost, category_encoders)."""
    sys.path.insert(0, sklift)
    import pandas as pd
    from category_encoders import CatBoostEncoder
    from sklift.models import ClassTransformation
    from xgboost import XGBClassifier

    df = pd.read_csv(path)
    df = df[df["segment"] != "Mens E-Mail"].reset_index(drop=True)
    feats = df[["recency", "history_segment", "history", "mens", "womens", "zip_code",
                "newbie", "channel"]]
    treat = (df["segment"] == TREATED).astype(int)
    enc = CatBoostEncoder(cols=["history_segment", "zip_code", "channel"])
    Xtr = enc.fit_transform(feats.iloc[train], df["visit"].iloc[train])
    ct = ClassTransformation(estimator=XGBClassifier(max_depth=2, random_state=42, n_jobs=1))
    ct.fit(Xtr, df["visit"].iloc[train], treat.iloc[train])
    return np.asarray(ct.predict(enc.transform(feats.iloc[test])))


def cli_auto(path: Path, draws: int) -> dict[str, object]:
    cli = str(Path(sys.executable).with_name("insightloop"))
    cmd = [cli, "evaluate", "uplift", "--data", str(path),
           "--treatment", "segment", "--treated", TREATED, "--control", CONTROL,
           "--outcome", "visit", "--drop", "conversion", "--drop", "spend", "--drop-other",
           "--bootstrap", str(draws), "--json"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True,
                         env={**os.environ, "OMP_NUM_THREADS": "1"})
    result: dict[str, object] = json.loads(out.stdout)
    return result


def part_test(X: np.ndarray, y: np.ndarray, t: np.ndarray,
              split: tuple[np.ndarray, np.ndarray],
              cats: list[int], draws: int, sklift: str | None, path: Path) -> None:
    train, test = split
    yt, tt = y[test], t[test]
    start = time.perf_counter()
    auto = cli_auto(path, draws)
    print(json.dumps({"candidate": f"evaluate uplift --model auto -> {auto['model']}",
                      "uplift@30": auto["uplift@30"], "ci": auto["uplift@30_ci"],
                      "qini_auc": auto["qini_auc"], "qini_ci": auto["qini_auc_ci"],
                      "selection": auto["selection"],
                      "seconds": round(time.perf_counter() - start, 1)}), flush=True)
    scores = {name: scorer(name, cats, 42)(X[train], y[train], t[train], X[test])
              for name in ("linear", "x", "anchor (LightGBM)")}
    if sklift:
        scores["anchor (scikit-uplift + XGBoost)"] = sklift_scores(sklift, path, train, test)
    rng = np.random.default_rng(0)
    resample = rng.integers(0, len(test), size=(draws, len(test)))
    ref_name = ("anchor (scikit-uplift + XGBoost)" if sklift else "anchor (LightGBM)")
    ref = scores[ref_name]
    for name, u in scores.items():
        diff = np.array([[uplift_at_k(yt[i], u[i], tt[i]) - uplift_at_k(yt[i], ref[i], tt[i]),
                          qini_auc_score(yt[i], u[i], tt[i])
                          - qini_auc_score(yt[i], ref[i], tt[i])]
                         for i in resample])  # draws, not rows

        def ci(v: np.ndarray) -> list[float]:
            return [round(float(x), 4) for x in np.percentile(v, [2.5, 97.5])]
        print(json.dumps({
            "candidate": name, "uplift@30": round(uplift_at_k(yt, u, tt), 4),
            "ci": [round(v, 4) for v in bootstrap_uplift_at_k(yt, u, tt, draws=draws)],
            "qini_auc": round(qini_auc_score(yt, u, tt), 4),
            "qini_ci": [round(v, 4) for v in bootstrap_qini_auc(yt, u, tt, draws=draws)],
            "anchor": ref_name,
            "uplift@30_minus_anchor": round(uplift_at_k(yt, u, tt) - uplift_at_k(yt, ref, tt),
                                            4),
            "paired_ci": ci(diff[:, 0]),
            "qini_minus_anchor": round(qini_auc_score(yt, u, tt) - qini_auc_score(yt, ref, tt),
                                       4),
            "qini_paired_ci": ci(diff[:, 1]),
        }), flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--part", choices=("cv", "test"), required=True)
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--repeats", type=int, default=4)
    ap.add_argument("--draws", type=int, default=1000)
    ap.add_argument("--candidates", default=",".join(CANDIDATES))
    ap.add_argument("--sklift", default=None, help="folder holding scikit-uplift, xgboost, "
                                                   "category_encoders (the real anchor)")
    args = ap.parse_args()
    X, y, t, split, cats = load(args.data)
    if args.part == "cv":
        part_cv(X, y, t, split[0], cats, args.repeats, args.candidates.split(","))
    else:
        part_test(X, y, t, split, cats, args.draws, args.sklift, args.data)


if __name__ == "__main__":
    main()
