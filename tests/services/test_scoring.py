"""Batch scoring into the warehouse, drift table and warnings, explanations, file scoring."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from predict_helpers import sample_settings

from contexts import ctx_of
from insightloop.errors import FeatureMismatchError, NotFoundError
from insightloop.models.classify.drift import DriftWarning, distribution_summary
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
    with pytest.warns(DriftWarning):  # tenure grows with calendar time: flagged, as it should
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
    assert set(drift["feature"]) >= {"recency_days", "frequency"}
    assert first["drift"] == {r.feature: round(r.psi, 4) for r in drift.itertuples()
                              if r.status != "stable"}
    with pytest.warns(DriftWarning):
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
