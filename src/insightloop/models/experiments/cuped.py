"""CUPED / regression adjustment with one or more pre-period covariates (CUPAC when they
are model predictions: predicted CLV, churn score), from per-arm moments only.

Per arm the inputs are its size, the means of the outcome and the covariates, and the
within-arm sample covariances (``ddof=1``). The slope ``theta`` is the pooled within-arm
regression of the outcome on the covariates, so the adjusted difference equals the
treatment coefficient of the ANCOVA ``y ~ arm + x``; each arm's mean is moved by
``theta' (x_arm - x_all)`` and its variance becomes that of ``y - theta' x``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]


@dataclass(frozen=True)
class Adjusted:
    """Adjusted arm means and variances (one per arm), the slope, and the share of the
    outcome's within-arm variance the covariates remove (pooled over arms)."""

    mean: Array
    var: Array
    theta: Array
    variance_reduction: float


def adjust(n: Array, mean_y: Array, mean_x: Array, var_y: Array, cov_xy: Array,
           cov_xx: Array) -> Adjusted:
    """Adjust one metric.

    Parameters
    ----------
    n, mean_y, var_y : arrays of shape (arms,)
    mean_x, cov_xy : arrays of shape (arms, k)
    cov_xx : array of shape (arms, k, k)
    """
    n = np.asarray(n, float)
    w = (n - 1)[:, None]
    sxx = np.einsum("a,aij->ij", n - 1, np.asarray(cov_xx, float))
    sxy = np.sum(w * np.asarray(cov_xy, float), axis=0)
    theta = np.linalg.lstsq(sxx, sxy, rcond=None)[0]  # a constant covariate gets slope 0
    grand = np.sum(n[:, None] * np.asarray(mean_x, float), axis=0) / n.sum()
    mean = np.asarray(mean_y, float) - (np.asarray(mean_x, float) - grand) @ theta
    var = (np.asarray(var_y, float) - 2 * np.asarray(cov_xy, float) @ theta
           + np.einsum("i,aij,j->a", theta, np.asarray(cov_xx, float), theta))
    var = np.maximum(var, 0.0)
    pooled_before = float(np.sum((n - 1) * np.asarray(var_y, float)))
    pooled_after = float(np.sum((n - 1) * var))
    reduction = 1 - pooled_after / pooled_before if pooled_before > 0 else 0.0
    return Adjusted(mean, var, theta, reduction)
