"""Gamma-Gamma model of average transaction value."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import digamma, gammaln

from insightloop.errors import ModelFitError
from insightloop.models.clv._base import (
    FloatArray,
    PenalizedEstimator,
    as_float_array,
    check_fitted,
    check_penalizer,
    compress,
    log_covariance,
    minimize_log_params,
)

_PARAMS = ("p_", "q_", "v_")


def _validate(frequency: ArrayLike, monetary_value: ArrayLike, *, for_fit: bool
              ) -> tuple[FloatArray, FloatArray]:
    x = as_float_array(frequency, "frequency")
    m = as_float_array(monetary_value, "monetary_value")
    if x.size != m.size:
        raise ValueError(f"frequency and monetary_value lengths differ: {x.size} vs {m.size}")
    checks = [
        (~np.isfinite(x) | ~np.isfinite(m), "are NaN or infinite"),
        (x < 0, "have negative frequency"),
    ]
    if for_fit:
        checks.append(((x > 0) & (m <= 0),
                       "are repeat buyers with monetary_value <= 0 (refunds or free orders); "
                       "drop or net them before fitting: the model needs positive amounts"))
    for mask, what in checks:
        idx = np.flatnonzero(mask)
        if idx.size:
            raise ValueError(f"{idx.size} of {x.size} customers {what}; first at index {idx[0]} "
                             f"(frequency={x[idx[0]]}, monetary_value={m[idx[0]]})")
    return x, m


class GammaGammaModel(PenalizedEstimator):
    """Gamma-Gamma model of a customer's mean spend per transaction.

    Assumptions
    -----------
    * The value of each transaction of a customer is Gamma(p, nu) around the
      customer's mean ``p / nu``; transaction values vary independently.
    * ``nu ~ Gamma(q, v)`` across customers.
    * Spend is independent of the purchase process (check the correlation of
      ``frequency`` and ``monetary_value``; it should be near 0).

    Fit on repeat buyers only (``frequency > 0``), with ``monetary_value`` the
    mean of their *repeat* transactions (lifetimes convention). Customers with
    ``frequency == 0`` are excluded from the fit (documented, counted in
    ``n_excluded_``); a repeat buyer with ``monetary_value <= 0`` is an error:
    net refunds away or drop those customers first.

    References: P. S. Fader, B. G. S. Hardie and K. L. Lee (2005), "RFM and CLV:
    Using Iso-Value Curves for Customer Base Analysis", *Journal of Marketing
    Research* 42(4), 415-430; P. S. Fader and B. G. S. Hardie (2013), "The
    Gamma-Gamma Model of Monetary Value".

    Parameters
    ----------
    penalizer : float, default 0.0
        L2 penalty ``penalizer * (p^2 + q^2 + v^2)`` added to the mean negative
        log-likelihood (as in *lifetimes*).
    """

    _fitted = _PARAMS

    @staticmethod
    def _loglik(u: FloatArray, x: FloatArray, m: FloatArray
                ) -> tuple[FloatArray, FloatArray]:
        p, q, v = np.exp(u)
        px = p * x
        log_xmv = np.log(x * m + v)
        ll = (gammaln(px + q) - gammaln(px) - gammaln(q) + q * np.log(v)
              + (px - 1.0) * np.log(m) + px * np.log(x) - (px + q) * log_xmv)
        dig = digamma(px + q)
        d_p = x * (dig - digamma(px) + np.log(m) + np.log(x) - log_xmv)
        d_q = dig - digamma(q) + np.log(v) - log_xmv
        d_v = q / v - (px + q) / (x * m + v)
        return ll, np.column_stack([d_p * p, d_q * q, d_v * v])

    def fit(self, frequency: ArrayLike, monetary_value: ArrayLike,
            weights: ArrayLike | None = None) -> GammaGammaModel:
        """Fit on customers with ``frequency > 0`` (others are excluded, see class doc)."""
        penalizer = check_penalizer(self.penalizer, "GammaGammaModel")
        x, m = _validate(frequency, monetary_value, for_fit=True)
        w_all = np.ones(x.size) if weights is None else as_float_array(weights, "weights")
        repeat = x > 0
        self.n_excluded_ = int(np.sum(~repeat))
        if not np.any(repeat):
            raise ModelFitError(
                f"GammaGammaModel needs at least one repeat buyer, got 0 (frequency > 0 for 0 of "
                f"{x.size} customers)"
            )
        w, (x, m) = compress(w_all[repeat] if w_all.size == repeat.size else w_all,
                             x[repeat], m[repeat])
        total = float(w.sum())
        if x.size == 1 or np.ptp(m) == 0:
            raise ModelFitError(
                f"all {total:g} repeat buyers have the same monetary_value ({m[0]:g}); "
                "the Gamma-Gamma model needs spread in spend to be identified"
            )

        def objective(u: FloatArray) -> tuple[float, FloatArray]:
            ll, grad = self._loglik(u, x, m)
            theta = np.exp(u)
            f = -float(w @ ll) / total + penalizer * float(theta @ theta)
            if not np.isfinite(f):
                return np.inf, np.zeros(3)
            return f, -(w @ grad) / total + 2.0 * penalizer * theta * theta

        scale = float(np.average(m, weights=w))
        starts = [np.array([0.0, 0.0, np.log(scale)]), np.array([1.0, 1.0, np.log(scale)]),
                  np.zeros(3)]
        u, _ = minimize_log_params(objective, starts, jac=True, model="GammaGammaModel")
        self.log_covariance_ = log_covariance(objective, u, total, jac=True)
        self.p_, self.q_, self.v_ = (float(val) for val in np.exp(u))
        self.log_likelihood_ = float(w @ self._loglik(u, x, m)[0])
        self.n_customers_ = total
        return self

    def conditional_expected_average_profit(
        self, frequency: ArrayLike | None = None, monetary_value: ArrayLike | None = None
    ) -> FloatArray:
        """E[mean spend | frequency, monetary_value]; population mean when both are None.

        Customers with ``frequency == 0`` get the population mean ``v p / (q - 1)``.
        Needs ``q > 1`` (finite population mean).
        """
        check_fitted(self, _PARAMS)
        p, q, v = self.p_, self.q_, self.v_
        if q <= 1:
            raise ModelFitError(
                f"GammaGammaModel: q = {q:.4g} <= 1, so the mean spend is infinite; refit with "
                "penalizer=0.01 or remove extreme amounts"
            )
        population_mean = v * p / (q - 1.0)
        if frequency is None and monetary_value is None:
            return np.array([population_mean])
        if frequency is None or monetary_value is None:
            raise ValueError("pass both frequency and monetary_value, or neither")
        x, m = _validate(frequency, monetary_value, for_fit=False)
        weight = p * x / (p * x + q - 1.0)
        return (1.0 - weight) * population_mean + weight * np.where(x > 0, m, 0.0)
