"""CLI: ``insightloop evaluate forecast`` on simulated weekly series with a known structure
(and on Online Retail when present), its documented handling of duplicates, gaps and
returns, and its one-line refusals of bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from insightloop.cli.main import main

KEYS = {"series", "horizon", "mase", "wape", "smape", "rmse", "coverage_80", "model",
        "seasonal_naive_mase", "fit_seconds"}


def _one_json(out: str) -> dict:
    lines = [ln for ln in out.splitlines() if ln.strip()]
    assert len(lines) == 1, out
    return json.loads(lines[0])


def _weekly(path: Path, n: int = 40, t: int = 60, seed: int = 0) -> Path:
    """Stores x SKUs with a level and noise: mean-type forecasts beat the last value."""
    rng = np.random.default_rng(seed)
    level = rng.uniform(20, 80, n)
    y = rng.poisson(level[:, None] * np.ones((n, t)))
    ds = pd.date_range("2022-01-03", periods=t, freq="7D")
    frame = pd.DataFrame({"store": np.repeat([f"s{i % 4}" for i in range(n)], t),
                          "sku": np.repeat([f"k{i}" for i in range(n)], t),
                          "week": np.tile(ds.strftime("%Y-%m-%d"), n), "units": y.ravel()})
    frame.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def weekly(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _weekly(tmp_path_factory.mktemp("forecast") / "weekly.csv")


def _evaluate(path: Path, *extra: str) -> list[str]:
    return ["evaluate", "forecast", "--data", str(path), "--id", "store,sku", "--time", "week",
            "--target", "units", *extra]


def test_evaluate_forecast_json_and_output(weekly: Path, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    out_file = tmp_path / "fc.csv"
    rc = main([*_evaluate(weekly, "--horizon", "6", "--output", str(out_file)), "--json"])
    res = _one_json(capsys.readouterr().out)
    assert rc == 0 and set(res) >= KEYS
    assert res["series"] == 40 and res["horizon"] == 6
    # Poisson noise around a level: the chosen models beat the naive forecast clearly
    assert res["mase"] < 0.85 * res["seasonal_naive_mase"]
    assert 0.6 <= res["coverage_80"] <= 0.95
    written = pd.read_csv(out_file)
    assert list(written.columns[:6]) == ["store", "sku", "week", "mean", "lo-80", "hi-80"]
    assert len(written) == 40 * 6
    assert written["week"].min() == "2023-01-16"  # week 55 of 60: the first held-out week
    assert (written["lo-80"] <= written["mean"]).all()


def test_duplicates_are_summed_gaps_zero_and_returns_floored(
        weekly: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    frame = pd.read_csv(weekly)
    dup = frame.iloc[:3].assign(units=1)                      # a second row in 3 periods
    ret = frame.iloc[[10]].assign(units=-10_000)              # more returns than sales
    gaps = frame.drop(index=[20, 21])                         # two missing weeks
    pd.concat([gaps, dup, ret]).to_csv(tmp_path / "messy.csv", index=False)
    rc = main([*_evaluate(tmp_path / "messy.csv", "--horizon", "4"), "--json"])
    res = _one_json(capsys.readouterr().out)
    assert rc == 0
    assert res["duplicate_periods"] == 4 and res["gap_periods"] == 2
    assert res["negative_floored"] == 1


@pytest.mark.parametrize(("extra", "needle"), [
    (("--horizon", "60"), "horizon 60 is longer than the history"),
    (("--horizon", "4", "--freq", "Q"), "--freq 'Q' is not supported"),
    (("--horizon", "4", "--model", "prophet"), "unknown forecast model 'prophet'"),
])
def test_bad_options_are_one_clear_line(weekly: Path, capsys: pytest.CaptureFixture[str],
                                        extra: tuple[str, ...], needle: str) -> None:
    rc = main(_evaluate(weekly, *extra))
    err = capsys.readouterr().err
    assert rc == 2 and needle in err and "Traceback" not in err, err


def test_bad_values_name_the_line(weekly: Path, tmp_path: Path,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    frame = pd.read_csv(weekly).astype({"units": object, "week": object})
    frame.loc[5, "units"] = "lots"
    frame.to_csv(tmp_path / "text.csv", index=False)
    rc = main(_evaluate(tmp_path / "text.csv", "--horizon", "4"))
    err = capsys.readouterr().err
    assert rc == 2 and "line 7, column 'units': not a number ('lots')" in err, err
    frame = pd.read_csv(weekly).astype({"week": object})
    frame.loc[2, "week"] = "someday"
    frame.to_csv(tmp_path / "date.csv", index=False)
    rc = main(_evaluate(tmp_path / "date.csv", "--horizon", "4"))
    err = capsys.readouterr().err
    assert rc == 2 and "line 4, column 'week': not a date or time ('someday')" in err, err
    rc = main(["evaluate", "forecast", "--data", str(weekly), "--id", "nope", "--time", "week",
               "--target", "units", "--horizon", "4"])
    err = capsys.readouterr().err
    assert rc == 2 and "nope" in err and "Traceback" not in err, err


def test_short_series_are_left_out_and_counted(weekly: Path, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    frame = pd.read_csv(weekly)
    short = pd.DataFrame({"store": "s9", "sku": "new", "week": ["2023-02-13", "2023-02-20"],
                          "units": [5, 7]})
    pd.concat([frame, short]).to_csv(tmp_path / "short.csv", index=False)
    rc = main([*_evaluate(tmp_path / "short.csv", "--horizon", "4"), "--json"])
    res = _one_json(capsys.readouterr().out)
    assert rc == 0 and res["series"] == 40 and res["series_skipped"] == 1


def test_an_incomplete_last_week_of_transactions_is_left_out(
        weekly: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    frame = pd.read_csv(weekly)
    frame["week"] = frame["week"] + " 10:30"                     # transaction times
    tail = frame[frame["week"] == frame["week"].max()].assign(
        week="2023-02-22 09:00", units=1)                       # a Wednesday after the end
    pd.concat([frame, tail]).to_csv(tmp_path / "tx.csv", index=False)
    rc = main([*_evaluate(tmp_path / "tx.csv", "--horizon", "4"), "--json"])
    res = _one_json(capsys.readouterr().out)
    assert rc == 0 and res["dropped_last_period"] == "2023-02-20" and res["series"] == 40
