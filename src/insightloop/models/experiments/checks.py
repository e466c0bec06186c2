"""Sample-ratio mismatch and multiple-testing corrections (Holm, Benjamini-Hochberg)."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

Array = NDArray[np.float64]


def srm(counts: ArrayLike, weights: ArrayLike | None = None) -> tuple[float, float]:
    """Chi-square goodness-of-fit of arm sizes ``counts`` against the planned split
    ``weights`` (equal when None): ``(statistic, p_value)``. A small p-value (GrowthBook
    warns below 0.001) means the assignment or the logging is broken."""
    obs = np.asarray(counts, float)
    w = np.ones_like(obs) if weights is None else np.asarray(weights, float)
    expected = obs.sum() * w / w.sum()
    stat = float(np.sum((obs - expected) ** 2 / expected))
    return stat, float(stats.chi2.sf(stat, len(obs) - 1))


def _order(p: Array) -> tuple[NDArray[np.intp], Array, int]:
    ok = np.flatnonzero(~np.isnan(p))
    order = ok[np.argsort(p[ok], kind="stable")]
    return order, p[order], len(order)


def holm(p_values: ArrayLike) -> Array:
    """Holm's step-down adjusted p-values (family-wise error); NaN stays NaN."""
    p = np.asarray(p_values, float)
    out = np.full(p.shape, np.nan)
    order, ps, m = _order(p.ravel())
    adj = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * ps))
    flat = out.ravel()
    flat[order] = adj
    return flat.reshape(p.shape)


def benjamini_hochberg(p_values: ArrayLike) -> Array:
    """Benjamini-Hochberg step-up adjusted p-values (false discovery rate); NaN stays NaN."""
    p = np.asarray(p_values, float)
    out = np.full(p.shape, np.nan)
    order, ps, m = _order(p.ravel())
    adj = np.minimum(1.0, np.minimum.accumulate((m * ps / np.arange(1, m + 1))[::-1])[::-1])
    flat = out.ravel()
    flat[order] = adj
    return flat.reshape(p.shape)


CORRECTIONS = {"holm": holm, "bh": benjamini_hochberg,
               "none": lambda p: np.asarray(p, float)}
