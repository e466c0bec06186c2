"""Frequentist effects from sufficient statistics: Welch difference in means, proportions,
relative effects and ratio metrics (delta method), all vectorised over arms and metrics.

Every function takes arrays (or scalars) that broadcast against each other: one element per
(arm, metric) pair. Means and sample variances (``ddof=1``) come from the warehouse, where
they are computed with DuckDB's aggregates (``avg``, ``var_samp``, ``covar_samp``), so no
row reaches Python. Two-sided tests at level ``alpha`` throughout.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

Array = NDArray[np.float64]


@dataclass(frozen=True)
class Effect:
    """An estimated effect (variant minus control) with its standard error, a two-sided
    ``1 - alpha`` interval and p-value; ``df`` is inf for normal (z) intervals."""

    effect: Array
    se: Array
    ci_low: Array
    ci_high: Array
    p_value: Array
    df: Array


def _arr(x: ArrayLike) -> Array:
    return np.asarray(x, dtype=np.float64)


def moments(n: ArrayLike, total: ArrayLike, squares: ArrayLike) -> tuple[Array, Array]:
    """Mean and sample variance (``ddof=1``) from count, sum and sum of squares."""
    n_, s, ss = _arr(n), _arr(total), _arr(squares)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = s / n_
        var = np.maximum(ss - s * mean, 0.0) / (n_ - 1)
    return mean, var


def normal_effect(effect: ArrayLike, se: ArrayLike, alpha: float = 0.05) -> Effect:
    """A z interval and two-sided p-value for ``effect`` with standard error ``se``."""
    e, s = _arr(effect), _arr(se)
    q = stats.norm.ppf(1 - alpha / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(s > 0, e / s, np.nan)
    p = 2 * stats.norm.sf(np.abs(z))
    return Effect(e, s, e - q * s, e + q * s, p, np.full(np.shape(e), np.inf))


def welch(n0: ArrayLike, mean0: ArrayLike, var0: ArrayLike, n1: ArrayLike, mean1: ArrayLike,
          var1: ArrayLike, alpha: float = 0.05) -> Effect:
    """Welch's unequal-variance t test of ``mean1 - mean0`` (as
    ``scipy.stats.ttest_ind(x1, x0, equal_var=False)``) with its ``1 - alpha`` interval."""
    a0, a1 = _arr(var0) / _arr(n0), _arr(var1) / _arr(n1)
    se2 = a0 + a1
    effect = _arr(mean1) - _arr(mean0)
    with np.errstate(divide="ignore", invalid="ignore"):
        df = se2 ** 2 / (a0 ** 2 / (_arr(n0) - 1) + a1 ** 2 / (_arr(n1) - 1))
        se = np.sqrt(se2)
        t = np.where(se > 0, effect / se, np.nan)
    p = 2 * stats.t.sf(np.abs(t), df)
    q = stats.t.ppf(1 - alpha / 2, df)
    return Effect(effect, se, effect - q * se, effect + q * se, p, df)


def proportions(n0: ArrayLike, x0: ArrayLike, n1: ArrayLike, x1: ArrayLike,
                alpha: float = 0.05) -> Effect:
    """Difference of two proportions ``x1/n1 - x0/n0``: unpooled (Wald) standard error,
    z interval and z test on the same standard error."""
    p0, p1 = _arr(x0) / _arr(n0), _arr(x1) / _arr(n1)
    se = np.sqrt(p0 * (1 - p0) / _arr(n0) + p1 * (1 - p1) / _arr(n1))
    return normal_effect(p1 - p0, se, alpha)


def relative(n0: ArrayLike, mean0: ArrayLike, var0: ArrayLike, n1: ArrayLike,
             mean1: ArrayLike, var1: ArrayLike, alpha: float = 0.05) -> Effect:
    """Relative effect ``mean1 / mean0 - 1`` by the delta method (z interval); NaN where the
    control mean is 0."""
    m0, m1 = _arr(mean0), _arr(mean1)
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(m0 != 0, m1 / m0 - 1, np.nan)
        var = _arr(var1) / (_arr(n1) * m0 ** 2) + m1 ** 2 * _arr(var0) / (_arr(n0) * m0 ** 4)
    return normal_effect(rel, np.sqrt(var), alpha)


def ratio_moments(n: ArrayLike, mean_num: ArrayLike, mean_den: ArrayLike, var_num: ArrayLike,
                  var_den: ArrayLike, cov: ArrayLike) -> tuple[Array, Array]:
    """A ratio metric of one arm (``sum(num) / sum(den)``, e.g. revenue per visit) and the
    delta-method variance of that ratio: ``var(num - R den) / (n mean_den^2)``."""
    mn, md = _arr(mean_num), _arr(mean_den)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = mn / md
        var = (_arr(var_num) - 2 * r * _arr(cov) + r ** 2 * _arr(var_den)) / (_arr(n) * md ** 2)
    return r, np.maximum(var, 0.0)


def ratio_difference(r0: ArrayLike, var_r0: ArrayLike, r1: ArrayLike, var_r1: ArrayLike,
                     alpha: float = 0.05) -> Effect:
    """Difference of two independent ratio metrics (delta method, z interval)."""
    return normal_effect(_arr(r1) - _arr(r0), np.sqrt(_arr(var_r0) + _arr(var_r1)), alpha)
