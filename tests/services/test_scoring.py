"""Batch scoring into the warehouse, drift table and warnings, explanations, file scoring."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from predict_helpers import sample_settings

from contexts import ctx_of
from insightloop import capabilities
from insightloop.capabilities.spec import resolve
from insightloop.errors import FeatureMismatchError, NotFoundError
from insightloop.models.classify.drift import DriftWarning, distribution_summary
from insightloop.models.classify.typing import DataQualityWarning, UnseenCategoryWarning
from insightloop.services.scoring import (
    drift_report,
    explain_customer,
    score_file,
    score_warehouse,
)
from insightloop.services.training import train_target_file, train_task
from insightloop.settings import Settings
from insightloop.storage.warehouse import Warehouse


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    settings = sample_settings(tmp_path_factory.mktemp("scoring"))
    train_task(ctx_of(settings), "churn", horizon_days=90, model="logistic")
    return settings


def test_score_warehouse_writes_scores_and_drift(trained: Settings) -> None:
    wh = Warehouse(trained.warehouse)
    with warnings.catch_warnings():
        # Tenure grows with calendar time by construction: compared relative to the
        # history loaded, it no longer raises a drift warning.
        warnings.simplefilter("error", DriftWarning)
        first = score_warehouse(ctx_of(trained), "churn")
    scores = wh.table("scores")
    n_customers = wh.query("SELECT count(DISTINCT customer_id) FROM orders "
                           "WHERE customer_id IS NOT NULL").iloc[0, 0]
    assert first["customers"] == len(scores) == n_customers
    assert set(scores["model"]) == {"churn"} and set(scores["version"]) == {1}
    assert scores["score"].between(0, 1).all()
    assert (scores["decision"] == (scores["score"] >= scores["threshold"])).all()
    assert scores["reasons"].str.count("churn risk by").eq(3).all()
    drift = wh.table("drift")
    assert set(drift["feature"]) >= {"recency_days", "frequency", "tenure_days"}
    assert drift.set_index("feature").loc["tenure_days", "status"] != "high"
    assert first["drift"] == {r.feature: round(r.psi, 4) for r in drift.itertuples()
                              if r.status != "stable"}
    score_warehouse(ctx_of(trained), "churn:1")
    assert len(wh.table("scores")) == len(scores)  # replaced, not appended


def test_explain_customer(trained: Settings) -> None:
    scores = Warehouse(trained.warehouse).table("scores").set_index("customer_id")
    cid = str(scores["score"].idxmax())
    res = explain_customer(ctx_of(trained), "churn", cid, top=4)
    assert res["score"] == pytest.approx(scores.loc[cid, "score"])
    assert len(res["reasons"]) == 4
    first = res["reasons"][0]
    assert first["text"].endswith(f"churn risk by {abs(first['effect']):.2f}")
    with pytest.raises(NotFoundError, match="no-such"):
        explain_customer(ctx_of(trained), "churn", "no-such")


def test_drift_warning_names_the_feature() -> None:
    rng = np.random.default_rng(0)
    meta = {"name": "m", "version": 1,
            "training_summary": distribution_summary(pd.DataFrame({"x": rng.normal(size=999)}))}
    with pytest.warns(DriftWarning, match=r"x \(PSI"):
        out = drift_report(meta, pd.DataFrame({"x": rng.normal(3, 1, 999)}))
    assert out.loc[0, "status"] == "high"


def test_score_file_and_wrong_columns(tmp_path: Path, trained: Settings) -> None:
    rng = np.random.default_rng(1)
    n = 200
    x = rng.normal(size=n)
    frame = pd.DataFrame({"x": x, "seg": rng.choice(["a", "b"], n),
                          "y": (rng.random(n) < 1 / (1 + np.exp(-2 * x))).astype(int)})
    train = tmp_path / "train.csv"
    frame.to_csv(train, index=False)
    train_target_file(ctx_of(trained), train, "y", name="generic")
    new = tmp_path / "new.csv"
    frame.drop(columns="y").assign(seg=["c"] * n).to_csv(new, index=False)
    out = tmp_path / "scored.csv"
    with pytest.warns(UserWarning):
        res = score_file(ctx_of(trained), "generic", new, out)
    scored = pd.read_csv(out)
    assert res["rows"] == n and list(scored.columns[:2]) == ["x", "seg"]
    assert scored["score"].between(0, 1).all()
    wrong = tmp_path / "wrong.csv"
    frame.rename(columns={"x": "X1"}).to_csv(wrong, index=False)
    with pytest.raises(FeatureMismatchError, match=r"lacks: \['x'\]"):
        score_file(ctx_of(trained), "generic", wrong)


@pytest.mark.slow
def test_demo_churn_stages_raise_no_warning_about_the_demo_data(tmp_path: Path) -> None:
    """The demo's train and score stages, as declared, on the bundled sample: no empty
    ``fav_category_*`` columns, no unseen-category or tenure drift warnings (each fired
    before: no product categories in the sample, new favourite products after training,
    tenure measured in days)."""
    ctx = ctx_of(sample_settings(tmp_path))
    stages = [s for s in capabilities.stages() if s.run.startswith(
        ("insightloop.services.training:", "insightloop.services.scoring:"))]
    assert len(stages) == 2
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for stage in stages:
            resolve(stage.run)(ctx, **dict(stage.args))
    ours = [w for w in caught if issubclass(
        w.category, DataQualityWarning | UnseenCategoryWarning | DriftWarning)]
    assert ours == [], [str(w.message) for w in ours]
