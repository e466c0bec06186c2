"""Training from the warehouse: point-in-time examples, censoring guard, registration."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from predict_helpers import sample_settings

from contexts import ctx_of
from insightloop.errors import ConfigError, SchemaError
from insightloop.services.registry import load_evaluation, load_model
from insightloop.services.training import (
    default_as_of_dates,
    feature_frame,
    train_target_file,
    train_task,
    training_set,
)
from insightloop.settings import Settings
from insightloop.storage.warehouse import Warehouse


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return sample_settings(tmp_path_factory.mktemp("training"))


def test_default_as_of_dates() -> None:
    assert default_as_of_dates(datetime(2011, 12, 10), 90) == [
        datetime(2011, 3, 15), datetime(2011, 6, 13), datetime(2011, 9, 11)]


def test_training_set_is_point_in_time(settings: Settings) -> None:
    wh = Warehouse(settings.warehouse)
    dates = [datetime(2011, 6, 1), datetime(2011, 9, 1)]
    frame = training_set(ctx_of(wh), "churn", dates, 90)
    assert sorted(frame["as_of"].unique()) == [pd.Timestamp(d) for d in dates]
    assert not frame.duplicated(["as_of", "customer_id"]).any()
    assert frame["last_order_time"].lt(frame["as_of"]).all()  # features before as_of only
    orders = wh.table("orders")
    buys = orders[(orders["quantity"] > 0) & (orders["status"] != "cancelled")]
    june = frame[frame["as_of"] == pd.Timestamp(dates[0])].set_index("customer_id")["label"]
    in_window = buys[(buys["order_time"] >= dates[0])
                     & (buys["order_time"] < datetime(2011, 8, 30))]["customer_id"].unique()
    expected = (~june.index.isin(in_window)).astype(int)
    assert june.to_numpy().tolist() == expected.tolist()
    X = feature_frame(frame)
    assert not [c for c in X.columns if c in ("customer_id", "as_of", "label")
                or c.endswith("_time")]


def test_label_window_past_the_data_is_refused(settings: Settings) -> None:
    with pytest.raises(ConfigError, match="incomplete"):
        training_set(ctx_of(settings), "churn", [datetime(2011, 11, 1)], 90)
    with pytest.raises(ConfigError, match="at least 90 days before"):
        train_task(ctx_of(settings), "churn", [datetime(2011, 6, 1)], 90,
                   test_as_of=datetime(2011, 7, 1))


def test_train_churn_registers_with_test_metrics(settings: Settings) -> None:
    meta = train_task(ctx_of(settings), "churn", [datetime(2011, 3, 1), datetime(2011, 6, 1)], 90,
                      name="churn-test", test_as_of=datetime(2011, 9, 1))
    assert meta["version"] == 1 and meta["task"] == "churn"
    assert meta["metrics"]["evaluated_on"] == "test"
    assert meta["metrics"]["auc"] > 0.65
    assert "recency_days" in meta["features"] and "customer_id" not in meta["features"]
    assert set(meta["training_summary"]) == set(meta["features"])
    # Tenure grows with the as-of date: summarised relative to the history loaded.
    assert meta["training_summary"]["tenure_days"]["relative"] is True
    assert max(meta["training_summary"]["tenure_days"]["edges"]) <= 1.0
    # No product categories in this warehouse: those columns are left out, with the reason.
    assert "fav_category_1" not in meta["features"]
    assert "not loaded" in meta["dropped"]["fav_category_1"]
    model, _ = load_model(settings, "churn-test")
    ev = load_evaluation(settings, "churn-test")
    assert ev is not None and set(ev["split"]) == {"test"}
    assert len(ev) == len(training_set(ctx_of(settings), "churn",
                                       [datetime(2011, 9, 1)], 90))
    assert 0 < model.threshold_ < 1


def test_train_any_target_file(tmp_path: Path, settings: Settings) -> None:
    rng = np.random.default_rng(0)
    n = 300
    x = rng.normal(size=n)
    frame = pd.DataFrame({"x": x, "seg": rng.choice(["a", "b"], n),
                          "bought": np.where(rng.random(n) < 1 / (1 + np.exp(-2 * x)), "Y",
                                             "N")})
    path = tmp_path / "table.csv"
    frame.to_csv(path, sep=";", index=False)
    meta = train_target_file(ctx_of(settings), path, "bought", "Y", name="file-model")
    assert meta["task"] == "target" and set(meta["features"]) == {"x", "seg"}
    assert meta["metrics"]["auc"] > 0.75
    with pytest.raises(SchemaError, match="customer_id"):
        train_target_file(ctx_of(settings), path, "bought", "Y", as_of=datetime(2011, 6, 1))
