"""MBG/NBD, the dropout prior (MAP fits), standard errors and degenerate-fit detection."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats

from insightloop.errors import ModelFitError
from insightloop.models.clv import BetaGeoModel, ModifiedBetaGeoModel, ParetoNBDModel
from insightloop.models.clv.diagnostics import degenerate_reasons, roc_auc
from insightloop.models.clv.selection import select_purchase_model

TRUE = (0.6, 4.0, 1.2, 3.0)  # r, alpha, a, b


def _model(cls: type, params: tuple[float, float, float, float]) -> BetaGeoModel:
    m = cls()
    m.r_, m.alpha_, m.a_, m.b_ = params
    return m


def _likelihood_by_integration(x: int, t_x: float, T: float) -> float:
    """MBG/NBD likelihood from its process, integrating over p ~ Beta and lambda ~ Gamma.

    Alive after all x + 1 purchases: (1-p)^(x+1) lambda^x e^(-lambda T); dropped out right
    after the last one (at t_x): (1-p)^x p lambda^x e^(-lambda t_x).
    """
    r, alpha, a, b = TRUE
    beta_pdf = stats.beta(a, b).pdf
    gamma_pdf = stats.gamma(r, scale=1 / alpha).pdf

    def e_p(f):  # type: ignore[no-untyped-def]
        return integrate.quad(lambda p: f(p) * beta_pdf(p), 0, 1)[0]

    def e_lam(t: float) -> float:
        return integrate.quad(lambda lam: lam**x * np.exp(-lam * t) * gamma_pdf(lam), 0,
                              np.inf)[0]

    alive = e_p(lambda p: (1 - p) ** (x + 1)) * e_lam(T)
    dead = e_p(lambda p: (1 - p) ** x * p) * e_lam(t_x)
    return alive + dead


def test_mbgnbd_likelihood_and_p_alive_match_the_process() -> None:
    m = _model(ModifiedBetaGeoModel, TRUE)
    cases = [(0, 0.0, 30.0), (1, 2.0, 30.0), (4, 20.0, 25.0), (7, 5.0, 40.0)]
    for x, t_x, T in cases:
        want = _likelihood_by_integration(x, t_x, T)
        got = float(np.exp(m.log_likelihood([x], [t_x], [T])[0]))
        assert got == pytest.approx(want, rel=1e-6)
    # P(alive) = the "alive" part of the likelihood / the likelihood
    r, alpha, a, b = TRUE
    x, t_x, T = 1, 2.0, 30.0
    e_p = integrate.quad(lambda p: (1 - p) ** (x + 1) * stats.beta(a, b).pdf(p), 0, 1)[0]
    e_lam = integrate.quad(lambda lam: lam**x * np.exp(-lam * T)
                           * stats.gamma(r, scale=1 / alpha).pdf(lam), 0, np.inf)[0]
    want_alive = e_p * e_lam / _likelihood_by_integration(x, t_x, T)
    assert m.probability_alive([x], [t_x], [T])[0] == pytest.approx(want_alive, rel=1e-6)


def test_one_time_buyers_fade_in_mbgnbd_not_in_bgnbd() -> None:
    T = np.array([5.0, 20.0, 52.0])
    zeros = np.zeros(3)
    mbg = _model(ModifiedBetaGeoModel, TRUE).probability_alive(zeros, zeros, T)
    bg = _model(BetaGeoModel, TRUE).probability_alive(zeros, zeros, T)
    np.testing.assert_array_equal(bg, 1.0)  # BG/NBD: alive by construction
    assert np.all(np.diff(mbg) < 0) and mbg[-1] < 0.5


@pytest.mark.parametrize("cls", [BetaGeoModel, ModifiedBetaGeoModel])
def test_expected_purchases_match_simulation(cls: type) -> None:
    m = _model(cls, TRUE)
    sim = m.sample(400_000, 30.0, seed=4)
    mc = sim["frequency"].mean()
    se = sim["frequency"].std() / np.sqrt(sim["frequency"].size)
    assert m.expected_purchases_new(30.0)[0] == pytest.approx(mc, abs=4 * se)


def test_mbgnbd_recovers_simulated_parameters() -> None:
    rng = np.random.default_rng(3)
    ages = rng.uniform(20, 52, size=60_000).round(1)
    s = _model(ModifiedBetaGeoModel, TRUE).sample(60_000, ages, seed=8)
    fit = ModifiedBetaGeoModel().fit(s["frequency"], s["recency"], s["T"])
    for (name, got), want in zip(fit.params_.items(), TRUE, strict=True):
        assert got == pytest.approx(want, rel=0.15), name
    # the true parameters lie inside the 95% intervals of the observed information
    summary = fit.summary()
    inside = [row["lower_95"] <= want <= row["upper_95"]  # type: ignore[operator]
              for row, want in zip(summary.values(), TRUE, strict=True)]
    assert sum(inside) >= 3, summary


def test_dropout_prior_pulls_towards_one_and_is_a_hyper_parameter() -> None:
    # customers who never drop out: plain maximum likelihood runs a towards 0
    rng = np.random.default_rng(1)
    n = 4000
    T = rng.uniform(10, 52, size=n)
    lam = rng.gamma(0.8, 1 / 4.0, size=n)
    k = rng.poisson(lam * T)
    rec = np.where(k > 0, T * rng.beta(np.maximum(k, 1), 1.0), 0.0)
    plain = ModifiedBetaGeoModel().fit(k, rec, T)
    assert plain.a_ / (plain.a_ + plain.b_) < 0.01  # mean dropout probability ~0
    bad = degenerate_reasons(plain, k.astype(float), rec, T, 7.0)
    assert any("nobody drops out" in r for r in bad), bad
    strong = ModifiedBetaGeoModel(dropout_prior=0.1).fit(k, rec, T)
    # the prior pulls log a and log b towards 0 (a = b = 1)
    assert np.hypot(np.log(strong.a_), np.log(strong.b_)) < np.hypot(np.log(plain.a_),
                                                                      np.log(plain.b_))
    assert strong.get_params() == {"penalizer": 0.0, "dropout_prior": 0.1}
    with pytest.raises(ValueError, match="dropout_prior must be a number >= 0"):
        ModifiedBetaGeoModel(dropout_prior=-1).fit(k, rec, T)


def test_pareto_prior_and_standard_errors() -> None:
    true = ParetoNBDModel()
    true.r_, true.alpha_, true.s_, true.beta_ = 0.55, 10.0, 0.6, 12.0
    s = true.sample(20_000, 39.0, seed=3)
    fit = ParetoNBDModel(dropout_prior=0.01).fit(s["frequency"], s["recency"], s["T"])
    summary = fit.summary()
    assert list(summary) == ["r", "alpha", "s", "beta"]
    for row in summary.values():
        assert row["se"] is not None and row["se"] > 0
        assert row["lower_95"] < row["coef"] < row["upper_95"]  # type: ignore[operator]


def test_silent_customers_alive_is_degenerate() -> None:
    # BG/NBD: one-time buyers silent for over a year are alive with probability 1
    m = _model(BetaGeoModel, TRUE)
    x = np.r_[np.zeros(80), np.ones(20)]  # mostly one-time buyers, as in retail
    rec = np.r_[np.zeros(80), np.full(20, 1.0)]
    T = np.full(100, 60.0)  # weeks: silent > 365 days
    reasons = degenerate_reasons(m, x, rec, T, 7.0)
    assert any("silent for a year" in r for r in reasons)
    assert degenerate_reasons(_model(ModifiedBetaGeoModel, TRUE), x, rec, T, 7.0) == []


def test_roc_auc_known_values() -> None:
    assert roc_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == pytest.approx(0.75)
    assert roc_auc([0, 1], [1.0, 1.0]) == pytest.approx(0.5)
    assert roc_auc([1, 1], [0.2, 0.3]) is None


def _never_drop_out(n: int = 1500, seed: int = 5) -> pd.DataFrame:
    """Transactions of customers who never drop out: Poisson purchase days to day 400."""
    rng = np.random.default_rng(seed)
    start = rng.integers(0, 200, size=n)
    lam = rng.gamma(0.8, 1 / 4.0, size=n) / 7.0  # per day
    k = rng.poisson(lam * (400 - start))
    cust = np.repeat(np.arange(n), k)
    offset = rng.uniform(0, 1, size=cust.size) * (400 - start[cust])
    days = np.r_[start, start[cust] + offset.astype(np.int64)]
    ids = np.r_[np.arange(n), cust]
    return pd.DataFrame({"c": ids, "t": pd.Timestamp("2020-01-01")
                         + pd.to_timedelta(days, unit="D")})


def test_plain_fit_refused_auto_falls_back_to_a_prior() -> None:
    tx = _never_drop_out()
    cal = pd.Timestamp("2020-10-27")
    with pytest.raises(ModelFitError, match="no purchase model gives a sane fit") as err:
        select_purchase_model(tx, "c", "t", cal, candidates=("bgnbd",), priors=(0.0,))
    assert "\n" not in str(err.value)  # one line, with the reasons
    sel = select_purchase_model(tx, "c", "t", cal, candidates=("mbgnbd",))
    assert sel.name == "mbgnbd" and sel.prior > 0 and "held-out AUC" in sel.reason
    assert all(k.startswith("mbgnbd@") for k in sel.validation_loglik)
