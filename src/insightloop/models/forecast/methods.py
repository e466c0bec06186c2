"""Local statistical methods on a right-aligned panel, vectorised across series.

Each method maps ``(Y, h, m)`` to an ``(n, h)`` array of point forecasts, where ``Y`` is an
``(n, T)`` array with ``NaN`` before each series' first period (see :mod:`.panel`) and ``m``
the season length (1: none). Nothing loops over series: the recursions loop over time only
and carry every series (and every candidate parameter) in arrays.

* :func:`naive`, :func:`seasonal_naive`, :func:`window_average`, :func:`window_median`,
  :func:`seasonal_level` (last season smoothed, rescaled to the recent level);
* :func:`ets`: additive-error exponential smoothing, simple / Holt / damped trend, with or
  without an additive season, parameters and form chosen per series by AICc over a grid;
* :func:`theta`: the Theta method (SES with drift = half the OLS slope; Hyndman & Billah
  2003), on seasonally adjusted data when the series has two full seasons.
"""

from __future__ import annotations

import itertools
import warnings

import numpy as np

__all__ = ["ets", "naive", "seasonal_level", "seasonal_naive", "series_start", "theta",
           "window_average", "window_median"]

_CHUNK_CELLS = 4_000_000  # series x candidates x season slots held at once (memory bound)


def series_start(y: np.ndarray) -> np.ndarray:
    """Column of each series' first observed period."""
    return y.shape[1] - (~np.isnan(y)).sum(axis=1)


def _last(y: np.ndarray) -> np.ndarray:
    return y[:, -1]


def naive(y: np.ndarray, h: int, m: int = 1) -> np.ndarray:
    """The last value, repeated."""
    return np.repeat(_last(y)[:, None], h, axis=1)


def seasonal_naive(y: np.ndarray, h: int, m: int) -> np.ndarray:
    """The value one season earlier; the last value where a series is shorter than a season."""
    t = y.shape[1]
    if m <= 1 or t < m:
        return naive(y, h)
    cols = t - m + (np.arange(h) % m)
    out = y[:, cols]
    short = np.isnan(out)
    return np.where(short, _last(y)[:, None], out)


def window_average(y: np.ndarray, h: int, m: int = 1, window: int = 13) -> np.ndarray:
    """The mean of the last ``window`` periods (fewer for a shorter series)."""
    return np.repeat(np.nanmean(y[:, -window:], axis=1)[:, None], h, axis=1)


def window_median(y: np.ndarray, h: int, m: int = 1, window: int = 8) -> np.ndarray:
    """The median of the last ``window`` periods: the point forecast that minimises the
    absolute error of a stable series (often 0 for a sparse one)."""
    return np.repeat(np.nanmedian(y[:, -window:], axis=1)[:, None], h, axis=1)


def seasonal_level(y: np.ndarray, h: int, m: int, window: int = 8) -> np.ndarray:
    """Last season's values (a 3-period moving average around the same period) times the
    ratio of the last ``window`` periods to the same periods one season earlier.

    The seasonal naive forecast with its noise smoothed and its level brought up to date;
    series shorter than ``m + window + 1`` periods get the window average.
    """
    t = y.shape[1]
    fallback = window_average(y, h, m, window)
    if m <= 1 or t < m + window + 1:
        return fallback
    cols = t - m + (np.arange(h) % m)
    prev, nxt = np.maximum(cols - 1, 0), np.minimum(cols + 1, t - 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices: NaN, replaced below
        base = np.nanmean(np.stack([y[:, prev], y[:, cols], y[:, nxt]]), axis=0)
        recent = np.nansum(y[:, -window:], axis=1)
        before = np.nansum(y[:, t - m - window:t - m], axis=1)
    ok = (~np.isnan(y[:, t - m - window])) & (before > 0)
    ratio = np.clip((recent + 1.0) / (before + 1.0), 0.25, 4.0)
    fc = base * ratio[:, None]
    return np.where(ok[:, None] & ~np.isnan(fc), fc, fallback)


def _grid(seasonal: bool) -> np.ndarray:
    """Candidate (alpha, beta, phi, gamma, n_params) rows."""
    rows: list[tuple[float, float, float, float, int]] = []
    alphas = (0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9, 1.0)
    if not seasonal:
        rows += [(a, 0.0, 1.0, 0.0, 2) for a in alphas]
        rows += [(a, b, 1.0, 0.0, 4) for a, b in itertools.product(alphas, (0.01, 0.05, 0.15))]
        rows += [(a, b, p, 0.0, 5) for a, b, p in itertools.product(
            alphas, (0.01, 0.05, 0.15), (0.8, 0.9, 0.98))]
    else:
        alphas_s = (0.05, 0.1, 0.3, 0.6, 0.9)
        gammas = (0.01, 0.1, 0.3)
        rows += [(a, 0.0, 1.0, g, 3) for a, g in itertools.product(alphas_s, gammas)]
        rows += [(a, b, p, g, 6) for a, b, p, g in itertools.product(
            alphas_s, (0.01, 0.1), (0.9, 0.98), gammas)]
    return np.asarray(rows, dtype=np.float64)


def _init(y: np.ndarray, start: np.ndarray, m: int, trend: bool
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Initial level (one period before the start), slope and seasonal slots per series."""
    n, t = y.shape
    length = t - start
    rows = np.arange(n)[:, None]
    span = max(m, 1)
    first_cols = np.minimum(start[:, None] + np.arange(span)[None, :], t - 1)
    first = y[rows, first_cols]
    mean1 = first.mean(axis=1)
    if trend:
        if m > 1:
            second_cols = np.minimum(first_cols + m, t - 1)
            slope = np.where(length >= 2 * m, (y[rows, second_cols].mean(axis=1) - mean1) / m, 0.0)
        else:
            k = np.clip(np.minimum(length - 1, 4), 1, None)
            slope = np.where(length >= 2, (y[np.arange(n), np.minimum(start + k, t - 1)]
                                           - y[np.arange(n), start]) / k, 0.0)
    else:
        slope = np.zeros(n)
    level = mean1 - slope * (span + 1) / 2.0
    season = np.zeros((n, span))
    if m > 1:
        season[rows, first_cols % m] = first - mean1[:, None] - slope[:, None] * (
            np.arange(span)[None, :] - (span - 1) / 2.0)
    return level, slope, season


def _ets_chunk(y: np.ndarray, h: int, m: int, grid: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray]:
    """Fit every grid row on every series; (forecast of the best row (n, h), its AICc (n,))."""
    n, t = y.shape
    start = series_start(y)
    alpha, beta, phi, gamma, k = (grid[:, i][None, :] for i in range(5))
    g = grid.shape[0]
    seasonal = m > 1
    level0, slope0, season0 = _init(y, start, m, trend=True)
    level = np.repeat(level0[:, None], g, axis=1)
    slope = np.where(beta > 0, slope0[:, None], 0.0)
    slots = max(m, 1)
    season = np.repeat(season0[:, None, :], g, axis=1) if seasonal else np.zeros((n, g, 1))
    sse = np.zeros((n, g))
    rows = np.arange(n)
    for col in range(t):
        active = (col >= start)[:, None]
        obs = np.nan_to_num(y[:, col])[:, None]
        slot = col % slots
        s = season[:, :, slot]
        fitted = level + phi * slope + s
        err = np.where(active, obs - fitted, 0.0)
        sse += err * err
        new_level = level + phi * slope + alpha * err
        level = np.where(active, new_level, level)
        slope = np.where(active, phi * slope + beta * err, slope)
        if seasonal:
            season[:, :, slot] = np.where(active, s + gamma * err, s)
    nobs = (t - start)[:, None].astype(np.float64)
    aicc = nobs * np.log(sse / nobs + 1e-12) + 2 * k
    denom = nobs - k - 1
    aicc = np.where(denom > 0, aicc + 2 * k * (k + 1) / np.where(denom > 0, denom, 1), np.inf)
    # a series too short for any candidate keeps the simplest one
    aicc[:, 0] = np.where(np.isinf(aicc).all(axis=1), 0.0, aicc[:, 0])
    best = np.argmin(aicc, axis=1)
    steps = np.arange(1, h + 1)
    phi_b = phi[0, best][:, None]
    damp = np.where(phi_b < 1.0, phi_b * (1 - phi_b ** steps[None, :]) / (1 - np.where(
        phi_b < 1.0, phi_b, 0.5)), steps[None, :].astype(np.float64))
    fc = level[rows, best][:, None] + damp * slope[rows, best][:, None]
    if seasonal:
        fc = fc + season[rows[:, None], best[:, None], ((t - 1 + steps) % slots)[None, :]]
    return fc, aicc[rows, best]


def ets(y: np.ndarray, h: int, m: int = 1) -> np.ndarray:
    """Exponential smoothing (additive errors), form and parameters by AICc per series.

    Seasonal forms are tried only for series with at least two full seasons; memory is
    bounded by fitting the series in chunks.
    """
    n = y.shape[0]
    out = np.empty((n, h))
    length = (~np.isnan(y)).sum(axis=1)
    season_ok = (m > 1) & (length >= 2 * m)
    plain = _grid(seasonal=False)
    chunk = max(1, _CHUNK_CELLS // plain.shape[0])
    best_aicc = np.full(n, np.inf)
    for lo in range(0, n, chunk):
        sl = slice(lo, lo + chunk)
        out[sl], best_aicc[sl] = _ets_chunk(y[sl], h, 1, plain)
    idx = np.flatnonzero(season_ok)
    if idx.size:
        sgrid = _grid(seasonal=True)
        chunk = max(1, _CHUNK_CELLS // (sgrid.shape[0] * m))
        for lo in range(0, idx.size, chunk):
            part = idx[lo:lo + chunk]
            fc, aicc = _ets_chunk(y[part], h, m, sgrid)
            better = aicc < best_aicc[part]
            out[part[better]] = fc[better]
    return out


def _ses(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Simple exponential smoothing, alpha by least squares on a grid: (level, alpha)."""
    n, t = y.shape
    start = series_start(y)
    alphas = np.array([0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9, 1.0])[None, :]
    level = np.repeat(y[np.arange(n), start][:, None], alphas.shape[1], axis=1)
    sse = np.zeros_like(level)
    for col in range(t):
        active = (col > start)[:, None]
        err = np.where(active, np.nan_to_num(y[:, col])[:, None] - level, 0.0)
        sse += err * err
        level = level + np.where(active, alphas * err, 0.0)
    best = np.argmin(sse, axis=1)
    return level[np.arange(n), best], alphas[0, best]


def _seasonal_index(y: np.ndarray, m: int) -> np.ndarray:
    """(n, m) multiplicative seasonal indices by column slot; 1 where not applicable."""
    n, t = y.shape
    length = (~np.isnan(y)).sum(axis=1)
    idx = np.ones((n, m))
    if m <= 1:
        return idx
    slot = np.arange(t) % m
    sums = np.zeros((n, m))
    counts = np.zeros((n, m))
    ok = ~np.isnan(y)
    for s in range(m):  # m slots, not rows: vectorised over series and periods
        cols = slot == s
        sums[:, s] = np.where(ok[:, cols], y[:, cols], 0.0).sum(axis=1)
        counts[:, s] = ok[:, cols].sum(axis=1)
    means = sums / np.maximum(counts, 1)
    overall = np.nanmean(y, axis=1)[:, None]
    positive = (np.nanmin(y, axis=1) > 0) & (length >= 2 * m)
    ratio = np.where(overall > 0, means / np.where(overall > 0, overall, 1.0), 1.0)
    return np.where(positive[:, None], ratio, 1.0)


def theta(y: np.ndarray, h: int, m: int = 1) -> np.ndarray:
    """The standard Theta method (theta = 2 line + SES), deseasonalised when possible."""
    n, t = y.shape
    sidx = _seasonal_index(y, m) if m > 1 else np.ones((n, 1))
    slots = sidx.shape[1]
    hist_slot = sidx[:, np.arange(t) % slots]
    adj = y / hist_slot
    level, alpha = _ses(adj)
    start = series_start(adj)
    cols = np.arange(t)[None, :].astype(np.float64)
    ok = ~np.isnan(adj)
    cnt = ok.sum(axis=1)
    xm = np.where(ok, cols, 0.0).sum(axis=1) / cnt
    ym = np.nansum(adj, axis=1) / cnt
    dx = np.where(ok, cols - xm[:, None], 0.0)
    sxx = (dx * dx).sum(axis=1)
    slope = np.where(sxx > 0, (dx * np.nan_to_num(adj - ym[:, None])).sum(axis=1)
                     / np.where(sxx > 0, sxx, 1.0), 0.0)
    steps = np.arange(1, h + 1)[None, :]
    nobs = (t - start)[:, None]
    a = alpha[:, None]
    drift = slope[:, None] / 2.0 * ((steps - 1) + 1 / a - (1 - a) ** nobs / a)
    fut_slot = sidx[:, (t - 1 + np.arange(1, h + 1)) % slots]
    return (level[:, None] + drift) * fut_slot
