"""Explanations: probability effects add up, importance ranks the truth, plain words."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from insightloop.models.classify.explain import (
    describe_value,
    global_importance,
    probability_effects,
    top_reasons,
)
from insightloop.models.classify.pipeline import BASE, TabularClassifier


@pytest.fixture(scope="module")
def churn_model() -> tuple[TabularClassifier, pd.DataFrame]:
    rng = np.random.default_rng(3)
    n = 1200
    X = pd.DataFrame({
        "recency_days": rng.integers(1, 365, n).astype(float),
        "country": rng.choice(["UK", "France", "Spain"], n),
        "noise": rng.normal(size=n),
    })
    logit = (X["recency_days"] - 180) / 90 + np.where(X["country"] == "France", 1.5, 0.0)
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return TabularClassifier(model="lightgbm").fit(X, y), X


def test_effects_sum_to_probability_minus_base(churn_model: tuple) -> None:
    clf, X = churn_model
    eff = probability_effects(clf, X.head(50))
    p = clf.predict_proba(X.head(50))[:, 1]
    np.testing.assert_allclose(eff.drop(columns=BASE).sum(axis=1) + eff[BASE], p, atol=1e-9)


def test_global_importance_order(churn_model: tuple) -> None:
    clf, X = churn_model
    imp = global_importance(clf, X)
    assert imp["feature"].tolist() == ["recency_days", "country", "noise"]
    assert imp["share"].sum() == pytest.approx(1.0)


def test_reasons_in_plain_words(churn_model: tuple) -> None:
    clf, _ = churn_model
    old = pd.DataFrame({"recency_days": [340.0], "country": ["UK"], "noise": [0.0]},
                       index=["c42"])
    reasons = top_reasons(clf, old, top=2, label="churn risk")
    first = reasons.iloc[0]
    assert first["row"] == "c42" and first["feature"] == "recency_days"
    assert first["effect"] > 0.1
    assert first["text"] == f"last purchase 340 days ago raised churn risk by {first['effect']:.2f}"
    assert reasons["rank"].tolist() == [1, 2]


def test_describe_value_fallbacks() -> None:
    assert describe_value("return_rate", 0.25) == "return rate 25%"
    assert describe_value("tenure", 12) == "tenure = 12"
    assert describe_value("MonthlyCharges", 70.35) == "MonthlyCharges = 70.35"
    assert describe_value("recency_days", float("nan")) == "recency days unknown"
    assert describe_value("preferred_weekday", 0) == "usually buys on Monday"
