"""BG/NBD ("beta-geometric / negative binomial") model of repeat purchasing."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import betaln, digamma, expit, gammaln, hyp2f1

from insightloop.errors import ModelFitError
from insightloop.models.clv._base import (
    FloatArray,
    PurchaseEstimator,
    as_float_array,
    check_fitted,
    check_penalizer,
    check_prior,
    compress,
    log_covariance,
    minimize_log_params,
    validate_rft,
)

_PARAMS = ("r_", "alpha_", "a_", "b_")


class BetaGeoModel(PurchaseEstimator):
    """BG/NBD model (Fader, Hardie & Lee 2005) fitted by maximum likelihood.

    Assumptions
    -----------
    * While active, a customer buys according to a Poisson process with rate
      ``lambda``; ``lambda ~ Gamma(shape=r, rate=alpha)`` across customers.
    * After each *repeat* purchase a customer becomes inactive for good with
      probability ``p``; ``p ~ Beta(a, b)`` across customers.
    * ``lambda`` and ``p`` are independent; the first (trial) purchase at time
      0 is not counted in ``frequency``.

    Inputs per customer follow the *lifetimes* convention: ``frequency`` = number
    of repeat purchase periods, ``recency`` = time of the last repeat purchase
    since the first, ``T`` = time from first purchase to end of calibration, all
    in the same time unit (weeks in the papers).

    Reference: P. S. Fader, B. G. S. Hardie and K. L. Lee (2005), "'Counting Your
    Customers' the Easy Way: An Alternative to the Pareto/NBD Model", *Marketing
    Science* 24(2), 275-284.

    Parameters
    ----------
    penalizer : float, default 0.0
        L2 penalty on the parameters, added to the mean negative log-likelihood
        (``penalizer * sum(theta**2)`` with time rescaled so that max(T) = 10, as
        in *lifetimes*, which makes the penalty unit-free). Use 0.01-0.1 when the
        plain fit fails or runs a parameter to infinity.
    dropout_prior : float, default 0.0
        Strength of the log-normal prior on ``a`` and ``b`` (a MAP fit, see
        :class:`~insightloop.models.clv._base.PurchaseEstimator`); 0 = maximum likelihood.

    Attributes
    ----------
    r_, alpha_, a_, b_ : float
        Fitted parameters (``alpha_`` in the time unit of ``T``).
    log_likelihood_ : float
        Total (weighted) log-likelihood at the optimum, without penalty.
    n_customers_ : float
        Total weight of the customers fitted.
    log_covariance_ : ndarray (4, 4)
        Inverse observed information of the penalised fit in log-parameters (standard
        errors: :meth:`summary`); NaN where the Hessian is not positive definite.
    """

    _fitted = _PARAMS
    #: 0: dropout possible only after a repeat purchase (BG/NBD); 1: after the first
    #: purchase too (MBG/NBD, Batislam, Denizel & Filiztekin 2007)
    _shift = 0

    # -- likelihood --------------------------------------------------------------------
    @classmethod
    def _loglik_terms(cls, log_params: FloatArray, x: FloatArray, t_x: FloatArray,
                      T: FloatArray, with_grad: bool) -> tuple[FloatArray, FloatArray | None]:
        r, alpha, a, b = np.exp(log_params)
        d = cls._shift
        pos = (x > 0) | (d == 1)
        a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
        a2 = betaln(a, b + x + d) - betaln(a, b)
        log_at = np.log(alpha + T)
        log_atx = np.log(alpha + t_x)
        bx1 = np.where(pos, b + x + d - 1.0, 1.0)
        a3 = -(r + x) * log_at
        a4 = np.where(pos, np.log(a) - np.log(bx1) - (r + x) * log_atx, -np.inf)
        mx = np.maximum(a3, a4)
        lse = mx + np.log(np.exp(a3 - mx) + np.exp(a4 - mx))
        ll = a1 + a2 + lse
        if not with_grad:
            return ll, None
        w4 = np.exp(a4 - lse)
        w3 = 1.0 - w4
        dig_ab = digamma(a + b)
        dig_abx = digamma(a + b + x + d)
        d_r = digamma(r + x) - digamma(r) + np.log(alpha) - w3 * log_at - w4 * log_atx
        d_alpha = r / alpha - w3 * (r + x) / (alpha + T) - w4 * (r + x) / (alpha + t_x)
        d_a = dig_ab - dig_abx + w4 / a
        d_b = dig_ab + digamma(b + x + d) - digamma(b) - dig_abx - w4 / bx1
        grad = np.column_stack([d_r * r, d_alpha * alpha, d_a * a, d_b * b])
        return ll, grad

    @classmethod
    def _objective_factory(cls, x: FloatArray, t_x: FloatArray, T: FloatArray, w: FloatArray,
                           penalizer: float, prior: float = 0.0) -> Any:
        """Mean negative log-likelihood and gradient in log-parameters, fast path.

        Special functions and logs are evaluated on the *unique* values of
        ``x``, ``t_x`` and ``T`` (a few hundred even for millions of customers)
        and gathered, so one evaluation costs a few vector operations.
        """
        total = float(w.sum())
        ux, ix = np.unique(x, return_inverse=True)
        ut, it = np.unique(t_x, return_inverse=True)
        uT, iT = np.unique(T, return_inverse=True)
        d = cls._shift
        pos = (x > 0) | (d == 1)
        upos = (ux > 0) | (d == 1)
        # x-only weighted sums for the terms that do not depend on (t_x, T)
        wx = np.bincount(ix, weights=w, minlength=ux.size)

        def objective(u: FloatArray) -> tuple[float, FloatArray]:
            r, alpha, a, b = np.exp(u)
            lg_rx = gammaln(r + ux)
            dg_rx = digamma(r + ux)
            bl = betaln(a, b + ux + d)
            dg_ab = digamma(a + b)
            dg_abx = digamma(a + b + ux + d)
            dg_bx = digamma(b + ux + d)
            bx1 = np.where(upos, b + ux + d - 1.0, 1.0)
            log_bx1 = np.log(bx1)
            log_at = np.log(alpha + uT)[iT]
            log_atx = np.log(alpha + ut)[it]
            rx = (r + ux)[ix]
            a3 = -rx * log_at
            a4 = np.where(pos, np.log(a) - log_bx1[ix] - rx * log_atx, -np.inf)
            mx = np.maximum(a3, a4)
            lse = mx + np.log1p(np.exp(-np.abs(a3 - a4)))
            w4 = np.exp(a4 - lse)
            ww4 = w * w4
            wx4 = np.bincount(ix, weights=ww4, minlength=ux.size)
            # x-only part of the log-likelihood
            ll_x = wx @ (lg_rx - gammaln(r) + r * np.log(alpha) + bl - betaln(a, b))
            f = (-(ll_x + w @ lse) / total
                 + penalizer * (r * r + alpha * alpha + a * a + b * b)
                 + prior * (u[2] * u[2] + u[3] * u[3]))
            if not np.isfinite(f):
                return np.inf, np.zeros(4)
            w3 = w - ww4
            d_r = (wx @ (dg_rx - digamma(r) + np.log(alpha))
                   - w3 @ log_at - ww4 @ log_atx)
            d_alpha = (wx.sum() * r / alpha - (w3 * rx) @ (1.0 / (alpha + uT))[iT]
                       - (ww4 * rx) @ (1.0 / (alpha + ut))[it])
            d_a = wx @ (dg_ab - dg_abx) + wx4.sum() / a
            d_b = wx @ (dg_ab + dg_bx - digamma(b) - dg_abx) - wx4 @ (1.0 / bx1)
            theta = np.array([r, alpha, a, b])
            grad = -np.array([d_r, d_alpha, d_a, d_b]) * theta / total
            grad[2:] += 2.0 * prior * u[2:]
            return float(f), grad + 2.0 * penalizer * theta * theta

        return objective

    # -- fitting -----------------------------------------------------------------------
    def fit(self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike,
            weights: ArrayLike | None = None) -> BetaGeoModel:
        """Fit by maximum likelihood, or MAP with ``dropout_prior`` (L-BFGS-B on
        log-parameters, analytic gradient); standard errors from the observed information.

        ``weights`` are counts of identical customers; identical rows are also
        merged internally, so a million customers fit as a few thousand patterns.
        """
        name = type(self).__name__
        penalizer = check_penalizer(self.penalizer, name)
        prior = check_prior(self.dropout_prior, name)
        x, t_x, t_big = validate_rft(frequency, recency, T)
        w, (x, t_x, t_big) = compress(weights, x, t_x, t_big)
        total = float(w.sum())
        if total <= 0:
            raise ModelFitError(f"{name} needs at least one customer, got 0")
        repeat = float(w[x > 0].sum())
        if repeat == 0:
            raise ModelFitError(
                f"{name} needs at least one repeat buyer, got 0 (frequency > 0 for 0 of "
                f"{total:g} customers); extend the calibration period"
            )
        if x.size == 1:
            raise ModelFitError(
                f"all {total:g} customers have the same (frequency, recency, T) = "
                f"({x[0]:g}, {t_x[0]:g}, {t_big[0]:g}); the model cannot separate purchase "
                "rate from dropout with no variation in the data"
            )
        if np.max(t_big) <= 0:
            raise ModelFitError(f"{name} needs T > 0 for some customer, got all 0")
        scale = 10.0 / float(np.max(t_big))
        xs, ts, tbs = x, t_x * scale, t_big * scale

        objective = self._objective_factory(xs, ts, tbs, w, penalizer, prior)
        starts = [np.zeros(4), np.log([0.5, 1.0, 0.8, 2.5]), np.full(4, 0.1)]
        u, _ = minimize_log_params(objective, starts, jac=True, model=name)
        self.log_covariance_ = log_covariance(objective, u, total, jac=True)
        r, alpha, a, b = np.exp(u)
        self.r_, self.alpha_, self.a_, self.b_ = float(r), float(alpha / scale), float(a), float(b)
        ll, _ = self._loglik_terms(np.log([self.r_, self.alpha_, self.a_, self.b_]),
                                   x, t_x, t_big, False)
        self.log_likelihood_ = float(w @ ll)
        self.n_customers_ = total
        return self

    # -- predictions -------------------------------------------------------------------
    def _p(self) -> tuple[float, float, float, float]:
        check_fitted(self, _PARAMS)
        return self.r_, self.alpha_, self.a_, self.b_

    def log_likelihood(self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
                       ) -> FloatArray:
        """Per-customer log-likelihood under the fitted parameters."""
        params = np.log(self._p())
        x, t_x, t_big = validate_rft(frequency, recency, T)
        return self._loglik_terms(params, x, t_x, t_big, False)[0]

    def probability_alive(self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
                          ) -> FloatArray:
        """P(customer still active at T | frequency, recency, T)."""
        r, alpha, a, b = self._p()
        x, t_x, t_big = validate_rft(frequency, recency, T)
        d = self._shift
        log_div = ((r + x) * (np.log(alpha + t_big) - np.log(alpha + t_x))
                   + np.log(a) - np.log(b + np.maximum(x, 1.0 - d) + d - 1.0))
        return np.where((x == 0) & (d == 0), 1.0, expit(-log_div))

    def expected_purchases(self, t: ArrayLike, frequency: ArrayLike, recency: ArrayLike,
                           T: ArrayLike) -> FloatArray:
        """Expected repeat purchases in the next ``t`` periods, given the history.

        Equation (10) of Fader, Hardie & Lee (2005), evaluated in log space; the
        Gaussian hypergeometric term falls back to Euler's transformation where
        the direct series overflows (heavy buyers, long horizons).
        """
        r, alpha, a, b = self._p()
        x, t_x, t_big = validate_rft(frequency, recency, T)
        tt = np.broadcast_to(as_float_array(t, "t"), x.shape).astype(np.float64)
        if np.any(tt < 0) or not np.all(np.isfinite(tt)):
            raise ValueError("t must be finite and >= 0")
        a_eff = a if abs(a - 1.0) > 1e-6 else 1.0 + 1e-6  # removable singularity at a = 1
        d = self._shift  # MBG/NBD: b + x + 1 where BG/NBD has b + x
        h_a, h_b, h_c = r + x, b + x + d, a_eff + b + x + d - 1.0
        z = tt / (alpha + t_big + tt)
        log_hyp = _log_hyp2f1(h_a, h_b, h_c, z)
        log_ratio = (r + x) * (np.log(alpha + t_big) - np.log(alpha + t_big + tt))
        # 1 - ((alpha+T)/(alpha+T+t))^(r+x) * 2F1(...)  in a cancellation-safe form
        second = -np.expm1(log_hyp + log_ratio)
        first = (a_eff + b + x + d - 1.0) / (a_eff - 1.0)
        log_odds = np.where(
            (x > 0) | (d == 1),
            np.log(a) - np.log(b + np.maximum(x, 1.0 - d) + d - 1.0)
            + (r + x) * (np.log(alpha + t_big) - np.log(alpha + t_x)),
            -np.inf,
        )
        log_den = np.logaddexp(0.0, log_odds)
        out = first * second * np.exp(-log_den)
        return np.where(tt == 0, 0.0, np.maximum(out, 0.0))

    def probability_of_purchase(self, t: ArrayLike, frequency: ArrayLike, recency: ArrayLike,
                                T: ArrayLike) -> FloatArray:
        """P(at least one purchase in the next ``t`` periods | history).

        Alive at ``T`` (``probability_alive``) and at least one purchase of the Poisson
        process before any dropout can happen (dropout follows a purchase):
        ``P(alive) * (1 - ((alpha+T)/(alpha+T+t))^(r+x))``, the rate drawn from its
        posterior ``Gamma(r+x, alpha+T)``.
        """
        r, alpha, _, _ = self._p()
        x, t_x, t_big = validate_rft(frequency, recency, T)
        tt = np.broadcast_to(as_float_array(t, "t"), x.shape).astype(np.float64)
        quiet = np.exp((r + x) * (np.log(alpha + t_big) - np.log(alpha + t_big + tt)))
        return self.probability_alive(x, t_x, t_big) * (1.0 - quiet)

    def expected_purchases_new(self, t: ArrayLike) -> FloatArray:
        """Unconditional expected repeat purchases in (0, t] of a customer just acquired."""
        r, alpha, a, b = self._p()
        tt = as_float_array(t, "t")
        a_eff = a if abs(a - 1.0) > 1e-6 else 1.0 + 1e-6
        d = self._shift
        log_hyp = _log_hyp2f1(np.full_like(tt, r), np.full_like(tt, b + d),
                              np.full_like(tt, a_eff + b + d - 1.0), tt / (alpha + tt))
        inner = -np.expm1(log_hyp + r * (np.log(alpha) - np.log(alpha + tt)))
        # BG/NBD: (a+b-1)/(a-1); MBG/NBD: b/(a-1) (the first purchase may be the last)
        lead = (a_eff + b - 1.0) if d == 0 else b
        return lead / (a_eff - 1.0) * inner

    def sample(self, n: int, T: ArrayLike, seed: int | None = None) -> dict[str, FloatArray]:
        """Draw ``n`` synthetic customers from the fitted process (vectorised).

        ``T`` is a scalar (same age for all) or an array of ``n`` ages. Returns
        arrays ``frequency``, ``recency``, ``T``.
        """
        r, alpha, a, b = self._p()
        rng = np.random.default_rng(seed)
        ages = np.broadcast_to(as_float_array(T, "T"), (n,)).astype(np.float64)
        lam = rng.gamma(shape=r, scale=1.0 / alpha, size=n)
        p = rng.beta(a, b, size=n)
        # number of repeat purchases before dropout (dropout right after the Nth)
        # (MBG/NBD: the first purchase is a dropout opportunity too)
        n_alive = rng.geometric(np.clip(p, 1e-300, 1.0)) - self._shift
        k = rng.poisson(lam * ages)
        x = np.minimum(n_alive, k)
        # x-th order statistic of k uniform event times on (0, T]
        pos = x > 0
        frac = np.zeros(n)
        frac[pos] = rng.beta(x[pos], (k[pos] - x[pos] + 1).astype(np.float64))
        return {"frequency": x.astype(np.float64), "recency": frac * ages, "T": ages}


def _log_hyp2f1(a: FloatArray, b: FloatArray, c: FloatArray, z: FloatArray) -> FloatArray:
    """log 2F1(a, b; c; z) for 0 <= z < 1, robust to overflow of the direct series."""
    with np.errstate(all="ignore"):
        direct = hyp2f1(a, b, c, z)
        log_direct = np.log(direct)
        euler = hyp2f1(c - a, c - b, c, z)
        log_euler = np.log(euler) + (c - a - b) * np.log1p(-z)
    ok = np.isfinite(log_direct) & (direct > 0)
    out = np.where(ok, log_direct, log_euler)
    if not np.all(np.isfinite(out)):
        bad = int(np.sum(~np.isfinite(out)))
        raise ModelFitError(
            f"BetaGeoModel: the hypergeometric term is not finite for {bad} customers; the "
            "fitted parameters are degenerate, refit with penalizer=0.01"
        )
    return out
