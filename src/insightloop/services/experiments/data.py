"""Sufficient statistics of an experiment, computed inside DuckDB.

The source is any relation with one row per exposed unit: ``__arm`` (the arm's value as
text), the metric columns ``m0, m1, ...``, the covariates ``x0, x1, ...``, the ratio parts
``r0n, r0d, ...`` and, for monitoring, ``__day``. One ``GROUP BY`` gives per arm the
count, means, sample variances and every covariance CUPED and the delta method need
(``avg``, ``var_samp``, ``covar_samp``: numerically stable, streamed, memory bounded), and
one more the daily counts, sums and sums of squares for the monitoring curve. Nothing the
size of the data reaches Python.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import duckdb
import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]


@dataclass(frozen=True)
class Layout:
    """What the source relation holds: metric, covariate and ratio counts."""

    metrics: int
    covariates: int
    ratios: int
    daily: bool = False


@dataclass
class ArmStats:
    """Per-arm statistics (first axis: arms, in :attr:`arms` order)."""

    arms: list[str]
    n: Array
    mean: Array        # (arms, metrics)
    var: Array         # (arms, metrics)
    binary: NDArray[np.bool_]  # (metrics,): every value 0 or 1
    nonzero: NDArray[np.bool_]  # (metrics,): some value is not 0
    mean_x: Array      # (arms, k)
    cov_xx: Array      # (arms, k, k)
    cov_yx: Array      # (arms, metrics, k)
    ratio: Array       # (arms, ratios, 5): mean num, mean den, var num, var den, cov
    days: list[Any] = field(default_factory=list)
    daily: Array = field(default_factory=lambda: np.zeros((0, 0, 0, 3)))  # (days, arms, m, 3)


def _aggregates(layout: Layout) -> list[str]:
    cols = ["count(*)"]
    for i in range(layout.metrics):
        cols += [f"avg(m{i})", f"coalesce(var_samp(m{i}), 0)",
                 f"bool_and(m{i} IN (0, 1))", f"bool_or(m{i} <> 0)"]
    k = layout.covariates
    cols += [f"avg(x{j})" for j in range(k)]
    cols += [f"coalesce(covar_samp(x{j}, x{h}), 0)" for j in range(k) for h in range(j, k)]
    cols += [f"coalesce(covar_samp(m{i}, x{j}), 0)" for i in range(layout.metrics)
             for j in range(k)]
    for r in range(layout.ratios):
        cols += [f"avg(r{r}n)", f"avg(r{r}d)", f"coalesce(var_samp(r{r}n), 0)",
                 f"coalesce(var_samp(r{r}d), 0)", f"coalesce(covar_samp(r{r}n, r{r}d), 0)"]
    return cols


def arm_stats(con: duckdb.DuckDBPyConnection, source: str, params: list[Any],
              layout: Layout) -> ArmStats:
    """Run the aggregates over ``source`` (a ``SELECT``) grouped by arm."""
    cols = _aggregates(layout)
    rows = con.execute(f"SELECT __arm, {', '.join(cols)} FROM ({source}) AS src "
                       "GROUP BY __arm ORDER BY __arm", params).fetchall()
    arms = [str(r[0]) for r in rows]
    a, m, k, q = len(rows), layout.metrics, layout.covariates, layout.ratios
    # NULL aggregates (no rows) never occur: every group has a row.
    vals = np.array([[np.nan if v is None else float(v) for v in r[1:]] for r in rows],
                    dtype=np.float64).reshape(a, len(cols))
    pos = 1
    n = vals[:, 0]
    per = vals[:, pos:pos + 4 * m].reshape(a, m, 4)
    pos += 4 * m
    mean_x = vals[:, pos:pos + k]
    pos += k
    cov_xx = np.zeros((a, k, k))
    iu = np.triu_indices(k)
    tri = vals[:, pos:pos + len(iu[0])]
    pos += len(iu[0])
    cov_xx[:, iu[0], iu[1]] = tri
    cov_xx[:, iu[1], iu[0]] = tri
    cov_yx = vals[:, pos:pos + m * k].reshape(a, m, k)
    pos += m * k
    ratio = vals[:, pos:pos + 5 * q].reshape(a, q, 5)
    stats = ArmStats(arms, n, per[..., 0], per[..., 1], per[..., 2].min(axis=0) > 0,
                     per[..., 3].max(axis=0) > 0, mean_x, cov_xx, cov_yx, ratio)
    if layout.daily:
        _daily(con, source, params, layout, stats)
    return stats


def _daily(con: duckdb.DuckDBPyConnection, source: str, params: list[Any], layout: Layout,
           stats: ArmStats) -> None:
    """Per day and arm: count, sum and sum of squares of each metric (then cumulated)."""
    m = layout.metrics
    sums = ", ".join(f"sum(m{i}), sum(m{i} * m{i})" for i in range(m))
    rows = con.execute(f"SELECT __day, __arm, count(*), {sums} FROM ({source}) AS src "
                       "WHERE __day IS NOT NULL GROUP BY __day, __arm ORDER BY __day, __arm",
                       params).fetchall()
    days = sorted({r[0] for r in rows})
    day_at = {d: i for i, d in enumerate(days)}
    arm_at = {a: i for i, a in enumerate(stats.arms)}
    grid = np.zeros((len(days), len(stats.arms), m, 3))
    if rows:
        d_idx = np.array([day_at[r[0]] for r in rows])
        a_idx = np.array([arm_at[str(r[1])] for r in rows])
        vals = np.array([[float(v or 0) for v in r[2:]] for r in rows]).reshape(len(rows), -1)
        grid[d_idx, a_idx, :, 0] = vals[:, :1]
        grid[d_idx, a_idx, :, 1] = vals[:, 1::2]
        grid[d_idx, a_idx, :, 2] = vals[:, 2::2]
    stats.days = days
    stats.daily = np.cumsum(grid, axis=0)
