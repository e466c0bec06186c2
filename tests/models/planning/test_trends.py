"""Trend statistics on series with exact answers, and calibration under the null."""

from __future__ import annotations

import numpy as np
import pytest

from insightloop.errors import ConfigError
from insightloop.models.planning.trends import (
    benjamini_hochberg,
    loglinear_trend,
    ramp_index,
    robust_anomalies,
    seasonal_profile,
    yoy_growth,
)


def test_exact_exponential_growth_and_a_flat_series() -> None:
    t = np.arange(13)
    y = np.vstack([100 * 1.05**t, np.full(13, 50.0), 80 * 0.9**t, np.zeros(13)])
    out = loglinear_trend(y)
    assert out["slope"][0] == pytest.approx(np.log(1.05), abs=1e-8)
    assert out["growth"][0] == pytest.approx(1.05**12 - 1, abs=1e-6)
    assert out["p"][0] < 1e-6
    assert out["growth"][1] == pytest.approx(0.0, abs=1e-9)
    assert out["p"][1] == pytest.approx(1.0)
    assert out["growth"][2] == pytest.approx(0.9**12 - 1, abs=1e-6)
    assert out["ci_low"][0] < out["growth"][0] < out["ci_high"][0]
    assert np.isnan(out["growth"][3])


def test_null_p_values_are_calibrated_with_overdispersion() -> None:
    rng = np.random.default_rng(0)
    poisson = rng.poisson(20, (3000, 26))
    nb = rng.negative_binomial(2, 2 / (2 + 20), (3000, 26))  # mean 20, variance 220
    for y in (poisson, nb):
        share = float(np.mean(loglinear_trend(y)["p"] < 0.05))
        assert 0.03 < share < 0.075, share
    # with a real trend the test has power
    t = np.arange(26)
    trend = rng.poisson(20 * np.exp(0.03 * t), (500, 26))
    assert np.mean(loglinear_trend(trend)["p"] < 0.05) > 0.9


def test_year_over_year_removes_a_pure_season() -> None:
    # A Christmas item: no trend, the same sharp autumn rise every year. Over the autumn
    # weeks the log-linear trend sees a large significant rise; year over year sees none.
    weeks = np.arange(104)
    season = 10 + 90 * np.exp(-0.5 * (((weeks % 52) - 48) / 4.0) ** 2)
    y = np.round(season)
    recent, prior = y[None, 92:104], y[None, 40:52]
    assert loglinear_trend(recent)["growth"][0] > 1.0
    assert loglinear_trend(recent)["p"][0] < 0.01
    yoy = yoy_growth(recent, prior)
    assert yoy["growth"][0] == pytest.approx(0.0, abs=1e-12)
    assert yoy["p"][0] == pytest.approx(1.0)
    # doubled sales a year on: growth 1.0, significant
    yoy2 = yoy_growth(2 * recent, prior)
    assert yoy2["growth"][0] == pytest.approx(1.0)
    assert yoy2["p"][0] < 0.001  # conservative: the season inflates the dispersion
    assert yoy2["ci_low"][0] < 1.0 < yoy2["ci_high"][0]
    assert np.isnan(yoy_growth(recent, 0 * prior)["growth"][0])


def _bh_reference(p: np.ndarray) -> np.ndarray:
    """The definition, item by item: q_i = min over j with p_j >= p_i of p_j m / rank_j."""
    m = len(p)
    ranks = np.argsort(np.argsort(p)) + 1
    return np.array([min(1.0, min(p[j] * m / ranks[j] for j in range(m) if p[j] >= p[i]))
                      for i in range(m)])


def test_benjamini_hochberg_matches_its_definition() -> None:
    p = np.array([0.01, 0.04, 0.03, 0.005, np.nan])
    q = benjamini_hochberg(p)
    np.testing.assert_allclose(q[:4], [0.02, 0.04, 0.04, 0.02])
    assert np.isnan(q[4])
    rng = np.random.default_rng(2)
    pv = rng.uniform(size=200) ** 2
    np.testing.assert_allclose(benjamini_hochberg(pv), _bh_reference(pv))


def test_robust_anomalies_flag_only_the_spike() -> None:
    rng = np.random.default_rng(3)
    y = rng.poisson(30, (2, 40)).astype(float)
    y[0, 20] = 200.0
    y[1, 5] = 0.0  # a dip in the second item
    out = robust_anomalies(y, k=4.0)
    flags = np.argwhere(out["flag"])
    assert [tuple(f) for f in flags] == [(0, 20), (1, 5)]
    assert out["z"][0, 20] > 8 and out["z"][1, 5] < -4
    # a smooth ramp from 5 to ~2,000 a week is not anomalous: noise is judged relative to
    # the level (log scale), not against the quiet weeks
    ramp = rng.poisson(5 * 1.2 ** np.arange(34), (1, 34)).astype(float)
    assert not robust_anomalies(ramp)["flag"].any()
    with pytest.raises(ConfigError, match="odd"):
        robust_anomalies(y, window=4)


def test_ramp_index_against_the_median_launch_curve() -> None:
    curve = np.array([5.0, 10, 20, 30, 30, 30])
    items = np.vstack([curve, curve, curve, 2 * curve, 0.5 * curve])
    observed = np.array([6, 6, 4, 3, 6])
    med, index = ramp_index(items, observed)
    np.testing.assert_allclose(med, curve)
    np.testing.assert_allclose(index, [1.0, 1.0, 1.0, 2.0, 0.5])


def test_bad_matrices_are_refused() -> None:
    with pytest.raises(ConfigError, match=">= 0"):
        loglinear_trend(np.array([[1.0, -2, 3, 4]]))
    with pytest.raises(ConfigError, match="at least 4 periods"):
        loglinear_trend(np.ones((2, 3)))
    with pytest.raises(ConfigError, match="do not match"):
        yoy_growth(np.ones((1, 4)), np.ones((1, 5)))


def test_seasonal_profile_recovers_a_weekday_pattern() -> None:
    pattern = np.array([1.0, 1.2, 1.2, 1.0, 1.4, 0.2, 0.0])  # mean 0.857...
    days = np.arange(70)
    y = np.vstack([100 * pattern[days % 7], np.full(70, 5.0)])
    index, strength = seasonal_profile(y, days % 7, 7)
    np.testing.assert_allclose(index[0], pattern / pattern.mean())
    assert strength[0] == pytest.approx(1.0)
    np.testing.assert_allclose(index[1], np.ones(7))
    assert np.isnan(strength[1])  # no variance to explain
    rng = np.random.default_rng(5)
    noisy = y[:1] + rng.normal(0, 20, (1, 70))
    assert 0.5 < seasonal_profile(noisy, days % 7, 7)[1][0] < 1.0
    # one year of months: each month seen once, no strength
    assert np.isnan(seasonal_profile(np.ones((1, 12)) + np.arange(12), np.arange(12), 12)[1][0])
