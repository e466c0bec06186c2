"""Bootstrap intervals of uplift@k and the Qini AUC: coverage on a known-answer simulation.

The score ranks customers by ``x ~ U(0, 1)`` and contact raises the chance of buying by
``0.3 x``, so the top 30% by score have a true uplift of ``0.3 * E[x | x > 0.7] = 0.255``.
Over 200 simulated tests of 1,000 customers (seeded) the 95% interval must cover 0.255
about 95% of the time: inside the binomial range of 200 tests at 95% (and far from what a
too-narrow or too-wide interval gives).
"""

from __future__ import annotations

import numpy as np
import pytest

from insightloop.errors import ModelFitError
from insightloop.models.uplift.intervals import (
    bootstrap_qini_auc,
    bootstrap_uplift_at_k,
    uplift_at_k_draws,
)
from insightloop.models.uplift.metrics import qini_auc_score, uplift_at_k

TRUE_UPLIFT_AT_30 = 0.3 * 0.85


def _test(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x = rng.random(n)
    t = rng.random(n) < 0.5
    y = (rng.random(n) < 0.2 + 0.3 * x * t).astype(float)
    return y, x, t


def test_uplift_at_k_interval_covers_the_truth_about_95_percent() -> None:
    rng = np.random.default_rng(11)
    sims, covered, widths = 200, 0, []
    for s in range(sims):  # simulated experiments, not rows
        y, x, t = _test(1000, rng)
        lo, hi = bootstrap_uplift_at_k(y, x, t, k=0.3, draws=200, seed=s)
        covered += lo <= TRUE_UPLIFT_AT_30 <= hi
        widths.append(hi - lo)
    # binomial(200, 0.95): 99% of runs fall in [183, 196]
    assert 183 <= covered <= 197, covered
    # the width matches the standard error of a difference of two means of ~150 customers
    # each (0.052: 95% width about 0.20)
    assert 0.16 < float(np.mean(widths)) < 0.25


def test_draws_are_resamples_of_the_point_estimate() -> None:
    y, x, t = _test(5000, np.random.default_rng(2))
    point = uplift_at_k(y, x, t, 0.3)
    draws = uplift_at_k_draws(y, x, t, 0.3, draws=400, seed=1)
    assert draws.shape == (400,) and np.isfinite(draws).all()
    assert abs(np.median(draws) - point) < 0.01
    assert len(np.unique(draws)) > 300                  # not one resample repeated
    # blocks of draws do not change the numbers (the same generator stream)
    np.testing.assert_array_equal(draws, uplift_at_k_draws(y, x, t, 0.3, draws=400, seed=1))


def test_each_draw_is_uplift_at_k_of_a_resample() -> None:
    """The vectorised draws equal uplift@k computed on the resampled customers themselves
    (the same generator stream: the resampled ranking positions)."""
    y, x, t = _test(500, np.random.default_rng(9))
    order = np.argsort(x, kind="stable")[::-1]
    pos = np.random.default_rng(4).integers(0, 500, size=(20, 500))
    expected = [uplift_at_k(y[order][p], -p.astype(float), t[order][p], 0.3) for p in pos]
    np.testing.assert_allclose(uplift_at_k_draws(y, x, t, 0.3, draws=20, seed=4), expected,
                               rtol=1e-12)


def test_qini_interval_contains_the_estimate_and_narrows_with_more_customers() -> None:
    rng = np.random.default_rng(5)
    widths = []
    for n in (1000, 8000):
        y, x, t = _test(n, rng)
        lo, hi = bootstrap_qini_auc(y, x, t, draws=100, seed=0)
        assert lo < qini_auc_score(y, x, t) < hi
        widths.append(hi - lo)
    assert widths[1] < 0.6 * widths[0]                  # about 1 / sqrt(8) as wide


def test_bad_arguments() -> None:
    y, x, t = _test(200, np.random.default_rng(0))
    with pytest.raises(ModelFitError, match="draws must be >= 10"):
        bootstrap_uplift_at_k(y, x, t, draws=5)
    with pytest.raises(ModelFitError, match="level must be in"):
        bootstrap_qini_auc(y, x, t, level=1.5)
    with pytest.raises(ModelFitError, match="one arm is empty"):
        bootstrap_uplift_at_k(y, x, np.ones(200, dtype=bool))
