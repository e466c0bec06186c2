"""Experiment statistics against scipy and direct formulas on random data (to 1e-6), and
known-answer cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, special, stats

from insightloop.errors import ConfigError
from insightloop.models.experiments import (
    bayes,
    campaign_value,
    checks,
    cuped,
    power,
    proportions,
    ratio_difference,
    ratio_moments,
    relative,
    welch,
)

FAST = settings(max_examples=25, deadline=None)
seeds = st.integers(0, 2**32 - 1)


def _sample(seed: int, n0: int, n1: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return (rng.normal(10, rng.uniform(0.5, 5), n0),
            rng.lognormal(2.3, rng.uniform(0.1, 1), n1))


@FAST
@given(seeds, st.integers(2, 400), st.integers(2, 400))
def test_welch_equals_scipy_ttest_ind_unequal_var(seed: int, n0: int, n1: int) -> None:
    x0, x1 = _sample(seed, n0, n1)
    got = welch(n0, x0.mean(), x0.var(ddof=1), n1, x1.mean(), x1.var(ddof=1), alpha=0.1)
    ref = stats.ttest_ind(x1, x0, equal_var=False)
    ci = ref.confidence_interval(0.9)
    assert float(got.effect / got.se) == pytest.approx(ref.statistic, rel=1e-6, abs=1e-9)
    assert float(got.p_value) == pytest.approx(ref.pvalue, rel=1e-6, abs=1e-12)
    assert float(got.df) == pytest.approx(ref.df, rel=1e-6)
    assert float(got.ci_low) == pytest.approx(ci.low, rel=1e-6, abs=1e-9)
    assert float(got.ci_high) == pytest.approx(ci.high, rel=1e-6, abs=1e-9)


@FAST
@given(st.integers(20, 5000), st.integers(20, 5000), st.floats(0.01, 0.99),
       st.floats(0.01, 0.99))
def test_proportions_equal_the_wald_formula(n0: int, n1: int, r0: float, r1: float) -> None:
    x0, x1 = round(n0 * r0), round(n1 * r1)
    p0, p1 = x0 / n0, x1 / n1
    se = math.sqrt(p0 * (1 - p0) / n0 + p1 * (1 - p1) / n1)
    got = proportions(n0, x0, n1, x1)
    assert float(got.effect) == pytest.approx(p1 - p0, abs=1e-12)
    assert float(got.ci_low) == pytest.approx(p1 - p0 - stats.norm.ppf(0.975) * se, abs=1e-9)
    if se > 0:
        z = (p1 - p0) / se
        assert float(got.p_value) == pytest.approx(2 * stats.norm.sf(abs(z)), rel=1e-6,
                                                   abs=1e-12)


@FAST
@given(seeds, st.integers(5, 300), st.integers(5, 300))
def test_relative_effect_by_the_delta_method(seed: int, n0: int, n1: int) -> None:
    x0, x1 = _sample(seed, n0, n1)
    m0, m1 = x0.mean(), x1.mean()
    got = relative(n0, m0, x0.var(ddof=1), n1, m1, x1.var(ddof=1))
    # gradient of m1/m0 - 1 is (1/m0, -m1/m0^2)
    var = x1.var(ddof=1) / n1 / m0 ** 2 + (m1 / m0 ** 2) ** 2 * x0.var(ddof=1) / n0
    assert float(got.effect) == pytest.approx(m1 / m0 - 1, rel=1e-9)
    assert float(got.se) == pytest.approx(math.sqrt(var), rel=1e-6)


@FAST
@given(seeds, st.integers(5, 400))
def test_ratio_metric_variance_is_the_linearised_variance(seed: int, n: int) -> None:
    rng = np.random.default_rng(seed)
    den = rng.poisson(3, n).astype(float) + 1
    num = den * rng.gamma(2, 5, n)
    r, var = ratio_moments(n, num.mean(), den.mean(), num.var(ddof=1), den.var(ddof=1),
                           np.cov(num, den, ddof=1)[0, 1])
    assert float(r) == pytest.approx(num.sum() / den.sum(), rel=1e-12)
    direct = np.var(num - num.sum() / den.sum() * den, ddof=1) / (n * den.mean() ** 2)
    assert float(var) == pytest.approx(direct, rel=1e-6)
    diff = ratio_difference(r, var, 2 * r, var)
    assert float(diff.effect) == pytest.approx(float(r))
    assert float(diff.se) == pytest.approx(math.sqrt(2 * var), rel=1e-12)


@FAST
@given(seeds, st.integers(1, 3), st.integers(20, 300), st.integers(20, 300))
def test_cuped_equals_row_level_adjustment_and_ancova(seed: int, k: int, n0: int,
                                                       n1: int) -> None:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n0 + n1, k)) * rng.uniform(0.5, 3, k)
    arm = np.r_[np.zeros(n0), np.ones(n1)].astype(bool)
    y = 0.3 * arm + x @ rng.normal(size=k) + rng.normal(size=n0 + n1)
    parts = [~arm, arm]
    adj = cuped.adjust(
        np.array([n0, n1]), np.array([y[p].mean() for p in parts]),
        np.array([x[p].mean(axis=0) for p in parts]), np.array([y[p].var(ddof=1) for p in parts]),
        np.array([[np.cov(y[p], x[p][:, j], ddof=1)[0, 1] for j in range(k)] for p in parts]),
        np.array([np.atleast_2d(np.cov(x[p].T, ddof=1)) for p in parts]))
    # the pooled within-arm slope, computed independently
    xc = np.vstack([x[p] - x[p].mean(axis=0) for p in parts])
    yc = np.concatenate([y[p] - y[p].mean() for p in parts])
    theta = np.linalg.lstsq(xc, yc, rcond=None)[0]
    assert adj.theta == pytest.approx(theta, rel=1e-6, abs=1e-9)
    y_adj = y - (x - x.mean(axis=0)) @ theta
    ref = stats.ttest_ind(y_adj[arm], y_adj[~arm], equal_var=False)
    got = welch(n0, adj.mean[0], adj.var[0], n1, adj.mean[1], adj.var[1])
    assert float(got.effect / got.se) == pytest.approx(ref.statistic, rel=1e-6)
    assert float(got.p_value) == pytest.approx(ref.pvalue, rel=1e-6, abs=1e-12)
    design = np.column_stack([np.ones(n0 + n1), arm, x])
    ancova = np.linalg.lstsq(design, y, rcond=None)[0][1]
    assert float(got.effect) == pytest.approx(ancova, rel=1e-6, abs=1e-9)
    assert 0 <= adj.variance_reduction < 1


def _miller(a1: int, b1: int, a0: int, b0: int) -> float:
    """Evan Miller's closed form of P(X1 > X0) for integer a1 (log-space terms)."""
    i = np.arange(a1)
    terms = (special.betaln(a0 + i, b0 + b1) - np.log(b1 + i) - special.betaln(1 + i, b1)
             - special.betaln(a0, b0))
    return float(np.exp(terms).sum())


@FAST
@given(st.integers(1, 60), st.integers(1, 60), st.integers(1, 60), st.integers(1, 60))
def test_beta_chance_to_win_equals_the_closed_form(a1: int, b1: int, a0: int, b0: int) -> None:
    assert float(bayes.beta_greater(a1, b1, a0, b0)) == pytest.approx(
        _miller(a1, b1, a0, b0), abs=1e-7)


def test_beta_chance_to_win_at_scale_against_the_normal_limit() -> None:
    # 20,000 units per arm: the posteriors are nearly normal
    a1, b1, a0, b0 = 2101, 17901, 2001, 18001
    m1, m0 = a1 / (a1 + b1), a0 / (a0 + b0)
    v1 = m1 * (1 - m1) / (a1 + b1 + 1)
    v0 = m0 * (1 - m0) / (a0 + b0 + 1)
    approx = stats.norm.cdf((m1 - m0) / math.sqrt(v1 + v0))
    assert float(bayes.beta_greater(a1, b1, a0, b0)) == pytest.approx(approx, abs=2e-3)


@pytest.mark.parametrize(("n0", "x0", "n1", "x1"), [(20, 3, 25, 9), (40, 10, 30, 6),
                                                     (12, 0, 12, 1)])
def test_beta_expected_loss_equals_direct_integration(n0: int, x0: int, n1: int,
                                                      x1: int) -> None:
    win, loss = bayes.beta_binomial(n0, x0, n1, x1)
    f1 = stats.beta(x1 + 1, n1 - x1 + 1)
    a0, b0 = x0 + 1, n0 - x0 + 1
    # E[max(X0 - X1, 0)]: the inner integral over X0 > y in closed form, the outer by quad
    inner = lambda y: (a0 / (a0 + b0) * (1 - special.betainc(a0 + 1, b0, y))  # noqa: E731
                       - y * (1 - special.betainc(a0, b0, y)))
    direct = integrate.quad(lambda y: f1.pdf(y) * inner(y), 0, 1, epsabs=1e-12,
                            limit=200)[0]
    assert float(loss) == pytest.approx(direct, abs=1e-6)
    assert float(win) == pytest.approx(_miller(x1 + 1, n1 - x1 + 1, x0 + 1, n0 - x0 + 1),
                                       abs=1e-8)


@FAST
@given(st.floats(-0.5, 0.5), st.floats(0.005, 0.3), st.floats(0.05, 1))
def test_normal_posterior_and_decision(effect: float, se: float, prior: float) -> None:
    mean, sd = bayes.normal_posterior(effect, se, prior)
    prec = 1 / se ** 2 + 1 / prior ** 2
    assert float(mean) == pytest.approx(effect / se ** 2 / prec, rel=1e-9, abs=1e-12)
    assert float(sd) == pytest.approx(prec ** -0.5, rel=1e-9)
    win, loss = bayes.normal_decision(mean, sd)
    post = stats.norm(float(mean), float(sd))
    assert float(win) == pytest.approx(post.sf(0), abs=1e-9)
    direct = integrate.quad(lambda d: -d * post.pdf(d), float(mean) - 40 * float(sd), 0)[0] \
        if float(mean) - 40 * float(sd) < 0 else 0.0
    assert float(loss) == pytest.approx(direct, abs=1e-6)


@FAST
@given(st.lists(st.integers(1, 10_000), min_size=2, max_size=6), st.data())
def test_srm_equals_scipy_chisquare(counts: list[int], data: st.DataObject) -> None:
    w = np.array(data.draw(st.lists(st.floats(0.1, 5), min_size=len(counts),
                                    max_size=len(counts))))
    stat, p = checks.srm(counts, w)
    ref = stats.chisquare(counts, np.sum(counts) * w / w.sum())
    assert stat == pytest.approx(ref.statistic, rel=1e-9)
    assert p == pytest.approx(ref.pvalue, rel=1e-6, abs=1e-15)


def _holm_direct(p: list[float]) -> list[float]:
    m, order = len(p), sorted(range(len(p)), key=lambda i: p[i])
    out, running = [0.0] * m, 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        out[i] = running
    return out


def _bh_direct(p: list[float]) -> list[float]:
    m = len(p)
    rank = [sum(q <= pj for q in p) for pj in p]
    return [min(min(1.0, m * p[j] / rank[j]) for j in range(m) if p[j] >= p[i])
            for i in range(m)]


@FAST
@given(st.lists(st.floats(0, 1), min_size=1, max_size=12))
def test_holm_and_bh_equal_their_definitions(p: list[float]) -> None:
    assert checks.holm(p) == pytest.approx(_holm_direct(p), abs=1e-12)
    assert checks.benjamini_hochberg(p) == pytest.approx(_bh_direct(p), abs=1e-12)


def test_corrections_known_answers_and_nan() -> None:
    p = [0.01, 0.04, 0.03, 0.005, np.nan]
    assert checks.holm(p)[:4] == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert checks.benjamini_hochberg(p)[:4] == pytest.approx([0.02, 0.04, 0.04, 0.02])
    assert np.isnan(checks.holm(p)[4])


def test_power_known_answers() -> None:
    # textbook: sd 1, difference 0.5, 5% two-sided, 80% power -> 62.8, so 63 per arm
    assert power.n_means(1.0, 0.5) == (63, 63)
    # Fleiss without continuity correction: 10% -> 12% needs 3,841 per arm
    assert power.n_proportions(0.10, 0.12) == (3841, 3841)
    n0, n1 = power.n_proportions(0.10, 0.12)
    assert power.power_proportions(0.10, 0.12, n0, n1) >= 0.8
    assert power.power_proportions(0.10, 0.12, n0 - 5, n1 - 5) < 0.8
    assert power.power_means(1.0, 0.5, 63, 63) == pytest.approx(0.80, abs=0.01)
    assert power.mde_means(1.0, 63, 63) == pytest.approx(0.5, rel=0.01)
    assert power.mde_proportions(0.10, n0, n1) == pytest.approx(0.02, rel=1e-3)
    n0, n1 = power.n_means(2.0, 0.5, ratio=3)
    assert n1 == pytest.approx(3 * n0, abs=3)
    with pytest.raises(ConfigError, match="control rate"):
        power.n_proportions(0.0, 0.1)


def test_campaign_value_known_answer() -> None:
    v = campaign_value(10_000, 600, (0.01, 0.005, 0.015), (0.8, 0.3, 1.3),
                       cost_per_send=0.05, cost_per_redemption=2.0)
    assert v["incremental_conversions"] == pytest.approx(100)
    assert v["incremental_conversions_ci"] == pytest.approx((50, 150))
    assert v["incremental_revenue"] == pytest.approx(8000)
    assert v["cost"] == pytest.approx(500 + 1200)
    assert v["roi"] == pytest.approx((8000 - 1700) / 1700)
    assert v["roi_ci"] == pytest.approx(((3000 - 1700) / 1700, (13000 - 1700) / 1700))
    assert campaign_value(10, 1, (0, 0, 0), (0, 0, 0))["roi"] is None
