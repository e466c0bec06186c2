"""Always-valid confidence sequences for monitoring with any number of looks.

The two-sided normal-mixture boundary of Howard, Ramdas, McAuliffe & Sekhon (2021, eq. 14),
as GrowthBook applies it to an effect estimate: with ``N`` units so far and ``s2 = N *
var(effect)``, the half-width is ``sqrt(s2) * sqrt(2 (N rho^2 + 1) / (N^2 rho^2) *
log(sqrt(N rho^2 + 1) / alpha))``, where ``rho`` is tuned so the boundary is tightest at
``tuning`` units. The chance that any look's interval misses the true effect is at most
``alpha``; the matching always-valid p-value is the inverse of the mixture likelihood ratio.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

Array = NDArray[np.float64]
TUNING = 5000  # GrowthBook's default: the sample size where the sequence is tightest


def rho(alpha: float = 0.05, tuning: float = TUNING) -> float:
    """The mixture's precision parameter tuned to ``tuning`` units."""
    return float(np.sqrt((-2 * np.log(alpha) + np.log(-2 * np.log(alpha) + 1)) / tuning))


def halfwidth(var_effect: ArrayLike, n: ArrayLike, alpha: float = 0.05,
              tuning: float = TUNING) -> Array:
    """Half-width of the confidence sequence for an effect with variance ``var_effect``
    estimated on ``n`` units in all."""
    r2 = rho(alpha, tuning) ** 2
    n_ = np.asarray(n, float)
    s2 = np.asarray(var_effect, float) * n_
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(np.sqrt(s2) * np.sqrt(2 * (n_ * r2 + 1) / (n_ ** 2 * r2)
                                                * np.log(np.sqrt(n_ * r2 + 1) / alpha)))


def p_value(effect: ArrayLike, var_effect: ArrayLike, n: ArrayLike, alpha: float = 0.05,
            tuning: float = TUNING) -> Array:
    """The always-valid p-value at one look: ``min(1, 1 / mixture likelihood ratio)``; it is
    at most ``alpha`` exactly when the ``alpha`` sequence excludes 0. Take the running
    minimum over looks for the monitoring p-value."""
    r2 = rho(alpha, tuning) ** 2
    n_ = np.asarray(n, float)
    s2 = np.asarray(var_effect, float) * n_
    e = np.asarray(effect, float)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        log_lr = (r2 * n_ ** 2 * e ** 2 / (2 * s2 * (n_ * r2 + 1))
                  - 0.5 * np.log(n_ * r2 + 1))
    return np.asarray(np.minimum(1.0, np.exp(-log_lr)))
