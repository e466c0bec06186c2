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
