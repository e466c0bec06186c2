"""Checks of a fitted purchase model: held-out ranking and degenerate-fit detection."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy.stats import rankdata

from insightloop.models.clv._base import FloatArray, as_float_array

#: a customer silent this many days is "silent for a year"
SILENT_DAYS = 365.0
#: mean P(alive) above this: the fit says (almost) nobody ever drops out
MAX_MEAN_ALIVE = 0.99
#: median P(alive) of the customers silent for a year above this: degenerate
MAX_SILENT_ALIVE = 0.9
#: a dropout shape parameter (a of BG/NBD and MBG/NBD, s of Pareto/NBD) below this is at
#: its bound: the dropout rates are all ~0
MIN_DROPOUT_SHAPE = 0.01
_DROPOUT_SHAPE = ("a", "s")


def roc_auc(y: ArrayLike, score: ArrayLike) -> float | None:
    """ROC AUC of ``score`` for binary ``y`` (ties count half); None with one class only."""
    yy = as_float_array(y, "y") > 0
    ss = as_float_array(score, "score")
    pos = int(yy.sum())
    neg = yy.size - pos
    if pos == 0 or neg == 0:
        return None
    ranks = rankdata(ss)
    return float((ranks[yy].sum() - pos * (pos + 1) / 2.0) / (pos * neg))


def auc_standard_error(auc: float, positives: int, negatives: int) -> float:
    """Standard error of a ROC AUC (Hanley & McNeil 1982, *Radiology* 143(1), 29-36)."""
    q1 = auc / (2.0 - auc)
    q2 = 2.0 * auc * auc / (1.0 + auc)
    var = (auc * (1.0 - auc) + (positives - 1) * (q1 - auc * auc)
           + (negatives - 1) * (q2 - auc * auc)) / max(positives * negatives, 1)
    return float(np.sqrt(max(var, 0.0)))


def degenerate_reasons(model: Any, frequency: FloatArray, recency: FloatArray, T: FloatArray,
                       time_unit_days: float) -> list[str]:
    """Why a fitted purchase model cannot be trusted on these customers ([] when sane).

    * a dropout shape parameter at its bound (``a`` or ``s`` < 0.01: every dropout rate ~0);
    * mean P(alive) > 0.99 (nobody drops out);
    * the customers silent for a year or more (at least 10 of them) have a median
      P(alive) > 0.9 (BG/NBD gives one-time buyers P(alive) = 1 by construction).
    """
    reasons: list[str] = []
    name = type(model).__name__
    params = model.params_
    for key in _DROPOUT_SHAPE:
        if key in params and params[key] < MIN_DROPOUT_SHAPE:
            reasons.append(f"{name}: dropout parameter {key} = {params[key]:.3g} is at its "
                           "bound (every customer's dropout rate ~0)")
    alive = np.asarray(model.probability_alive(frequency, recency, T), dtype=np.float64)
    mean_alive = float(alive.mean())
    if mean_alive > MAX_MEAN_ALIVE:
        reasons.append(f"{name}: mean P(alive) is {mean_alive:.4f} (nobody drops out)")
    silent = (T - recency) * time_unit_days >= SILENT_DAYS
    if int(silent.sum()) >= 10:
        med = float(np.median(alive[silent]))
        if med > MAX_SILENT_ALIVE:
            reasons.append(f"{name}: the {int(silent.sum()):,} customers silent for a year or "
                           f"more have median P(alive) {med:.3f}")
    return reasons
