"""Treatment balance checks: was the test randomised as it claims?

* standardised mean differences of every covariate between the arms,
  ``(mean_t - mean_c) / sqrt((var_t + var_c) / 2)`` (Austin 2009); |SMD| < 0.1 is the
  usual threshold of balance;
* the propensity AUC: how well the covariates predict the arm, by a small cross-fitted
  LightGBM classifier. About 0.5 in a randomised test; well above it (0.55+) when
  assignment depended on the customers.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from insightloop.errors import ModelFitError

__all__ = ["propensity_auc", "rank_auc", "standardised_mean_differences"]


def standardised_mean_differences(X: np.ndarray, treatment: np.ndarray) -> np.ndarray:
    """Per column of ``X``, the SMD between treated and control rows (missing values
    ignored; 0 for a column constant in both arms)."""
    t = np.asarray(treatment).astype(bool)
    A = np.asarray(X, dtype=np.float64)
    if A.ndim != 2 or len(A) != len(t):
        raise ModelFitError(f"covariates of shape {A.shape} do not match {len(t)} treatments")
    with np.errstate(invalid="ignore", divide="ignore"):
        m_t, m_c = np.nanmean(A[t], axis=0), np.nanmean(A[~t], axis=0)
        v_t, v_c = np.nanvar(A[t], axis=0, ddof=1), np.nanvar(A[~t], axis=0, ddof=1)
        smd = (m_t - m_c) / np.sqrt((v_t + v_c) / 2.0)
    return np.where(np.isfinite(smd), smd, 0.0)


def rank_auc(y: np.ndarray, score: np.ndarray) -> float:
    """ROC AUC of ``score`` for binary ``y`` by the rank-sum formula (ties averaged)."""
    # lazy: scipy.stats (~0.5 s) only when a balance check runs
    from scipy.stats import rankdata

    yy = np.asarray(y).astype(bool)
    n_pos, n_neg = int(yy.sum()), int((~yy).sum())
    if n_pos == 0 or n_neg == 0:
        raise ModelFitError("an AUC needs both classes")
    ranks = rankdata(score)
    return float((ranks[yy].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def propensity_auc(X: np.ndarray, treatment: np.ndarray, categorical: Sequence[int] = (),
                   random_state: int = 0, n_jobs: int = 0) -> float:
    """Out-of-fold AUC of a 2-fold LightGBM classifier predicting the arm from ``X``."""
    # lazy: LightGBM (OpenMP) only when the balance is checked
    import lightgbm as lgb

    t = np.asarray(treatment).astype(bool)
    A = np.asarray(X, dtype=np.float32)
    fold = np.random.default_rng(random_state).integers(0, 2, len(t)).astype(bool)
    score = np.empty(len(t))
    params = {"objective": "binary", "learning_rate": 0.1, "num_leaves": 15,
              "min_data_in_leaf": 100, "verbose": -1, "num_threads": n_jobs,
              "seed": random_state, "deterministic": True}
    for part in (fold, ~fold):
        ds = lgb.Dataset(A[~part], label=t[~part].astype(np.float32),
                         categorical_feature=list(categorical) or "auto")
        booster = lgb.train(params, ds, num_boost_round=50)
        score[part] = booster.predict(A[part])
    return rank_auc(t, score)
