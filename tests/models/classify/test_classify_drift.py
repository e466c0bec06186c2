"""PSI: known value on hand-made bins, stable vs shifted data, categorical levels."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from insightloop.models.classify.drift import (
    distribution_summary,
    population_stability,
    psi_value,
)


def test_psi_known_value() -> None:
    e, a = np.array([0.5, 0.5]), np.array([0.25, 0.75])
    expected = (0.25 - 0.5) * math.log(0.5) + (0.75 - 0.5) * math.log(1.5)
    assert psi_value(e, a) == pytest.approx(expected)
    assert psi_value(e, e) == 0.0


def test_stable_and_shifted_numeric_and_categorical() -> None:
    rng = np.random.default_rng(0)
    train = pd.DataFrame({"x": rng.normal(size=5000), "c": rng.choice(["a", "b"], 5000),
                          "m": np.where(rng.random(5000) < 0.1, np.nan, 1.0)})
    summary = distribution_summary(train)
    assert len(summary["x"]["edges"]) == 9 and sum(summary["x"]["shares"]) == pytest.approx(1)
    same = pd.DataFrame({"x": rng.normal(size=5000), "c": rng.choice(["a", "b"], 5000),
                         "m": np.where(rng.random(5000) < 0.1, np.nan, 1.0)})
    res = population_stability(summary, same).set_index("feature")
    assert (res["psi"] < 0.02).all() and set(res["status"]) == {"stable"}
    moved = pd.DataFrame({"x": rng.normal(1.0, 1, 5000), "c": ["z"] * 5000,
                          "m": np.nan})
    res = population_stability(summary, moved).set_index("feature")
    assert set(res["status"]) == {"high"}
    assert res.loc["x", "psi"] > 0.25


def test_features_missing_from_scoring_data_are_skipped() -> None:
    summary = distribution_summary(pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": [1, 2, 3]}))
    res = population_stability(summary, pd.DataFrame({"x": [1.0, 2.0]}))
    assert res["feature"].tolist() == ["x"]


def _tenure(rng: np.random.Generator, history: float, n: int, new_share: float = 0.0
            ) -> np.ndarray:
    """Tenure of a steady customer stream over ``history`` days (+ a surge of new ones)."""
    steady = rng.uniform(0, history, n)
    return np.where(rng.random(n) < new_share, rng.uniform(0, 10, n), steady)


def test_history_bounded_feature_compared_relative_to_its_history() -> None:
    rng = np.random.default_rng(4)
    n = 4000
    hist_train = np.resize(np.repeat([100.0, 200.0, 300.0], n // 3), n)
    train = pd.DataFrame({"tenure_days": _tenure(rng, 1.0, n) * hist_train})
    summary = distribution_summary(train, relative={"tenure_days": hist_train})
    assert summary["tenure_days"]["relative"] is True
    later = pd.DataFrame({"tenure_days": _tenure(rng, 400.0, n)})  # the clock moved on
    history = np.full(n, 400.0)
    raw = population_stability(distribution_summary(train), later)
    assert raw.loc[0, "status"] == "high"  # in days, tenure "drifts" by construction
    rel = population_stability(summary, later, {"tenure_days": history})
    assert rel.loc[0, "status"] == "stable", rel
    surge = pd.DataFrame({"tenure_days": _tenure(rng, 400.0, n, new_share=0.5)})
    real = population_stability(summary, surge, {"tenure_days": history})
    assert real.loc[0, "status"] == "high", real  # a real shift still shows
    # Without the history the relative summary cannot be compared: skipped, not guessed.
    assert population_stability(summary, later).empty
