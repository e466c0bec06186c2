"""Robustness, estimator contract and known-answer tests of the CLV models."""

from __future__ import annotations

import inspect

import numpy as np
import pandas as pd
import pytest

from insightloop.errors import ModelFitError, NotFittedError
from insightloop.models.clv import (
    BetaGeoModel,
    GammaGammaModel,
    ModifiedBetaGeoModel,
    ParetoNBDModel,
    customer_lifetime_value,
    summary_from_transactions,
)

ESTIMATORS = [BetaGeoModel, GammaGammaModel, ModifiedBetaGeoModel, ParetoNBDModel]


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_sklearn_contract(cls: type) -> None:
    est = cls(penalizer=0.05)
    sig = inspect.signature(cls)
    purchase = cls is not GammaGammaModel  # purchase models also take the dropout prior
    assert list(sig.parameters) == ["penalizer"] + ["dropout_prior"] * purchase
    assert est.get_params() == {"penalizer": 0.05, **({"dropout_prior": 0.0} if purchase else {})}
    assert est.set_params(penalizer=0.1) is est and est.penalizer == 0.1
    assert not [k for k in vars(est) if k.endswith("_")]
    with pytest.raises(NotFittedError, match="not fitted"):
        _ = est.params_
    with pytest.raises(ValueError, match="invalid parameter"):
        est.set_params(bogus=1)


def test_not_fitted_predictions() -> None:
    with pytest.raises(NotFittedError):
        BetaGeoModel().expected_purchases(10, [1], [2], [3])
    with pytest.raises(NotFittedError):
        BetaGeoModel().probability_alive([1], [2], [3])
    with pytest.raises(NotFittedError):
        GammaGammaModel().conditional_expected_average_profit([1], [10.0])


def test_fit_returns_self() -> None:
    data = BetaGeoModel()
    data.r_, data.alpha_, data.a_, data.b_ = 0.25, 4.4, 0.8, 2.4
    s = data.sample(3000, 39.0, seed=0)
    m = BetaGeoModel()
    assert m.fit(s["frequency"], s["recency"], s["T"]) is m


def _true_bgnbd() -> BetaGeoModel:
    m = BetaGeoModel()
    m.r_, m.alpha_, m.a_, m.b_ = 0.25, 4.4, 0.8, 2.4
    return m


def test_bgnbd_recovers_simulated_parameters() -> None:
    rng = np.random.default_rng(7)
    ages = rng.uniform(26, 39, size=100_000).round(1)
    s = _true_bgnbd().sample(100_000, ages, seed=11)
    fit = BetaGeoModel().fit(s["frequency"], s["recency"], s["T"])
    for got, want in zip(fit.params_.values(), (0.25, 4.4, 0.8, 2.4), strict=True):
        assert got == pytest.approx(want, rel=0.1)


def test_paretonbd_recovers_simulated_parameters() -> None:
    true = ParetoNBDModel()
    true.r_, true.alpha_, true.s_, true.beta_ = 0.55, 10.0, 0.6, 12.0
    s = true.sample(60_000, 39.0, seed=3)
    fit = ParetoNBDModel().fit(s["frequency"], s["recency"], s["T"])
    assert fit.r_ == pytest.approx(0.55, rel=0.15)
    assert fit.alpha_ == pytest.approx(10.0, rel=0.2)
    # expected purchases of new customers are well identified even when s, beta trade off
    np.testing.assert_allclose(fit.expected_purchases_new([10, 39]),
                               true.expected_purchases_new([10, 39]), rtol=0.05)


def test_gamma_gamma_recovers_simulated_parameters() -> None:
    rng = np.random.default_rng(5)
    n, p, q, v = 20_000, 6.0, 4.0, 15.0
    nu = rng.gamma(q, 1.0 / v, size=n)
    x = rng.integers(1, 8, size=n)
    m = rng.gamma(p * x, 1.0 / (nu * x))  # mean of x Gamma(p, nu) draws
    g = GammaGammaModel().fit(x, m)
    assert g.p_ == pytest.approx(p, rel=0.1)
    assert g.q_ == pytest.approx(q, rel=0.15)
    assert g.v_ == pytest.approx(v, rel=0.2)


def test_extreme_customers_stay_finite() -> None:
    m = _true_bgnbd()
    x = np.array([500, 500, 0, 1, 10_000, 300])
    rec = np.array([9_999, 10.0, 0, 1e-6, 1e4, 51.9])
    T = np.array([1e4, 1e4, 1e4, 1e4, 1e4, 52.0])
    for t in (1.0, 39.0, 520.0, 5200.0):
        pred = m.expected_purchases(t, x, rec, T)
        assert np.all(np.isfinite(pred)) and np.all(pred >= 0)
    alive = m.probability_alive(x, rec, T)
    assert np.all((alive >= 0) & (alive <= 1))
    assert np.all(np.isfinite(m.log_likelihood(x, rec, T)))
    # a heavy buyer still active at the end expects many purchases
    assert m.expected_purchases(52, [500], [9_999], [1e4])[0] > 1.0
    pnbd = ParetoNBDModel()
    pnbd.r_, pnbd.alpha_, pnbd.s_, pnbd.beta_ = 0.6, 11.6, 0.52, 8.8
    assert np.all(np.isfinite(pnbd.expected_purchases(39, x, rec, T)))
    # fitting with extreme customers included works
    s = m.sample(5000, 39.0, seed=1)
    fx = np.r_[s["frequency"], x]
    fr = np.r_[s["recency"], rec]
    ft = np.r_[s["T"], T]
    fit = BetaGeoModel().fit(fx, fr, ft)
    assert np.isfinite(fit.log_likelihood_)


def test_single_purchase_customers_only() -> None:
    with pytest.raises(ModelFitError, match="needs at least one repeat buyer, got 0"):
        BetaGeoModel().fit([0, 0, 0], [0, 0, 0], [10, 20, 30])
    with pytest.raises(ModelFitError, match="repeat buyer"):
        GammaGammaModel().fit([0, 0], [0.0, 0.0])
    # single-purchase customers mixed in are fine and have P(alive) = 1
    m = _true_bgnbd()
    assert m.probability_alive([0], [0], [30])[0] == 1.0


def test_identical_customers_clear_error() -> None:
    with pytest.raises(ModelFitError, match="same"):
        BetaGeoModel().fit([2] * 50, [5.0] * 50, [10.0] * 50)
    with pytest.raises(ModelFitError, match="same monetary_value"):
        GammaGammaModel().fit([2] * 50, [9.99] * 50)


@pytest.mark.parametrize(
    ("x", "rec", "T", "match"),
    [
        ([1, -1], [1, 0], [2, 2], "1 of 2 customers have negative frequency; first at index 1"),
        ([1, 2], [3, 1], [2, 2], "have recency > T; first at index 0"),
        ([0, 2], [0, 0], [2, 2], r"frequency > 0 but recency 0 .*first at index 1"),
        ([1, 1], [1, np.nan], [2, 2], "NaN"),
        ([1.5], [1], [2], "non-integer"),
        ([1, 1], [1, 1], [2, -2], "negative"),
    ],
)
def test_input_validation(x: list, rec: list, T: list, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        BetaGeoModel().fit(x, rec, T)


def test_gamma_gamma_zero_and_negative_amounts() -> None:
    with pytest.raises(ValueError, match=r"monetary_value <= 0.*first at index 1"):
        GammaGammaModel().fit([1, 2, 3], [10.0, 0.0, 5.0])
    with pytest.raises(ValueError, match="monetary_value <= 0"):
        GammaGammaModel().fit([1, 2, 3], [10.0, -4.0, 5.0])
    # zero amounts of non-repeat buyers are excluded (documented), not NaN
    rng = np.random.default_rng(0)
    x = np.r_[rng.integers(1, 5, 300), np.zeros(50)]
    m = np.r_[rng.gamma(5, 4, 300), np.zeros(50)]
    g = GammaGammaModel().fit(x, m)
    assert g.n_excluded_ == 50
    out = g.conditional_expected_average_profit(x, m)
    assert np.all(np.isfinite(out)) and np.all(out > 0)


def test_penalizer_validation_and_effect() -> None:
    with pytest.raises(ValueError, match="penalizer"):
        BetaGeoModel(penalizer=-1).fit([1, 0], [1, 0], [2, 2])
    s = _true_bgnbd().sample(5000, 39.0, seed=2)
    plain = BetaGeoModel().fit(s["frequency"], s["recency"], s["T"])
    pen = BetaGeoModel(penalizer=0.1).fit(s["frequency"], s["recency"], s["T"])
    assert pen.a_ < plain.a_ and pen.b_ < plain.b_


def test_clv_is_discounted_sum() -> None:
    m = _true_bgnbd()
    g = GammaGammaModel()
    g.p_, g.q_, g.v_ = 6.25, 3.74, 15.44
    x, rec, T, mon = np.array([0, 3, 10]), np.array([0, 20, 30]), np.array([30, 30, 30.0]), \
        np.array([0, 20, 35.0])
    clv0 = customer_lifetime_value(m, g, x, rec, T, mon, 12, 0.0)
    expected = m.expected_purchases(12 * 365.25 / 12 / 7, x, rec, T) * \
        g.conditional_expected_average_profit(x, mon)
    np.testing.assert_allclose(clv0, expected, rtol=1e-9)
    clv1 = customer_lifetime_value(m, g, x, rec, T, mon, 12, 0.01)
    assert np.all(clv1 < clv0) and np.all(clv1 > 0)
    with pytest.raises(ValueError, match="horizon_months"):
        customer_lifetime_value(m, g, x, rec, T, mon, 0)


def _tx() -> pd.DataFrame:
    return pd.DataFrame({
        "c": ["a", "a", "a", "a", "b", "c", "c"],
        "t": pd.to_datetime(["2020-01-01 09:00", "2020-01-01 18:00", "2020-01-08 00:00",
                             "2020-02-05 00:00", "2020-01-15 00:00", "2020-01-20 00:00",
                             "2020-03-01 00:00"]),
        "v": [10.0, 5.0, 20.0, 7.0, 3.0, 4.0, 8.0],
    })


def test_summary_same_day_merge_and_holdout() -> None:
    s = summary_from_transactions(_tx(), "c", "t", "v", "2020-01-31", "2020-03-31")
    assert s.loc["a", "frequency"] == 1  # two Jan-1 purchases merge
    assert s.loc["a", "recency"] == 7 and s.loc["a", "T"] == 30
    assert s.loc["a", "monetary_value"] == 20.0
    assert s.loc["a", "frequency_holdout"] == 1 and s.loc["c", "frequency_holdout"] == 1
    assert s.loc["b", "monetary_value"] == 0.0
    assert s["duration_holdout"].iloc[0] == 60
    weekly = summary_from_transactions(_tx(), "c", "t", "v", "2020-01-31", time_unit_days=7)
    assert weekly.loc["a", "recency"] == pytest.approx(1.0)


def test_summary_errors_and_future_rows() -> None:
    with pytest.raises(ValueError, match="before the first transaction"):
        summary_from_transactions(_tx(), "c", "t", "v", "2019-06-30")
    with pytest.raises(ValueError, match="must be after calibration_end"):
        summary_from_transactions(_tx(), "c", "t", "v", "2020-01-31", "2020-01-01")
    with pytest.raises(Exception, match="column 'nope' not found"):
        summary_from_transactions(_tx(), "nope", "t", "v", "2020-01-31")
    bad = _tx()
    bad.loc[2, "t"] = pd.NaT
    with pytest.raises(ValueError, match="first at row 2"):
        summary_from_transactions(bad, "c", "t", "v", "2020-01-31")
    # transactions after holdout_end are ignored (future), not counted
    s = summary_from_transactions(_tx(), "c", "t", "v", "2020-01-31", "2020-02-10")
    assert s.loc["c", "frequency_holdout"] == 0
