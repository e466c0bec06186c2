"""The send-time model on known answers: counts, circular smoothing and distance, the
empirical-Bayes prior strength recovered from simulated customers, and shrinkage (a
customer with one event gets the population's hour, one with many their own)."""

from __future__ import annotations

import numpy as np

from insightloop.models import sendtime as model


def test_counts_smoothing_and_circular_distance() -> None:
    counts = model.counts_matrix(np.array([0, 0, 1, 1, 1]), np.array([23, 23, 0, 5, 5]), 2)
    assert counts.shape == (2, 24) and counts[0, 23] == 2 and counts[1, 5] == 2
    smoothed = model.smooth(counts)
    assert smoothed[0, 0] == 0.5 and smoothed[0, 22] == 0.5  # wraps midnight
    assert np.allclose(smoothed.sum(axis=1), counts.sum(axis=1) * 1.5)
    assert model.circular_distance(np.array([23, 0, 6]), np.array([1, 12, 6])).tolist() == \
        [2, 12, 0]
    means = model.per_customer_mean(np.array([0, 0, 2]), np.array([1.0, 0.0, 4.0]), 3)
    assert means[0] == 0.5 and np.isnan(means[1]) and means[2] == 4.0


def test_shrinkage_towards_the_population() -> None:
    rng = np.random.default_rng(0)
    # 500 customers whose events cluster at 12:00; one with 30 events at 19:00 and one
    # with a single event at 03:00.
    cust = np.repeat(np.arange(500), 4)
    hours = np.clip(np.round(rng.normal(12, 1.5, cust.size)), 0, 23).astype(int)
    cust = np.concatenate([cust, np.full(30, 500), [501]])
    hours = np.concatenate([hours, np.full(30, 19), [3]])
    fitted = model.fit(model.counts_matrix(cust, hours, 502))
    assert fitted.population_best == 12
    assert fitted.best[500] == 19 and fitted.own_weight[500] > 0.5
    assert fitted.best[501] == 12 and fitted.own_weight[501] < 0.5


def test_prior_strength_is_recovered_from_simulated_customers() -> None:
    rng = np.random.default_rng(7)
    population = np.exp(-0.5 * ((np.arange(24) - 13) / 3.0) ** 2)
    population /= population.sum()
    for true in (3.0, 30.0):
        prefs = rng.dirichlet(true * population, size=3000)
        counts = np.vstack([rng.multinomial(12, p) for p in prefs]).astype(float)
        found = model.prior_strength(counts, population)
        assert true / 1.6 < found < true * 1.6, (true, found)
    assert model.prior_strength(np.zeros((3, 24)), population) == float(model.profile.GRID[-1])
