"""CLI: ``evaluate forecast --covariates`` (known prices per series and week) and
``forecast build --price / --covariates`` on the warehouse; bad covariates are one line
naming the line, column or series (exit 2)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from insightloop.cli.main import main
from insightloop.storage.warehouse import Warehouse
from planning_data import elastic_world, make_shop

H = 8


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("covariates")
    frame, prices = elastic_world(30, 80, H, (2, 3))
    frame = frame.rename(columns={"unique_id": "sku", "ds": "week", "y": "units"})
    prices = prices.rename(columns={"unique_id": "sku", "ds": "week"})
    frame.to_csv(folder / "sales.csv", index=False)
    prices.to_csv(folder / "prices.csv", index=False)
    return folder / "sales.csv", folder / "prices.csv"


def _evaluate(sales: Path, *extra: str) -> list[str]:
    return ["evaluate", "forecast", "--data", str(sales), "--id", "sku", "--time", "week",
            "--target", "units", "--horizon", str(H), "--model", "gbm", *extra]


def test_evaluate_with_price_covariates(files: tuple[Path, Path],
                                        capsys: pytest.CaptureFixture[str]) -> None:
    sales, prices = files
    rc = main([*_evaluate(sales, "--covariates", str(prices)), "--json"])
    res = json.loads(capsys.readouterr().out)
    assert rc == 0 and res["series"] == 30
    assert res["mase"] < 0.6 * res["seasonal_naive_mase"], res


def test_bad_covariates_name_the_line_or_series(files: tuple[Path, Path], tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    sales, prices = files
    frame = pd.read_csv(prices).astype({"price": object})
    frame.loc[3, "price"] = "cheap"
    frame.to_csv(tmp_path / "text.csv", index=False)
    rc = main(_evaluate(sales, "--covariates", str(tmp_path / "text.csv")))
    err = capsys.readouterr().err
    assert rc == 2 and "line 5, column 'price': missing or not a number ('cheap')" in err, err
    frame = pd.read_csv(prices)
    last = frame["week"].max()
    frame[~((frame["sku"] == "s04") & (frame["week"] == last))].to_csv(
        tmp_path / "gap.csv", index=False)
    rc = main(_evaluate(sales, "--covariates", str(tmp_path / "gap.csv")))
    err = capsys.readouterr().err
    assert rc == 2 and "'price' is missing for series 's04'" in err and last in err, err
    assert "Traceback" not in err
    frame[["sku", "week"]].to_csv(tmp_path / "none.csv", index=False)
    rc = main(_evaluate(sales, "--covariates", str(tmp_path / "none.csv")))
    err = capsys.readouterr().err
    assert rc == 2 and "no input column" in err, err


def test_build_with_order_line_prices_and_a_planned_price(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    wh = make_shop(tmp_path / "shop")
    plan = pd.DataFrame({"product_id": ["GROW", "FLAT"], "ds": ["2024-07-01", "2024-07-08"],
                         "price": [1.5, 0.8], "promo": [1, 0]})
    plan.to_csv(tmp_path / "plan.csv", index=False)
    rc = main(["forecast", "build", "--level", "product", "--horizon", "3", "--price",
               "--model", "gbm", "--covariates", str(tmp_path / "plan.csv"),
               "--warehouse", str(wh), "--json"])
    res = json.loads(capsys.readouterr().out)
    assert rc == 0 and res["stored"] and res["rows"] == res["series"] * 3
    table = Warehouse(wh).table("forecasts")
    assert np.isfinite(table["mean"]).all() and (table["model"] == "gbm").all()
    rc = main(["forecast", "build", "--level", "country", "--price", "--warehouse", str(wh)])
    err = capsys.readouterr().err
    assert rc == 2 and "--price is a known input per product" in err, err


def test_the_forecast_job_takes_the_price_option() -> None:
    import inspect

    from insightloop.capabilities.forecast import ForecastParams
    from insightloop.services.forecast import build_forecasts

    params = ForecastParams(price=True).model_dump()
    assert params["price"] is True
    assert set(params) <= set(inspect.signature(build_forecasts).parameters)
