"""Each customer's best hour (and weekday) to be contacted, from when they engaged.

Counts of a customer's events per local hour ``c_i`` are shrunk towards the population's
profile ``p`` with an empirical-Bayes Dirichlet prior: the posterior mean is
``(c_i + a p) / (n_i + a)``, where the prior strength ``a`` maximises the Dirichlet-
multinomial marginal likelihood of every customer's counts (a grid search over ``a``; no
loop over customers). Customers with few events get the population's profile; those with
many, their own. Hours are circular: counts are smoothed with a small kernel that wraps
from 23:00 to 00:00 before the best hour is taken.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import gammaln

HOURS = 24
WEEKDAYS = 7
#: The prior strengths tried (events' worth of population profile).
GRID = np.geomspace(0.05, 500.0, 61)
#: Weight of the neighbouring hours in the circular smoothing.
NEIGHBOUR = 0.25


@dataclass(frozen=True)
class SendTimeFit:
    """Per-customer best slot (``best``), the population's (``population_best``), the
    fitted prior strength, each customer's event count and the weight of their own data
    (``n / (n + a)``)."""

    best: np.ndarray
    population_best: int
    prior_strength: float
    events: np.ndarray
    own_weight: np.ndarray
    population: np.ndarray


def counts_matrix(customer: np.ndarray, slot: np.ndarray, n_customers: int,
                  bins: int = HOURS) -> np.ndarray:
    """Events per customer (rows, 0..n_customers-1) and slot (0..bins-1)."""
    flat = np.bincount(customer.astype(np.int64) * bins + slot.astype(np.int64),
                       minlength=n_customers * bins)
    return flat.reshape(n_customers, bins).astype(np.float64)


def smooth(profile: np.ndarray, neighbour: float = NEIGHBOUR) -> np.ndarray:
    """Circular smoothing along the last axis: ``x + neighbour * (left + right)``."""
    if neighbour <= 0:
        return profile
    return profile + neighbour * (np.roll(profile, 1, axis=-1) + np.roll(profile, -1, axis=-1))


def prior_strength(counts: np.ndarray, population: np.ndarray,
                   grid: np.ndarray = GRID) -> float:
    """The Dirichlet prior strength maximising the marginal likelihood of ``counts`` given
    the prior mean ``population`` (customers without events carry no information)."""
    rows = counts[counts.sum(axis=1) > 0]
    if rows.shape[0] == 0:
        return float(grid[-1])
    n = rows.sum(axis=1)
    p = np.clip(population, 1e-9, None)
    alpha = grid[:, None, None] * p[None, None, :]  # (grid, 1, bins)
    loglik = (gammaln(grid)[:, None] - gammaln(n[None, :] + grid[:, None])
              + (gammaln(rows[None, :, :] + alpha) - gammaln(alpha)).sum(axis=2))
    return float(grid[int(np.argmax(loglik.sum(axis=1)))])


def fit(counts: np.ndarray, strength: float | None = None,
        neighbour: float = NEIGHBOUR) -> SendTimeFit:
    """Best slot per customer from a (customers x slots) count matrix."""
    total = counts.sum(axis=0)
    population = (total / total.sum() if total.sum() > 0
                  else np.full(counts.shape[1], 1.0 / counts.shape[1]))
    a = prior_strength(counts, population) if strength is None else float(strength)
    n = counts.sum(axis=1)
    posterior = (counts + a * population) / (n + a)[:, None]
    best = np.argmax(smooth(posterior, neighbour), axis=1)
    return SendTimeFit(best=best.astype(np.int64),
                       population_best=int(np.argmax(smooth(population, neighbour))),
                       prior_strength=a, events=n, own_weight=n / (n + a),
                       population=population)


def circular_distance(a: np.ndarray, b: np.ndarray, bins: int = HOURS) -> np.ndarray:
    """Distance between slots on a circle of ``bins`` (0..bins/2)."""
    d = np.abs(a.astype(np.int64) - b.astype(np.int64)) % bins
    return np.minimum(d, bins - d)


def per_customer_mean(customer: np.ndarray, values: np.ndarray, n_customers: int
                      ) -> np.ndarray:
    """Mean of ``values`` per customer (NaN for a customer without values)."""
    sums = np.bincount(customer, weights=values.astype(np.float64), minlength=n_customers)
    cnt = np.bincount(customer, minlength=n_customers)
    with np.errstate(invalid="ignore", divide="ignore"):
        return sums / cnt
