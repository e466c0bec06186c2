"""Bayesian comparisons: Beta-Binomial for conversion metrics and a Normal model with a
proper prior on the relative effect (GrowthBook's default: mean 0, sd 0.3) for the others.

Chance to win is ``P(variant > control)``; expected loss is the mean shortfall of choosing
the variant, ``E[max(control - variant, 0)]``. The Beta-Binomial ones are exact up to
quadrature error (composite Gauss-Legendre over the quantiles of one posterior, no
sampling): the tests check them against the closed-form sum for integer parameters and
against direct integration.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special, stats

Array = NDArray[np.float64]
PRIOR_SD = 0.3  # proper prior on the relative effect: N(0, 0.3^2)
_PANELS, _ORDER = 512, 16
_nodes, _weights = special.roots_legendre(_ORDER)
_edges = np.linspace(0.0, 1.0, _PANELS + 1)
_T = ((_edges[:-1, None] + _edges[1:, None]) / 2
      + (_edges[1:, None] - _edges[:-1, None]) / 2 * _nodes[None, :]).ravel()
# u = (1 - cos(pi t)) / 2 puts nodes densely at both ends, where F1^-1(u) is steep
_U = (1 - np.cos(np.pi * _T)) / 2
_W = ((((_edges[1:] - _edges[:-1]) / 2)[:, None] * _weights[None, :]).ravel()
      * np.pi / 2 * np.sin(np.pi * _T))


def beta_greater(a1: ArrayLike, b1: ArrayLike, a0: ArrayLike, b0: ArrayLike) -> Array:
    """``P(X1 > X0)`` for independent ``X1 ~ Beta(a1, b1)`` and ``X0 ~ Beta(a0, b0)``:
    ``E[F0(X1)] = integral over u of F0(F1^-1(u))``, vectorised over the arguments."""
    a1_, b1_, a0_, b0_ = (np.asarray(v, dtype=np.float64)[..., None] for v in (a1, b1, a0, b0))
    x = special.betaincinv(a1_, b1_, _U)
    return np.asarray(np.sum(special.betainc(a0_, b0_, x) * _W, axis=-1), dtype=np.float64)


def beta_binomial(n0: ArrayLike, x0: ArrayLike, n1: ArrayLike, x1: ArrayLike,
                  prior: tuple[float, float] = (1.0, 1.0)) -> tuple[Array, Array]:
    """Chance to win and expected loss of the variant (``x1`` successes in ``n1``) against
    the control under independent ``Beta(prior)`` priors on the two rates."""
    a, b = prior
    a0, b0 = np.asarray(x0, float) + a, np.asarray(n0, float) - np.asarray(x0, float) + b
    a1, b1 = np.asarray(x1, float) + a, np.asarray(n1, float) - np.asarray(x1, float) + b
    win = beta_greater(a1, b1, a0, b0)
    # E[X0 1{X0 > X1}] - E[X1 1{X0 > X1}], each a size-biased Beta probability.
    loss = (a0 / (a0 + b0) * (1 - beta_greater(a1, b1, a0 + 1, b0))
            - a1 / (a1 + b1) * (1 - beta_greater(a1 + 1, b1, a0, b0)))
    return win, np.maximum(loss, 0.0)


def normal_posterior(effect: ArrayLike, se: ArrayLike, prior_sd: float = PRIOR_SD
                     ) -> tuple[Array, Array]:
    """Posterior mean and sd of an effect with estimate ``effect`` (standard error ``se``)
    under the prior ``N(0, prior_sd^2)`` (conjugate normal update)."""
    e, s = np.asarray(effect, float), np.asarray(se, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = 1 / s ** 2 + 1 / prior_sd ** 2
        var = 1 / precision
        mean = var * e / s ** 2
    return mean, np.sqrt(var)


def normal_decision(mean: ArrayLike, sd: ArrayLike) -> tuple[Array, Array]:
    """Chance to win ``P(delta > 0)`` and expected loss ``E[max(-delta, 0)]`` of a normal
    posterior ``N(mean, sd^2)`` of the effect."""
    m, s = np.asarray(mean, float), np.asarray(sd, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = m / s
    win = stats.norm.cdf(z)
    loss = s * stats.norm.pdf(z) - m * stats.norm.cdf(-z)
    return win, np.maximum(loss, 0.0)
