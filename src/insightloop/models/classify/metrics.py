"""Metrics of binary scores: ranking, probability quality, threshold, lift and gains.

All functions take ``y`` (0/1) and ``p`` (score or probability, higher = more
likely positive) as arrays and are vectorised.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, roc_auc_score

from insightloop.errors import ModelFitError

_EPS = 1e-15


def _check(y: np.ndarray | pd.Series, p: np.ndarray | pd.Series) -> tuple[np.ndarray, np.ndarray]:
    ya = np.asarray(y, dtype="int64")
    pa = np.asarray(p, dtype="float64")
    if ya.shape != pa.shape:
        raise ValueError(f"y has shape {ya.shape} but scores have shape {pa.shape}")
    if np.unique(ya).size < 2:
        raise ModelFitError(
            f"metrics need both classes in y; got only {np.unique(ya).tolist()} "
            f"in {ya.size} rows"
        )
    return ya, pa


def auc(y: np.ndarray | pd.Series, p: np.ndarray | pd.Series) -> float:
    """Area under the ROC curve."""
    ya, pa = _check(y, p)
    return float(roc_auc_score(ya, pa))


def pr_auc(y: np.ndarray | pd.Series, p: np.ndarray | pd.Series) -> float:
    """Area under the precision-recall curve (average precision)."""
    ya, pa = _check(y, p)
    return float(average_precision_score(ya, pa))


def logloss(y: np.ndarray | pd.Series, p: np.ndarray | pd.Series) -> float:
    """Mean binary cross-entropy of probabilities ``p`` (clipped to [1e-15, 1 - 1e-15])."""
    ya, pa = _check(y, p)
    pc = np.clip(pa, _EPS, 1 - _EPS)
    return float(-np.mean(ya * np.log(pc) + (1 - ya) * np.log1p(-pc)))


def threshold_metrics(y: np.ndarray | pd.Series, p: np.ndarray | pd.Series,
                      threshold: float) -> dict[str, float]:
    """Precision, recall and F1 of the rule ``p >= threshold``."""
    ya, pa = _check(y, p)
    pred = pa >= threshold
    tp = float(np.sum(pred & (ya == 1)))
    precision = tp / max(float(pred.sum()), 1.0)
    recall = tp / max(float(ya.sum()), 1.0)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    return {"threshold": float(threshold), "precision": precision, "recall": recall, "f1": f1}


def best_f1_threshold(y: np.ndarray | pd.Series, p: np.ndarray | pd.Series) -> float:
    """The score threshold that maximises F1 (ties: the highest threshold)."""
    ya, pa = _check(y, p)
    order = np.argsort(-pa, kind="stable")
    ps, ys = pa[order], ya[order]
    tp = np.cumsum(ys)
    k = np.arange(1, ys.size + 1)
    # only cut where the score changes, so equal scores fall on the same side
    last = np.r_[ps[1:] != ps[:-1], True]
    f1 = np.where(last, 2 * tp / (k + ys.sum()), -1.0)
    return float(ps[int(np.argmax(f1))])


def gains_table(y: np.ndarray | pd.Series, p: np.ndarray | pd.Series,
                bins: int = 10) -> pd.DataFrame:
    """Lift and cumulative gains by score decile (decile 1 = highest scores).

    Returns
    -------
    pandas.DataFrame
        One row per decile: ``decile, n, positives, rate, lift, cum_share_customers,
        cum_share_positives (gains), cum_lift``.
    """
    ya, pa = _check(y, p)
    order = np.argsort(-pa, kind="stable")
    decile = np.empty(ya.size, dtype="int64")
    decile[order] = np.arange(ya.size) * bins // ya.size + 1
    frame = pd.DataFrame({"decile": decile, "y": ya})
    g = frame.groupby("decile")["y"].agg(n="size", positives="sum").reset_index()
    base = ya.mean()
    g["rate"] = g["positives"] / g["n"]
    g["lift"] = g["rate"] / base
    g["cum_share_customers"] = g["n"].cumsum() / ya.size
    g["cum_share_positives"] = g["positives"].cumsum() / ya.sum()
    g["cum_lift"] = g["cum_share_positives"] / g["cum_share_customers"]
    return g


def calibration_table(y: np.ndarray | pd.Series, p: np.ndarray | pd.Series,
                      bins: int = 10) -> pd.DataFrame:
    """Mean predicted probability vs observed rate in equal-count bins of ``p``."""
    ya, pa = _check(y, p)
    order = np.argsort(pa, kind="stable")
    b = np.empty(ya.size, dtype="int64")
    b[order] = np.arange(ya.size) * bins // ya.size
    frame = pd.DataFrame({"bin": b, "y": ya, "p": pa})
    return (frame.groupby("bin").agg(mean_predicted=("p", "mean"), observed=("y", "mean"),
                                     n=("y", "size")).reset_index())


def classification_report(y: np.ndarray | pd.Series, p: np.ndarray | pd.Series,
                          threshold: float) -> dict[str, Any]:
    """All headline metrics in one dict (AUC, PR-AUC, log loss, P/R/F1, lift@top decile)."""
    ya, pa = _check(y, p)
    gains = gains_table(ya, pa)
    return {
        "rows": int(ya.size),
        "positive_rate": float(ya.mean()),
        "auc": auc(ya, pa),
        "pr_auc": pr_auc(ya, pa),
        "logloss": logloss(ya, pa),
        **threshold_metrics(ya, pa, threshold),
        "lift_top_decile": float(gains["lift"].iloc[0]),
    }
