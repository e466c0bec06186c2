"""TabularClassifier: model choice, calibration, exact contributions, bad input, real data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from insightloop.errors import ConfigError, FeatureMismatchError, ModelFitError, NotFittedError
from insightloop.models.classify.metrics import auc
from insightloop.models.classify.pipeline import BASE, TabularClassifier, binary_target
from insightloop.services.evaluation import evaluate_classify_file
from shared_data import shared_file

_shared = shared_file


def synthetic(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """A known logistic truth: strong numeric, a categorical shift, pure noise."""
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=n)
    plan = rng.choice(["basic", "plus", "pro"], n)
    noise = rng.normal(size=n)
    logit = 1.8 * x1 + np.select([plan == "pro", plan == "plus"], [-1.2, 0.0], 1.0) - 0.3
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    x1_text = x1.round(4).astype(str)
    x1_text[:5] = ""
    return pd.DataFrame({"customer": [f"u{i}" for i in range(n)], "x1": x1_text,
                         "plan": plan, "noise": noise}), y


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, np.ndarray, pd.DataFrame, np.ndarray]:
    X, y = synthetic(1500, 0)
    Xt, yt = synthetic(1000, 1)
    return X, y, Xt, yt


@pytest.fixture(scope="module", params=["lightgbm", "logistic", "blend"])
def fitted(request: pytest.FixtureRequest, data: tuple) -> TabularClassifier:
    X, y, _, _ = data
    return TabularClassifier(model=request.param).fit(X, y)


def test_fit_generalises_and_drops_the_id(fitted: TabularClassifier, data: tuple) -> None:
    _, _, Xt, yt = data
    p = fitted.predict_proba(Xt)[:, 1]
    assert auc(yt, p) > 0.8
    assert fitted.feature_names_in_ == ["x1", "plan", "noise"]
    assert fitted.encoder_.dropped_ == {"customer": "identifier (unique per row)"}
    # Platt calibration: mean predicted probability close to the observed rate
    assert abs(p.mean() - yt.mean()) < 0.04
    assert 0 < fitted.threshold_ < 1
    assert set(fitted.predict(Xt)) <= {0, 1}


def test_contributions_are_exact_and_rank_the_truth(fitted: TabularClassifier,
                                                    data: tuple) -> None:
    _, _, Xt, _ = data
    contrib = fitted.contributions(Xt.head(200))
    np.testing.assert_allclose(contrib.sum(axis=1), fitted.decision_function(Xt.head(200)),
                               atol=1e-8)
    strength = contrib.drop(columns=BASE).abs().mean()
    assert strength["x1"] > strength["plan"] > strength["noise"]


def test_auto_picks_the_best_inner_cv_score(data: tuple) -> None:
    X, y, _, _ = data
    clf = TabularClassifier().fit(X, y)
    assert set(clf.cv_scores_) == {"lightgbm", "logistic", "blend"}
    assert clf.model_ == max(clf.cv_scores_, key=lambda k: clf.cv_scores_[k])
    assert clf.oof_["fold"].ge(0).all() and len(clf.oof_) == len(y)


def test_groups_keep_a_customer_in_one_fold(data: tuple) -> None:
    X, y, _, _ = data
    groups = np.arange(len(y)) // 3
    clf = TabularClassifier(model="logistic").fit(X, y, groups=groups)
    per_group = pd.Series(clf.oof_["fold"].to_numpy()).groupby(groups).nunique()
    assert per_group.eq(1).all()


def test_bad_targets_and_unfitted_use() -> None:
    X, y = synthetic(100, 2)
    with pytest.raises(ModelFitError, match="one class"):
        TabularClassifier().fit(X, np.zeros(100, dtype=int))
    with pytest.raises(ConfigError, match="positive"):
        binary_target(np.where(y == 1, "yes", "no"))
    with pytest.raises(ConfigError, match="does not occur"):
        binary_target(np.where(y == 1, "yes", "no"), positive="Yes!")
    assert binary_target(np.where(y == 1, "yes", "no"), positive="yes").tolist() == y.tolist()
    with pytest.raises(ModelFitError, match="missing"):
        binary_target(pd.Series([1, None, 0]))
    with pytest.raises(NotFittedError):
        TabularClassifier().predict_proba(X)
    unfitted = TabularClassifier(model="svm")  # scikit-learn contract: __init__ only stores
    with pytest.raises(ConfigError, match="model must be"):
        unfitted.fit(X, np.arange(len(X)) % 2)


def test_scoring_with_missing_feature_is_refused(fitted: TabularClassifier, data: tuple) -> None:
    _, _, Xt, _ = data
    with pytest.raises(FeatureMismatchError, match="plan"):
        fitted.predict_proba(Xt.drop(columns=["plan"]))


@pytest.mark.slow
def test_telco_beats_logistic_anchor() -> None:
    path = _shared("telco_churn/Telco-Customer-Churn.csv")
    res = evaluate_classify_file(path, "Churn", "Yes", folds=5)
    assert res["rows"] == 7043
    assert res["auc"] > 0.845, res  # ANCHORS.md: logistic regression 0.845


@pytest.mark.slow
def test_bank_without_duration_beats_boosting_anchor() -> None:
    path = _shared("bank_marketing/bank-full.csv")
    res = evaluate_classify_file(path, "y", "yes", folds=5, drop=["duration"])
    assert res["rows"] == 45211
    assert res["auc"] > 0.798, res  # ANCHORS.md: HistGradientBoosting 0.798
