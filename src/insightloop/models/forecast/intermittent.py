"""Intermittent-demand methods and the demand-pattern classification, vectorised.

* :func:`croston`: Croston (1972), demand size and inter-demand interval smoothed on demand
  periods only, initialised with the first demand and its interval; forecast ``z / p``.
* :func:`sba`: the Syntetos-Boylan approximation, ``(1 - alpha / 2) z / p``.
* :func:`tsb`: Teunter-Syntetos-Babai, demand probability updated every period.
* :func:`adida`: temporal aggregation into buckets of the mean inter-demand interval, SES on
  the bucket totals, disaggregated evenly.
* :func:`demand_pattern`: ADI / CV² classes (Syntetos et al. 2005): smooth, intermittent,
  erratic, lumpy (ADI cut-off 1.32, CV² cut-off 0.49).
"""

from __future__ import annotations

import numpy as np

from insightloop.models.forecast.methods import series_start

__all__ = ["PATTERNS", "adida", "croston", "demand_pattern", "sba", "tsb"]

PATTERNS = ("smooth", "intermittent", "erratic", "lumpy", "no demand")


def _croston_state(y: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """Smoothed demand size ``z`` and interval ``p`` at the end of every series."""
    n, t = y.shape
    start = series_start(y)
    z = np.full(n, np.nan)
    p = np.full(n, np.nan)
    since = np.zeros(n)  # periods since the last demand (or since the series started)
    for col in range(t):
        active = col >= start
        since = np.where(active, since + 1, since)
        demand = active & (np.nan_to_num(y[:, col]) > 0)
        first = demand & np.isnan(z)
        later = demand & ~first
        obs = np.nan_to_num(y[:, col])
        z = np.where(first, obs, np.where(later, z + alpha * (obs - z), z))
        p = np.where(first, since, np.where(later, p + alpha * (since - p), p))
        since = np.where(demand, 0.0, since)
    return z, p


def croston(y: np.ndarray, h: int, m: int = 1, alpha: float = 0.1) -> np.ndarray:
    """Classic Croston; 0 for a series without any demand."""
    z, p = _croston_state(y, alpha)
    rate = np.where(np.isnan(z), 0.0, np.nan_to_num(z) / np.where(np.isnan(p), 1.0, p))
    return np.repeat(rate[:, None], h, axis=1)


def sba(y: np.ndarray, h: int, m: int = 1, alpha: float = 0.1) -> np.ndarray:
    """Syntetos-Boylan approximation: Croston debiased by ``1 - alpha / 2``."""
    return croston(y, h, m, alpha) * (1 - alpha / 2)


def tsb(y: np.ndarray, h: int, m: int = 1, alpha: float = 0.1, beta: float = 0.1
        ) -> np.ndarray:
    """Teunter-Syntetos-Babai: probability of demand times smoothed demand size."""
    t = y.shape[1]
    start = series_start(y)
    obs0 = np.nan_to_num(y)
    occurred = obs0 > 0
    ok = ~np.isnan(y)
    prob = np.where(ok, occurred, 0).sum(axis=1) / np.maximum(ok.sum(axis=1), 1)
    nz = np.where(occurred, obs0, 0).sum(axis=1) / np.maximum(occurred.sum(axis=1), 1)
    z = nz.astype(np.float64)
    p = prob.astype(np.float64)
    for col in range(t):
        active = col >= start
        d = occurred[:, col]
        p = np.where(active, p + beta * (d - p), p)
        z = np.where(active & d, z + alpha * (obs0[:, col] - z), z)
    return np.repeat((p * z)[:, None], h, axis=1)


def adida(y: np.ndarray, h: int, m: int = 1, alpha: float = 0.1) -> np.ndarray:
    """ADIDA: SES on non-overlapping buckets of the mean inter-demand interval."""
    n, t = y.shape
    obs = np.nan_to_num(y)
    ok = ~np.isnan(y)
    nonzero = (obs > 0).sum(axis=1)
    size = np.clip(np.rint(ok.sum(axis=1) / np.maximum(nonzero, 1)), 1, None).astype(int)
    out = np.zeros((n, h))
    for k in np.unique(size):  # a few distinct bucket sizes, each vectorised over its series
        rows = np.flatnonzero(size == k)
        nb = t // k
        if nb == 0:
            out[rows] = (np.nansum(y[rows], axis=1) / np.maximum(ok[rows].sum(axis=1), 1))[:, None]
            continue
        tail = y[rows][:, t - nb * k:].reshape(len(rows), nb, k)
        full = (~np.isnan(tail)).all(axis=2)
        buckets = np.where(full, np.nansum(tail, axis=2), np.nan)
        level = np.full(len(rows), np.nan)
        for b in range(nb):
            val = buckets[:, b]
            has = ~np.isnan(val)
            level = np.where(has & np.isnan(level), val,
                             np.where(has, level + alpha * (val - level), level))
        rate = np.where(np.isnan(level), np.nanmean(y[rows], axis=1), level / k)
        out[rows] = rate[:, None]
    return out


def demand_pattern(y: np.ndarray) -> np.ndarray:
    """ADI / CV² class of every series (one of :data:`PATTERNS`)."""
    obs = np.nan_to_num(y)
    ok = ~np.isnan(y)
    pos = obs > 0
    nonzero = pos.sum(axis=1)
    adi = ok.sum(axis=1) / np.maximum(nonzero, 1)
    sizes = np.where(pos, obs, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.nanmean(np.where(nonzero[:, None] > 0, sizes, 0.0), axis=1)
        var = np.nanvar(np.where(nonzero[:, None] > 0, sizes, 0.0), axis=1)
        cv2 = np.where(mean > 0, var / np.where(mean > 0, mean, 1.0) ** 2, 0.0)
    cls = np.where(adi < 1.32, np.where(cv2 < 0.49, 0, 2), np.where(cv2 < 0.49, 1, 3))
    cls = np.where(nonzero == 0, 4, cls)
    return np.asarray(PATTERNS, dtype=object)[cls]
