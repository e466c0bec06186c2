"""Known inputs per series and period: a planned price cut on series with a known price
elasticity (demand = base x (price / usual price) ^ -2)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from insightloop.errors import SchemaError
from insightloop.models.forecast import PanelForecaster
from insightloop.models.forecast.covariates import align, lookup
from insightloop.models.forecast.holdout import holdout
from planning_data import elastic_world

WEEKS, H, N = 90, 8, 40
CUT_WEEKS = (2, 3, 4)  # horizon steps with a planned 30 % price cut (elasticity 2)


@pytest.fixture(scope="module")
def world() -> tuple[pd.DataFrame, pd.DataFrame]:
    return elastic_world(N, WEEKS, H, CUT_WEEKS)


@pytest.fixture(scope="module")
def runs(world: tuple[pd.DataFrame, pd.DataFrame]) -> dict[str, tuple[dict, pd.DataFrame]]:
    frame, cov = world
    return {"with": holdout(frame, H, "W", model="gbm", season_length=52, covariates=cov),
            "without": holdout(frame, H, "W", model="gbm", season_length=52)}


def test_price_as_input_follows_the_planned_cut(runs: dict) -> None:
    _, out = runs["with"]
    mean = out["mean"].to_numpy().reshape(N, H)
    cut = np.array([s - 1 for s in CUT_WEEKS])
    rest = np.setdiff1d(np.arange(H), cut)
    lift = mean[:, cut].sum() / len(cut) / (mean[:, rest].sum() / len(rest))
    # the true lift of a 30 % cut at elasticity 2 is 0.7 ** -2 = 2.04
    assert 1.6 < lift < 2.5, lift
    _, plain = runs["without"]
    flat = plain["mean"].to_numpy().reshape(N, H)
    assert flat[:, cut].sum() / len(cut) / (flat[:, rest].sum() / len(rest)) < 1.2


def test_price_as_input_improves_mase(runs: dict) -> None:
    with_price, without = runs["with"][0], runs["without"][0]
    assert with_price["mase"] < 0.8 * without["mase"], (with_price["mase"], without["mase"])


def test_auto_tries_the_global_model_with_covariates(world: tuple) -> None:
    frame, cov = world
    train = frame[frame["ds"] < frame["ds"].max() - pd.Timedelta(weeks=H - 1)]
    fc = PanelForecaster("auto", horizon=H).fit(train, "W", 52, covariates=cov)
    assert "gbm" in fc.validation_mase


def test_a_missing_future_covariate_is_an_error_naming_it(world: tuple) -> None:
    frame, cov = world
    train = frame[frame["ds"] < frame["ds"].max() - pd.Timedelta(weeks=H - 1)]
    gone = pd.Timestamp(frame["ds"].max()) - pd.Timedelta(weeks=2)
    holes = cov[~((cov["unique_id"] == "s07") & (cov["ds"] == gone))]
    with pytest.raises(SchemaError, match=r"'price' is missing for series 's07' in the "
                       rf"forecast period starting {gone.date()} \(1 series-period"):
        PanelForecaster("gbm", horizon=H).fit(train, "W", 52, covariates=holes)
    fc = PanelForecaster("gbm").fit(train, "W", 52, horizon=4, covariates=cov)
    with pytest.raises(SchemaError, match="'price' is missing for series 's00'"):
        fc.forecast(H + 1)  # past the known future


def test_history_gaps_carry_the_last_price_forward() -> None:
    ds = pd.date_range("2024-01-01", periods=4, freq="7D")
    cov = pd.DataFrame({"unique_id": ["a", "a", "a"], "ds": ds[[0, 1, 3]],
                        "price": [2.0, 4.0, 8.0]})
    aligned = align(cov, "W-SUN")
    raw, ratio = lookup(aligned, np.array(["a"]), np.asarray(ds)[None, :], history=3)
    assert raw.tolist() == [[2.0, 4.0, 4.0, 8.0]]
    assert ratio.tolist() == [[2 / 3, 4 / 3, 4 / 3, 8 / 3]]  # history mean of observed: 3
