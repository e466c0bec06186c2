"""Reconciliation: coherence, MinT against the dense textbook formula, MinT beating
bottom-up when the aggregate is forecast better than its parts."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from insightloop.models.forecast.reconcile import bottom_up, min_trace, shrinkage


def _hier() -> sp.csr_matrix:
    # total over 4 bottoms, two groups of 2
    return sp.csr_matrix(np.array([[1, 1, 1, 1], [1, 1, 0, 0], [0, 0, 1, 1]], dtype=float))


def test_bottom_up_sums() -> None:
    bottom = np.arange(8, dtype=float).reshape(4, 2)
    out = bottom_up(bottom, _hier())
    np.testing.assert_array_equal(out[0], bottom.sum(axis=0))
    np.testing.assert_array_equal(out[3:], bottom)


def test_min_trace_equals_the_dense_formula_and_is_coherent() -> None:
    rng = np.random.default_rng(0)
    a = _hier()
    n = 7
    resid = rng.normal(size=(n, 30)) * rng.uniform(0.5, 3, n)[:, None]
    base = rng.normal(10, 3, size=(n, 3))
    lam = 0.3
    out = min_trace(base, a, resid, lam=lam)
    s = np.vstack([a.toarray(), np.eye(4)])
    e = resid - resid.mean(axis=1, keepdims=True)
    cov = e @ e.T / e.shape[1]
    w = lam * np.diag(np.diag(cov)) + (1 - lam) * cov
    wi = np.linalg.inv(w)
    p = np.linalg.solve(s.T @ wi @ s, s.T @ wi)
    np.testing.assert_allclose(out, s @ p @ base, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(out[0], out[3:].sum(axis=0), rtol=1e-9)


def test_min_trace_beats_bottom_up_when_bottoms_are_noisy() -> None:
    rng = np.random.default_rng(1)
    a = sp.csr_matrix(np.ones((1, 200)))
    truth_b = rng.uniform(5, 15, size=(200, 1))
    truth = np.vstack([a @ truth_b, truth_b])
    errs_bu, errs_mt = [], []
    for _ in range(20):
        noise_b = rng.normal(0, 3, size=(200, 1))
        base = truth + np.vstack([rng.normal(0, 5, size=(1, 1)), noise_b])
        resid = np.vstack([rng.normal(0, 5, size=(1, 40)), rng.normal(0, 3, size=(200, 40))])
        errs_bu.append(abs(bottom_up(base[1:], a)[0, 0] - truth[0, 0]))
        errs_mt.append(abs(min_trace(base, a, resid)[0, 0] - truth[0, 0]))
    assert np.mean(errs_mt) < 0.5 * np.mean(errs_bu)


def test_shrinkage_is_high_for_independent_residuals() -> None:
    rng = np.random.default_rng(2)
    assert shrinkage(rng.normal(size=(50, 20))) > 0.8
    common = rng.normal(size=(1, 40))
    assert shrinkage(common + 0.1 * rng.normal(size=(50, 40))) < 0.2
