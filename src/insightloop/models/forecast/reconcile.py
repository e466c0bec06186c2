"""Hierarchical reconciliation: bottom-up and MinTrace with a shrunk covariance.

A two-or-more-level hierarchy is given by an aggregation matrix ``A`` (``n_agg x n_bottom``,
scipy sparse, 1 where a bottom series belongs to an aggregate); the summing matrix is
``S = [A; I]`` and forecasts are stacked ``[aggregates; bottoms]``.

* :func:`bottom_up`: aggregates are the sums of the bottom forecasts.
* :func:`min_trace`: MinT (Wickramasuriya, Athanasopoulos & Hyndman 2019) in its
  constraint form ``y~ = y^ - W C' (C W C')^-1 C y^`` with ``C = [I, -A]``, so the only
  dense solve is ``n_agg x n_agg``. ``W`` is the shrunk residual covariance
  ``lambda diag(S) + (1 - lambda) S``, held as a diagonal plus the residual matrix
  (low rank): neither ``S`` (the summing matrix) nor ``W`` is ever formed dense, so memory
  is ``O(n (k + n_agg))`` for ``n`` series, ``k`` residuals each. The shrinkage intensity
  (Schäfer & Strimmer 2005) is estimated on at most ``sample`` series (chosen at random
  with a fixed seed), the one part that would otherwise be quadratic in ``n``.
* :func:`reconcile_paths` and :func:`path_intervals`: intervals **re-estimated** after
  reconciliation, not shifted with the mean: every sample path of the stacked series goes
  through the same projection (bottom-up or MinT: both are linear), and an interval is
  the quantiles of the reconciled paths. A reconciled path is coherent, so the total's
  interval is the interval of the *sum* of the bottom paths (narrower than the sum of
  the bottom intervals when their errors partly cancel).
* :func:`schaake` with :func:`history_template`: paths drawn series by series are
  independent across series; the Schaake shuffle (Clark et al. 2004) reorders each
  series' draws, step by step, so that their ranks follow the ranks of the series' own
  history on the same (randomly chosen) past weeks for every series: the marginals are
  unchanged and the series move together as they did (a shop-wide busy week is busy for
  every product), so a sum of paths is not falsely narrow.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

__all__ = ["bottom_up", "history_template", "min_trace", "path_intervals", "reconcile_paths",
           "schaake", "shrinkage"]


def bottom_up(bottom: np.ndarray, agg: sp.spmatrix) -> np.ndarray:
    """Stacked ``[A @ bottom; bottom]`` for bottom forecasts ``(n_bottom, h)``."""
    return np.vstack([np.asarray(agg @ bottom), bottom])


def shrinkage(resid: np.ndarray, sample: int = 500, seed: int = 0) -> float:
    """Schäfer-Strimmer shrinkage intensity towards the diagonal for residuals ``(n, k)``."""
    n, k = resid.shape
    if k < 3 or n < 2:
        return 1.0
    if n > sample:
        resid = resid[np.random.default_rng(seed).choice(n, sample, replace=False)]
    x = resid - resid.mean(axis=1, keepdims=True)
    sd = x.std(axis=1)
    z = x / np.where(sd > 0, sd, 1.0)[:, None]
    w = np.einsum("ik,jk->ijk", z, z)           # per-sample products of standardised pairs
    r = w.mean(axis=2)
    var_r = w.var(axis=2) * k / (k - 1) ** 2
    off = ~np.eye(z.shape[0], dtype=bool)
    den = float((r[off] ** 2).sum())
    return float(np.clip(var_r[off].sum() / den, 0.0, 1.0)) if den > 0 else 1.0


def min_trace(base: np.ndarray, agg: sp.spmatrix, resid: np.ndarray,
              lam: float | None = None) -> np.ndarray:
    """MinT-shrink reconciled forecasts for stacked base forecasts ``(n_agg + n_b, h)``.

    ``resid`` are residuals ``(n_agg + n_b, k)`` of the same stacked series (validation
    errors); NaN residuals count as 0.
    """
    agg = sp.csr_matrix(agg)
    n_agg, n_b = agg.shape
    n = n_agg + n_b
    if base.shape[0] != n or resid.shape[0] != n:
        raise ValueError(f"base and residuals need {n} rows (aggregates then bottoms), got "
                         f"{base.shape[0]} and {resid.shape[0]}")
    e = np.nan_to_num(resid)
    e = e - e.mean(axis=1, keepdims=True)
    k = max(e.shape[1], 1)
    diag = (e * e).sum(axis=1) / k
    diag = np.where(diag > 0, diag, max(float(diag[diag > 0].min()) if (diag > 0).any()
                                        else 1.0, 1e-12))
    lam = shrinkage(e) if lam is None else lam
    d = diag * max(lam, 1e-6)                 # W = lam D + (1 - lam) e e' / k = diag(d) + u u'
    u = e * np.sqrt((1 - lam) / k)
    c = sp.hstack([sp.identity(n_agg, format="csr"), -agg], format="csr")
    cu = np.asarray(c @ u)                    # (n_agg, k)
    cdc = (c.multiply(d[None, :]) @ c.T).toarray()
    cwc = cdc + cu @ cu.T
    cy = np.asarray(c @ base)                 # (n_agg, h): incoherence of the base forecasts
    sol = np.linalg.solve(cwc, cy)
    # (u cu') first, (n, n_agg): ``sol`` may have many columns (reconciled sample paths)
    wct = np.asarray(c.T.multiply(d[:, None]).tocsr() @ sol) + (u @ cu.T) @ sol
    return base - wct


def reconcile_paths(paths: np.ndarray, agg: sp.spmatrix, how: str,
                    resid: np.ndarray | None = None, lam: float | None = None,
                    nonneg: bool = False) -> np.ndarray:
    """Reconcile sample paths ``(n_agg + n_b, draws, h)`` (aggregates then bottoms) with
    the same projection as the means: ``how`` is ``bottom_up`` or ``mint`` (``resid`` as
    for :func:`min_trace`). With ``nonneg`` MinT's bottoms are cut at 0 and re-summed."""
    n, draws, h = paths.shape
    n_agg = agg.shape[0]
    flat = paths.reshape(n, draws * h)
    if how == "bottom_up":
        rec = bottom_up(flat[n_agg:], agg)
    elif how == "mint":
        if resid is None:
            raise ValueError("MinT needs the residuals of the stacked series")
        rec = min_trace(flat, agg, resid, lam)
        if nonneg:
            rec = bottom_up(np.maximum(rec[n_agg:], 0.0), agg)
    else:
        raise ValueError(f"unknown reconciliation {how!r}: use bottom_up or mint")
    return rec.reshape(n, draws, h)


def path_intervals(paths: np.ndarray, levels: tuple[int, ...] = (80,)
                   ) -> dict[str, np.ndarray]:
    """``lo-<level>`` and ``hi-<level>`` ``(n, h)``: quantiles of paths ``(n, draws, h)``."""
    out: dict[str, np.ndarray] = {}
    for lv in levels:
        tail = (100 - lv) / 200
        q = np.quantile(paths, [tail, 1 - tail], axis=1)
        out[f"lo-{lv}"], out[f"hi-{lv}"] = q[0], q[1]
    return out


def history_template(history: np.ndarray, draws: int, h: int, seed: int = 0,
                     last: int = 52) -> np.ndarray:
    """``(n, draws, h)`` blocks of ``h`` consecutive history columns, the same randomly
    chosen block (among the last ``last`` columns) for every series in a draw; columns
    before a series' start (NaN) rank lowest."""
    t = history.shape[1]
    if t < h:
        raise ValueError(f"the history has {t} periods: a template of {h} needs at least {h}")
    lo = max(t - max(last, h), 0)
    starts = np.random.default_rng(seed).integers(lo, t - h + 1, size=draws)
    cols = starts[:, None] + np.arange(h)[None, :]
    return np.nan_to_num(history, nan=-np.inf)[:, cols]


def schaake(paths: np.ndarray, template: np.ndarray) -> np.ndarray:
    """Reorder ``paths`` ``(n, draws, h)`` along the draws so that, per series and step,
    their ranks are those of ``template`` (same shape); the values are unchanged."""
    if paths.shape != template.shape:
        raise ValueError(f"paths {paths.shape} and template {template.shape} differ")
    ranks = np.argsort(np.argsort(template, axis=1, kind="stable"), axis=1, kind="stable")
    return np.take_along_axis(np.sort(paths, axis=1), ranks, axis=1)
