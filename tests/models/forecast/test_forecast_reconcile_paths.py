"""Reconciled intervals re-estimated from reconciled sample paths, on a hierarchy with an
analytic answer: a total and four independent Gaussian bottoms."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from insightloop.models.forecast.reconcile import (
    history_template,
    path_intervals,
    reconcile_paths,
    schaake,
)

Z80 = 1.2815515655446004
VAR_TOTAL = 25.0
VAR_BOTTOM = np.array([4.0, 9.0, 16.0, 25.0])
DRAWS, H = 20_000, 2


@pytest.fixture(scope="module")
def hierarchy() -> tuple[np.ndarray, sp.csr_matrix, np.ndarray]:
    rng = np.random.default_rng(0)
    sd = np.sqrt(np.concatenate([[VAR_TOTAL], VAR_BOTTOM]))
    mean = np.array([100.0, 10.0, 20.0, 30.0, 40.0])
    paths = mean[:, None, None] + sd[:, None, None] * rng.standard_normal((5, DRAWS, H))
    resid = sd[:, None] * rng.standard_normal((5, 5_000))
    return paths, sp.csr_matrix(np.ones((1, 4))), resid


def test_mint_total_interval_matches_the_analytic_width(hierarchy: tuple) -> None:
    paths, agg, resid = hierarchy
    rec = reconcile_paths(paths, agg, "mint", resid, lam=1.0)  # W = diag of the variances
    band = path_intervals(rec, (80,))
    width = band["hi-80"][0] - band["lo-80"][0]
    # GLS combination of the total's own forecast (var 25) and the sum of the bottoms
    # (var 54): var = 25 * 54 / 79
    expected = 2 * Z80 * np.sqrt(VAR_TOTAL * VAR_BOTTOM.sum() / (VAR_TOTAL + VAR_BOTTOM.sum()))
    np.testing.assert_allclose(width, expected, rtol=0.03)
    # shifting the base interval with the mean would have kept the base width
    assert np.all(width < 0.9 * 2 * Z80 * np.sqrt(VAR_TOTAL))


def test_bottom_up_total_interval_is_that_of_the_sum(hierarchy: tuple) -> None:
    paths, agg, _ = hierarchy
    rec = reconcile_paths(paths, agg, "bottom_up")
    band = path_intervals(rec, (80,))
    width = band["hi-80"][0] - band["lo-80"][0]
    np.testing.assert_allclose(width, 2 * Z80 * np.sqrt(VAR_BOTTOM.sum()), rtol=0.03)
    bottom_widths = (band["hi-80"][1:] - band["lo-80"][1:]).sum(axis=0)
    assert np.all(width < 0.8 * bottom_widths)  # quantile of the sum < sum of quantiles


def test_reconciled_paths_are_coherent(hierarchy: tuple) -> None:
    paths, agg, resid = hierarchy
    for how in ("bottom_up", "mint"):
        rec = reconcile_paths(paths, agg, how, resid)
        np.testing.assert_allclose(rec[0], rec[1:].sum(axis=0), atol=1e-8)
        total_q = path_intervals(rec[:1], (80,))["hi-80"][0]
        sum_q = path_intervals(rec[1:].sum(axis=0, keepdims=True), (80,))["hi-80"][0]
        np.testing.assert_allclose(total_q, sum_q, atol=1e-8)


def test_schaake_keeps_marginals_and_restores_co_movement() -> None:
    rng = np.random.default_rng(1)
    n, draws, h = 6, 400, 3
    paths = rng.normal(10.0, 2.0, (n, draws, h))  # independent across series
    busy = rng.gamma(2.0, 1.0, 80)               # a shop-wide factor in the history
    history = 5.0 * busy[None, :] + rng.normal(0, 0.1, (n, 80))
    tied = schaake(paths, history_template(history, draws, h, seed=0, last=80))
    np.testing.assert_allclose(np.sort(tied, axis=1), np.sort(paths, axis=1))  # marginals
    corr_before = np.corrcoef(paths[:, :, 0])[np.triu_indices(n, 1)].mean()
    corr_after = np.corrcoef(tied[:, :, 0])[np.triu_indices(n, 1)].mean()
    assert abs(corr_before) < 0.1 and corr_after > 0.9
    # the sum of co-moving series is as wide as the sum of their widths
    width = np.subtract(*np.quantile(tied.sum(axis=0)[:, 0], [0.9, 0.1]))
    parts = np.subtract(*np.quantile(tied[:, :, 0], [0.9, 0.1], axis=1)).sum()
    assert width > 0.9 * parts
