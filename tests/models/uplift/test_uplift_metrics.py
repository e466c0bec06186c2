"""Uplift metrics against hand-computed values (the curves and areas of a 6-customer case
worked out on paper in the comments) and the definitions' limits: a perfect ranking scores
1, an uninformative one (all scores tied) exactly 0."""

from __future__ import annotations

import numpy as np
import pytest

from insightloop.errors import ModelFitError
from insightloop.models.uplift.metrics import (
    qini_auc_score,
    qini_curve,
    uplift_at_k,
    uplift_auc_score,
    uplift_by_decile,
    uplift_curve,
)

# customers ranked as given (scores strictly decreasing)
Y = np.array([1, 0, 1, 0, 1, 0])
T = np.array([1, 1, 0, 0, 1, 0])
U = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4])


def test_qini_curve_by_hand() -> None:
    # Q(i) = y_t - y_c * n_t / n_c (0 while no control is in the top):
    # i=1: 1; i=2: 1; i=3: 1 - 1*2/1 = -1; i=4: 1 - 1*2/2 = 0; i=5: 2 - 1*3/2; i=6: 2 - 1
    x, q = qini_curve(Y, U, T)
    np.testing.assert_array_equal(x, np.arange(7))
    np.testing.assert_allclose(q, [0, 1, 1, -1, 0, 0.5, 1])


def test_uplift_curve_by_hand() -> None:
    # U(i) = (y_t/n_t - y_c/n_c) * i: 1, 1, (1/2 - 1)*3, 0, (2/3 - 1/2)*5, (2/3 - 1/3)*6
    x, v = uplift_curve(Y, U, T)
    np.testing.assert_array_equal(x, np.arange(7))
    np.testing.assert_allclose(v, [0, 1, 1, -1.5, 0, 5 / 6, 2])


def test_normalised_areas_by_hand() -> None:
    # Qini: area 2.0; perfect ranking (treated responders first, control responders last)
    # gives points (0,0) (2,2) (5,2) (6,1), area 9.5; baseline 6 * 1 / 2 = 3:
    # (2 - 3) / (9.5 - 3)
    assert qini_auc_score(Y, U, T) == pytest.approx(-1 / 6.5, abs=1e-12)
    # uplift curve: area 7/3; scikit-uplift's perfect curve (0,0) (2,2) (4,4) (5,10/3) (6,2),
    # area 43/3; baseline 6 * 2 / 2 = 6: (7/3 - 6) / (43/3 - 6) = -0.44
    assert uplift_auc_score(Y, U, T) == pytest.approx(-0.44, abs=1e-12)


def test_uplift_at_k_by_hand() -> None:
    # overall: the top 3 are customers 1-3: treated 1, 0 -> 0.5; control 1 -> 1
    assert uplift_at_k(Y, U, T, k=0.5) == pytest.approx(-0.5)
    # by group: the top treated (customer 1: 1) against the top control (customer 3: 1)
    assert uplift_at_k(Y, U, T, k=0.5, strategy="by_group") == pytest.approx(0.0)


def test_perfect_ranking_scores_one_and_ties_score_zero() -> None:
    rng = np.random.default_rng(3)
    y, t = rng.integers(0, 2, 500), rng.integers(0, 2, 500)
    perfect = np.where(t == 1, y, -y).astype(float)
    assert qini_auc_score(y, perfect, t) == pytest.approx(1.0, abs=1e-12)
    flat = np.zeros(500)  # one tie: the curve is the straight line, the area the baseline
    assert qini_auc_score(y, flat, t) == pytest.approx(0.0, abs=1e-12)
    assert uplift_auc_score(y, flat, t) == pytest.approx(0.0, abs=1e-12)
    assert len(qini_curve(y, flat, t)[0]) == 2


def test_informative_scores_beat_a_shuffled_ranking() -> None:
    rng = np.random.default_rng(0)
    n = 20_000
    x = rng.normal(size=n)
    t = rng.integers(0, 2, n)
    effect = 0.2 * (x > 0) - 0.1 * (x <= 0)  # helps half, harms the other half
    y = (rng.random(n) < 0.3 + t * effect).astype(int)
    good, shuffled = qini_auc_score(y, x, t), qini_auc_score(y, rng.permutation(x), t)
    assert good > 0.1 and abs(shuffled) < 0.03
    assert uplift_at_k(y, x, t, k=0.3) == pytest.approx(0.2, abs=0.03)


def test_continuous_outcome_uses_the_same_formulas() -> None:
    revenue = Y * np.array([10.0, 5.0, 7.0, 1.0, 3.0, 2.0])
    _, q = qini_curve(revenue, U, T)
    # i=3: y_t = 10, y_c = 7, n_t/n_c = 2 -> 10 - 14
    assert q[3] == pytest.approx(-4.0)
    assert qini_auc_score(revenue, np.where(T == 1, revenue, -revenue), T) == pytest.approx(1.0)


def test_uplift_by_decile_counts_and_rates() -> None:
    table = uplift_by_decile(Y, U, T, bins=3)
    np.testing.assert_array_equal(table["n_treated"], [2, 0, 1])
    np.testing.assert_array_equal(table["n_control"], [0, 2, 1])
    np.testing.assert_allclose(table["mean_treated"][[0, 2]], [0.5, 1.0])
    np.testing.assert_allclose(table["mean_control"][1:], [0.5, 0.0])
    assert np.isnan(table["uplift"][0]) and table["uplift"][2] == pytest.approx(1.0)
    # a proportion's standard error: sqrt(p (1 - p) / n) per arm, added in quadrature
    assert table["std_error"][2] == pytest.approx(0.0)
    np.testing.assert_allclose(table["predicted"], [0.85, 0.65, 0.45])


def test_one_arm_empty_is_refused() -> None:
    with pytest.raises(ModelFitError, match="one arm is empty"):
        qini_auc_score(Y, U, np.ones(6))
    with pytest.raises(ModelFitError, match="differ in length"):
        uplift_at_k(Y, U[:5], T)
