"""Market-trend statistics on item x period matrices (pure numpy/scipy, vectorised over items).

* :func:`loglinear_trend`: a quasi-Poisson regression ``log E[y_t] = a + b t`` of each
  item's period sales on time (IRLS on every item at once), the dispersion estimated from
  the Pearson residuals (never below 1), a Wald test of ``b = 0``; the growth reported is
  the fitted change across the window, ``exp(b (T - 1)) - 1``, with its 95% interval.
* :func:`yoy_growth`: sales over the window against the same periods a year before,
  ``S1 / S0 - 1``, with a quasi-Poisson interval on the log ratio. Comparing a period with
  the same period a year before removes the seasonal swing, so a Christmas item rising in
  the autumn is not a trend.
* :func:`benjamini_hochberg`: q-values across items (false discovery rate).
* :func:`robust_anomalies`: log residuals from a centred running median, flagged beyond
  ``k`` scaled MADs (1.4826 MAD estimates the standard deviation of normal noise).
* :func:`ramp_index`: new products against the median launch curve.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import ArrayLike, NDArray
from scipy.stats import norm

from insightloop.errors import ConfigError

__all__ = ["benjamini_hochberg", "loglinear_trend", "ramp_index", "robust_anomalies",
           "seasonal_profile", "yoy_growth"]

Array = NDArray[np.float64]
Z95 = float(norm.ppf(0.975))


def _matrix(y: ArrayLike, name: str = "sales") -> Array:
    m = np.asarray(y, dtype=float)
    if m.ndim != 2:
        raise ConfigError(f"{name} must be items x periods, got shape {m.shape}")
    if np.any(m < 0) or not np.all(np.isfinite(m)):
        raise ConfigError(f"{name} must be finite and >= 0 (returns are left out before "
                          "the test)")
    return m


def loglinear_trend(y: ArrayLike, iterations: int = 30) -> dict[str, Array]:
    """Per item: slope ``b`` per period, its standard error, the growth across the window
    with a 95% interval, the two-sided p-value and the dispersion. Items with no sales get
    NaN."""
    m = _matrix(y)
    n, t_len = m.shape
    if t_len < 4:
        raise ConfigError(f"a trend needs at least 4 periods, got {t_len}")
    t = np.arange(t_len, dtype=float) - (t_len - 1) / 2  # centred: a and b nearly orthogonal
    total = m.sum(axis=1)
    a = np.log(np.maximum(total / t_len, 1e-9))
    b = np.zeros(n)
    for _ in range(iterations):  # IRLS, vectorised over the items
        mu = np.exp(np.clip(a[:, None] + b[:, None] * t, -50, 50))
        s0, s1, s2 = mu.sum(axis=1), (mu * t).sum(axis=1), (mu * t * t).sum(axis=1)
        g0, g1 = (m - mu).sum(axis=1), ((m - mu) * t).sum(axis=1)
        det = np.maximum(s0 * s2 - s1 * s1, 1e-12)
        a = a + (s2 * g0 - s1 * g1) / det
        b = np.clip(b + (s0 * g1 - s1 * g0) / det, -5, 5)
    mu = np.exp(np.clip(a[:, None] + b[:, None] * t, -50, 50))
    s0, s1, s2 = mu.sum(axis=1), (mu * t).sum(axis=1), (mu * t * t).sum(axis=1)
    var_b = s0 / np.maximum(s0 * s2 - s1 * s1, 1e-12)
    phi = np.maximum(1.0, ((m - mu) ** 2 / np.maximum(mu, 1e-9)).sum(axis=1) / (t_len - 2))
    se = np.sqrt(phi * var_b)
    span = t_len - 1
    lo, hi = np.clip((b - Z95 * se) * span, -50, 50), np.clip((b + Z95 * se) * span, -50, 50)
    out = {"slope": b, "se": se, "growth": np.expm1(b * span),
           "ci_low": np.expm1(lo), "ci_high": np.expm1(hi),
           "p": 2 * norm.sf(np.abs(b) / se), "dispersion": phi}
    empty = total <= 0
    return {k: np.where(empty, np.nan, v) for k, v in out.items()}


def yoy_growth(recent: ArrayLike, prior: ArrayLike) -> dict[str, Array]:
    """Per item: ``S1 / S0 - 1`` for matched periods (recent vs a year before), the 95%
    interval and p-value of the log ratio under a quasi-Poisson model whose dispersion is
    the variance-to-mean ratio of the period sales (never below 1). NaN where either year
    has no sales."""
    r, p = _matrix(recent), _matrix(prior, "prior-year sales")
    if r.shape != p.shape:
        raise ConfigError(f"recent {r.shape} and prior-year {p.shape} sales do not match")
    s1, s0 = r.sum(axis=1), p.sum(axis=1)
    both = np.concatenate([r, p], axis=1)
    # within-year dispersion: deviations from each year's own mean
    dev = np.concatenate([r - r.mean(axis=1, keepdims=True),
                          p - p.mean(axis=1, keepdims=True)], axis=1)
    mean = np.maximum(both.mean(axis=1), 1e-9)
    phi = np.maximum(1.0, (dev**2).sum(axis=1) / max(both.shape[1] - 2, 1) / mean)
    ok = (s1 > 0) & (s0 > 0)
    s1s, s0s = np.where(ok, s1, 1.0), np.where(ok, s0, 1.0)
    lr = np.log(s1s / s0s)
    se = np.sqrt(phi * (1 / s1s + 1 / s0s))
    out = {"slope": lr, "se": se, "growth": np.expm1(lr), "ci_low": np.expm1(lr - Z95 * se),
           "ci_high": np.expm1(lr + Z95 * se), "p": 2 * norm.sf(np.abs(lr) / se),
           "dispersion": phi}
    return {k: np.where(ok, v, np.nan) for k, v in out.items()}


def benjamini_hochberg(p: ArrayLike) -> Array:
    """Benjamini-Hochberg q-values (NaN stays NaN and does not count as a test)."""
    pv = np.asarray(p, dtype=float)
    q = np.full(pv.shape, np.nan)
    ok = np.isfinite(pv)
    m = int(ok.sum())
    if m == 0:
        return q
    vals = pv[ok]
    order = np.argsort(vals)
    ranked = vals[order] * m / np.arange(1, m + 1)
    adj = np.minimum(np.minimum.accumulate(ranked[::-1])[::-1], 1.0)
    out = np.empty(m)
    out[order] = adj
    q[ok] = out
    return q


def robust_anomalies(y: ArrayLike, k: float = 4.0, window: int = 7
                     ) -> dict[str, NDArray[np.generic]]:
    """Per item and period: the expected value (a centred running median of ``window``
    periods, reflected at the edges), the robust z-score and whether ``|z| > k``.

    The residual is taken on the log scale, ``log1p(y) - log1p(expected)``: sales noise
    grows with the level, so a product that ramps from 5 to 2,000 a week is judged against
    its own relative noise, not against its quiet weeks. The scale is ``1.4826 x`` the
    item's median absolute log residual, at least the Poisson noise ``1 / sqrt(median
    sales)`` (a product selling a steady 25 a week does not flag 30).
    """
    m = np.asarray(y, dtype=float)
    if m.ndim != 2 or not np.all(np.isfinite(m)) or np.any(m < 0):
        raise ConfigError("sales must be a finite items x periods matrix, >= 0")
    if window < 3 or window % 2 == 0:
        raise ConfigError(f"the anomaly window must be odd and >= 3, got {window}")
    half = window // 2
    if m.shape[1] <= half:
        raise ConfigError(f"anomalies need at least {half + 1} periods, got {m.shape[1]}")
    padded = np.pad(m, ((0, 0), (half, half)), mode="reflect")
    expected = np.median(sliding_window_view(padded, window, axis=1), axis=2)
    resid = np.log1p(m) - np.log1p(expected)
    floor = 1.0 / np.sqrt(np.maximum(np.median(m, axis=1), 1.0))
    scale = np.maximum(1.4826 * np.median(np.abs(resid), axis=1), floor)
    z = resid / scale[:, None]
    return {"expected": expected, "residual": m - expected, "z": z, "flag": np.abs(z) > k}


def ramp_index(since_launch: ArrayLike, observed: ArrayLike
               ) -> tuple[Array, Array]:
    """New-product ramp: ``since_launch`` is items x weeks-since-launch sales, ``observed``
    the number of weeks each item has been on sale (later cells are not yet known). Returns
    the median curve (per week, over the items observed that week) and each item's index:
    its cumulative sales over its observed weeks divided by the median curve's over the
    same weeks (1 = a typical launch, 2 = twice as fast)."""
    m = np.asarray(since_launch, dtype=float)
    obs = np.asarray(observed, dtype=np.int64)
    if m.ndim != 2 or obs.shape != (m.shape[0],):
        raise ConfigError("ramp curves need items x weeks and one observed length per item")
    known = np.arange(m.shape[1])[None, :] < obs[:, None]
    masked = np.where(known, m, np.nan)
    counted = known.sum(axis=0) > 0
    curve = np.full(m.shape[1], np.nan)
    if counted.any():
        curve[counted] = np.nanmedian(masked[:, counted], axis=0)
    cum_curve = np.concatenate([[0.0], np.cumsum(np.nan_to_num(curve))])
    cum_item = np.where(known, m, 0.0).sum(axis=1)
    base = cum_curve[np.clip(obs, 0, m.shape[1])]
    index = np.where(base > 0, cum_item / np.where(base > 0, base, 1.0), np.nan)
    return curve, index


def seasonal_profile(y: ArrayLike, position: ArrayLike, periods: int
                     ) -> tuple[Array, Array]:
    """Seasonal index and strength per item.

    ``position`` gives each column's place in the cycle (0..periods-1: weekday, month).
    The index is the mean at each place over the mean of the places (1 = average, 0.5 =
    half); the strength is the share of the series' variance the places explain
    (``1 - SS_within / SS_total``, an eta squared). It needs every place seen at least
    twice, else the index stands on one value per place (confounded with any trend) and
    the strength is NaN.
    """
    m = np.asarray(y, dtype=float)
    pos = np.asarray(position, dtype=np.int64)
    if m.ndim != 2 or pos.shape != (m.shape[1],) or pos.min() < 0 or pos.max() >= periods:
        raise ConfigError("a seasonal profile needs items x periods and one place per period")
    onehot = (pos[:, None] == np.arange(periods)[None, :]).astype(float)
    counts = onehot.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = (m @ onehot) / counts
        level = np.nanmean(np.where(counts > 0, means, np.nan), axis=1)
        index = means / level[:, None]
        fitted = means[:, pos]
        total = ((m - m.mean(axis=1, keepdims=True)) ** 2).sum(axis=1)
        within = ((m - fitted) ** 2).sum(axis=1)
        strength = np.where((total > 0) & (counts.min() >= 2), 1 - within / total, np.nan)
    return np.asarray(index, dtype=float), np.asarray(strength, dtype=float)
