"""Bootstrap confidence intervals of uplift@k and the Qini AUC on a held-out set.

The predictions are fixed (the model is not refitted): the intervals measure the sampling
noise of the *test* rows, which is what decides whether two learners scored on the same
split differ. Customers are resampled with replacement, ``draws`` times; the interval is
the percentile interval of the metric over the draws (draws where an arm is empty in the
top share give no value and are left out).

uplift@k (``overall``, the anchor's strategy) is computed for a block of draws at once
without sorting: the ranking is computed once; a draw is the number of copies of each
ranked customer (a bincount), and the top ``int(k n)`` of the draw are the first copies
along the ranking (a cumulative sum), so a draw costs a few passes over ``n`` numbers.
The Qini AUC needs the whole curve and its perfect-ranking normaliser per draw: one call
of :func:`~.metrics.qini_auc_score` per draw.
"""

from __future__ import annotations

import numpy as np

from insightloop.errors import ModelFitError
from insightloop.models.uplift.metrics import _arrays, _order, qini_auc_score

__all__ = ["bootstrap_qini_auc", "bootstrap_uplift_at_k"]

_BLOCK_CELLS = 2_000_000  # customers x draws handled at once (16 MB per array)


def _check(draws: int, level: float) -> None:
    if draws < 10:
        raise ModelFitError(f"draws must be >= 10, got {draws}")
    if not 0 < level < 1:
        raise ModelFitError(f"level must be in (0, 1), got {level}")


def _percentiles(values: np.ndarray, level: float) -> tuple[float, float]:
    v = values[np.isfinite(values)]
    if v.size < 2:
        return float("nan"), float("nan")
    lo, hi = np.percentile(v, [50 * (1 - level), 50 * (1 + level)])
    return float(lo), float(hi)


def uplift_at_k_draws(y: np.ndarray, uplift: np.ndarray, treatment: np.ndarray,
                      k: float = 0.3, draws: int = 1000, seed: int = 0) -> np.ndarray:
    """uplift@k (``overall``) of ``draws`` bootstrap resamples of the customers."""
    y, u, t = _arrays(y, uplift, treatment)
    if not 0 < k < 1:
        raise ModelFitError(f"k must be a share in (0, 1), got {k}")
    n = len(y)
    top = int(n * k)
    if top == 0:
        return np.full(draws, np.nan)
    order = _order(u)
    ys, ts = y[order], t[order].astype(np.float64)   # customers in ranking order
    rng = np.random.default_rng(seed)
    block = max(1, _BLOCK_CELLS // n)
    out = np.empty(draws)
    yt_r, t_r = ys * ts, ts                     # per ranked customer: treated outcome, flag
    yc_r, c_r = ys * (1.0 - ts), 1.0 - ts
    for start in range(0, draws, block):
        b = min(block, draws - start)
        # copies of each ranked customer in each draw, then how many of them fall in the
        # top `top` of that draw (the ranking is fixed: the first positions fill it)
        picks = rng.integers(0, n, size=(b, n)) + (np.arange(b) * n)[:, None]
        copies = np.bincount(picks.ravel(), minlength=b * n).reshape(b, n).astype(np.float64)
        before = np.cumsum(copies, axis=1) - copies
        w = np.clip(top - before, 0.0, copies)
        n_t, n_c = w @ t_r, w @ c_r
        with np.errstate(invalid="ignore", divide="ignore"):
            out[start:start + b] = (w @ yt_r) / n_t - (w @ yc_r) / n_c
        out[start:start + b][(n_t == 0) | (n_c == 0)] = np.nan
    return out


def bootstrap_uplift_at_k(y: np.ndarray, uplift: np.ndarray, treatment: np.ndarray,
                          k: float = 0.3, draws: int = 1000, level: float = 0.95,
                          seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of uplift@k (``overall``) at ``level``."""
    _check(draws, level)
    return _percentiles(uplift_at_k_draws(y, uplift, treatment, k, draws, seed), level)


def bootstrap_qini_auc(y: np.ndarray, uplift: np.ndarray, treatment: np.ndarray,
                       draws: int = 1000, level: float = 0.95, seed: int = 0
                       ) -> tuple[float, float]:
    """Percentile bootstrap interval of the Qini AUC at ``level``."""
    _check(draws, level)
    y, u, t = _arrays(y, uplift, treatment)
    rng = np.random.default_rng(seed)
    values = np.full(draws, np.nan)
    for d in range(draws):  # one curve per draw (draws, not rows)
        i = rng.integers(0, len(y), len(y))
        ti = t[i]
        if ti.any() and not ti.all():
            values[d] = qini_auc_score(y[i], u[i], ti)
    return _percentiles(values, level)
